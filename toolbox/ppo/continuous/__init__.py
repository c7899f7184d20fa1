"""PPO for continuous actions (Pendulum-v1): the nine continuous-action details of Huang et al.

``args`` holds CleanRL ``ppo_continuous_action.py``'s arguments plus one toggle per detail,
``reference`` the readable one-run trainer with the losses as pure functions, ``stacked`` its agent
for R runs in one parameter matrix, ``tensor`` the trainer of variants × seeds in one computation
(the reference's functions on a leading run axis, gradients by autograd).
"""
