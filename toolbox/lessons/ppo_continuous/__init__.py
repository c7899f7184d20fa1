"""The continuous-control PPO lesson (Pendulum-v1): the stored grid, live comparisons, scenes."""
