"""PPO with every implementation detail a toggle (Huang et al. 2022; CleanRL ``ppo.py``), batched
over runs."""
