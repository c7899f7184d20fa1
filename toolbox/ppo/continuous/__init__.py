"""PPO for continuous actions (Pendulum-v1): the nine continuous-action details of Huang et al.

``args`` holds CleanRL ``ppo_continuous_action.py``'s arguments plus one toggle per detail,
``reference`` the readable one-run trainer with the losses as pure functions, ``stacked`` its agent
for R runs in one parameter matrix, ``tensor`` the trainer of variants × seeds in one computation
(the reference's functions on a leading run axis, gradients by autograd; any device), ``compiled``
the same trainer as Numba-compiled loops on the CPU (``compiled_kernel``, ``kernel_net``, offsets
and arguments named by ``layout``; gradients by hand), ``train`` the entry that picks one.
"""
