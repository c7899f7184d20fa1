"""PPO for continuous actions (Pendulum-v1): the nine continuous-action details of Huang et al.

``args`` holds CleanRL ``ppo_continuous_action.py``'s arguments plus one toggle per detail,
``reference`` the readable one-run trainer with the losses as pure functions, ``tensor`` the same
functions batched over runs with ``torch.func``.
"""
