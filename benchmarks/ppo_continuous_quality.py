"""What budget learns Pendulum-v1 with continuous PPO, and what a step costs (issue 23's task choice).

Usage: ``python -m benchmarks.ppo_continuous_quality [--steps N] [--seeds S] [--envs E] [--nsteps T]``.
Prints the environment step cost (Gymnasium's Pendulum-v1 and MountainCarContinuous-v0 one step at a
time, and the batched Pendulum), then trains S seeds together with the tensor runner and prints the
mean return of the last 10 episodes per seed and the wall time (1 torch thread).
"""

from __future__ import annotations

import argparse
import time

import gymnasium as gym
import numpy as np
import torch

from toolbox.envs.pendulum import BatchedPendulum
from toolbox.ppo.continuous.args import Args
from toolbox.ppo.continuous.tensor import TensorPPO


def env_step_cost(n_steps: int = 20_000) -> dict[str, float]:
    """Microseconds per environment step."""
    out = {}
    for env_id in ("Pendulum-v1", "MountainCarContinuous-v0"):
        env = gym.make(env_id)
        env.reset(seed=0)
        a = np.zeros(1, np.float32)
        t = time.perf_counter()
        for _ in range(n_steps):
            _, _, te, tr, _ = env.step(a)
            if te or tr:
                env.reset()
        out[f"gymnasium {env_id}, 1 env"] = (time.perf_counter() - t) / n_steps * 1e6
    for n in (1, 64):
        env = BatchedPendulum(n, seed=0)
        env.reset()
        a = torch.zeros(n, 1)
        t = time.perf_counter()
        for _ in range(n_steps // 10):
            env.step_fast(a)
        out[f"batched Pendulum, {n} envs (per env-step)"] = (time.perf_counter() - t) / (n_steps // 10) / n * 1e6
    return out


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--steps", type=int, default=100_000)
    p.add_argument("--seeds", type=int, default=4)
    p.add_argument("--envs", type=int, default=8)
    p.add_argument("--nsteps", type=int, default=256)
    p.add_argument("--gamma", type=float, default=0.99)
    p.add_argument("--skip-env", action="store_true")
    a = p.parse_args()
    torch.set_num_threads(1)
    if not a.skip_env:
        for k, v in env_step_cost().items():
            print(f"{k}: {v:.1f} µs/step")
    args = Args(total_timesteps=a.steps, num_envs=a.envs, num_steps=a.nsteps, gamma=a.gamma)
    t = time.perf_counter()
    runs = TensorPPO(args, range(a.seeds))
    for i in range(args.num_iterations):
        runs.run_iteration()
        if (i + 1) % max(1, args.num_iterations // 5) == 0:
            last = [np.mean(r[-10:]) for r in runs.episode_returns]
            print(f"{runs.global_step:>8} steps {time.perf_counter() - t:7.1f} s  last-10 returns per seed: "
                  + " ".join(f"{x:7.1f}" for x in last), flush=True)
    print(f"{args}\n{a.seeds} seeds × {args.num_iterations * args.batch_size} steps in "
          f"{time.perf_counter() - t:.1f} s")


if __name__ == "__main__":
    main()
