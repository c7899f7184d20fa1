"""What a step of the continuous task costs, and how long the live 2-variant comparison takes.

Usage: ``python -m benchmarks.ppo_continuous_quality [--detail norm_reward] [--seeds 3]
[--budget 102400] [--skip-env]``. Prints the environment step cost (Gymnasium's Pendulum-v1 and
MountainCarContinuous-v0 one step at a time, and the batched Pendulum), then trains "all on" and
the detail off at the :data:`~toolbox.ppo.continuous.args.PENDULUM` preset, S seeds each, as one
computation (1 torch thread), and prints wall and CPU time, the load average (the machine may be
shared) and each variant's mean final score (mean return of the last 32 episodes).

Measured (AMD EPYC, 2 cores shared, load ≈ 2.5, 1 thread): all on vs norm_reward off, 3 seeds
each, 102,400 steps: 37.3 s wall (scores −720 vs −1,107); 5 seeds each: 45.3 s. The runner before
this round (``torch.func`` vmap/grad, one variant per computation): 0.78 s per iteration of 6 runs
against 0.33 s now.
"""

from __future__ import annotations

import argparse
import os
import time

import gymnasium as gym
import numpy as np
import torch

from toolbox.envs.pendulum import BatchedPendulum
from toolbox.ppo.continuous.analysis import final_score
from toolbox.ppo.continuous.args import PENDULUM
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
        per_step = (time.perf_counter() - t) / (n_steps // 10) / n
        out[f"batched Pendulum, {n} envs (per env-step)"] = per_step * 1e6
    return out


def live_comparison(detail: str, seeds: int, budget: int) -> dict:
    """ "all on" against ``detail`` off, ``seeds`` each, as one TensorPPO computation (what a
    lecturer runs in class); wall and CPU seconds and each variant's mean final score."""
    base = PENDULUM.replace(total_timesteps=budget)
    off = base.replace(**{detail: not getattr(base, detail)})
    t, c = time.perf_counter(), time.process_time()
    runs = TensorPPO([base, off], range(seeds))
    for _ in range(base.num_iterations):
        runs.run_iteration()
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    scores = [final_score(r) for r in runs.episode_returns]
    return {
        "wall_s": wall,
        "cpu_s": cpu,
        "all on": float(np.mean(scores[:seeds])),
        f"{detail}={getattr(off, detail)}": float(np.mean(scores[seeds:])),
    }


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--detail", default="norm_reward", help="the detail turned off in the live run")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--budget", type=int, default=PENDULUM.total_timesteps)
    p.add_argument("--skip-env", action="store_true")
    a = p.parse_args()
    torch.set_num_threads(1)
    if not a.skip_env:
        for k, v in env_step_cost().items():
            print(f"{k}: {v:.1f} µs/step")
    print(f"load average before: {os.getloadavg()}")
    out = live_comparison(a.detail, a.seeds, a.budget)
    print(
        f"live: all on vs {a.detail} flipped, {a.seeds} seeds each, {a.budget:,} steps: "
        f"{out['wall_s']:.1f} s wall, {out['cpu_s']:.1f} s CPU; "
        + ", ".join(f"{k} {v:.0f}" for k, v in out.items() if not k.endswith("_s"))
    )
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
