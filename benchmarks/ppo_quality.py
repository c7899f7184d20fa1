"""PPO quality: CleanRL's default config, mean of the last 20 episodic returns at 500k steps, per
seed.

    flock /tmp/rl_bench.lock python benchmarks/ppo_quality.py [--seeds 5] [--first-seed 1]
        [--steps 500000]
        [--backend compiled|tensor|both]

Target (issue 6): ≥ 475 for at least 4 of 5 seeds. CleanRL seed 1 reaches 475 by about 183k steps.
``--backend both`` trains the same seeds on the compiled and the tensor path, so "quality unchanged"
is seen on the same seeds (a seed's curve differs between them by float rounding grown over
training).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from toolbox.lessons.ppo import analysis  # noqa: E402
from toolbox.ppo.config import PPOConfig  # noqa: E402
from toolbox.ppo.train import train  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--steps", type=int, default=500_000)
    ap.add_argument("--first-seed", type=int, default=1)
    ap.add_argument("--backend", default="compiled", choices=("compiled", "tensor", "both"))
    a = ap.parse_args()
    seeds = list(range(a.first_seed, a.first_seed + a.seeds))
    for backend in (("compiled", "tensor") if a.backend == "both" else (a.backend,)):
        print(f"-- {backend} path")
        report(seeds, a.steps, backend)


def report(seeds: list[int], steps: int, backend: str) -> None:
    t0 = time.perf_counter()
    res = train(PPOConfig(total_timesteps=steps), seeds, device="cpu", backend=backend)
    secs = time.perf_counter() - t0
    ok = 0
    for r in res:
        last = float(np.mean(r.episode_returns[-20:]))
        reach = analysis.steps_to_threshold(r.episode_steps, r.episode_returns)
        ok += last >= 475
        print(
            f"seed {r.seed}: last-20 mean return {last:6.1f}   first reached 475 (20-episode mean) "
            f"at {'never' if np.isnan(reach) else f'{reach:,.0f}'} "
            f"steps   episodes {len(r.episode_returns)}")
    print(f"{ok}/{len(res)} seeds ≥ 475 (target ≥ 4/5)   [{secs:.0f} s for {len(res)} runs]")


if __name__ == "__main__":
    main()
