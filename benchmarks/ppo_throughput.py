"""PPO training throughput on this machine: one 500k-step run, and the 12-variant × 5-seed grid.

    flock /tmp/rl_bench.lock python benchmarks/ppo_throughput.py [--steps 500000] [--skip-grid]

Reference (shared/DESIGN.md, same 2-core CPU): CleanRL ppo.py, CartPole defaults, one 500k-step seed in
about 99 s (about 5,050 steps/s). Targets: one run ≤ 20 s, the 60-run grid ≤ 120 s.
Torch's thread count is left at its default unless OMP_NUM_THREADS / --threads says otherwise.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

from toolbox.ppo.config import variant_config  # noqa: E402
from toolbox.ppo.train import train  # noqa: E402

CLEANRL_SECONDS_500K = 99.0
GRID_VARIANTS = ("all", "novec", "noorth", "eps8", "noanneal", "nogae", "nomb", "noadvnorm", "noclip", "novclip",
                 "noent", "nogradclip")


def timed(configs, seeds, threads=None) -> tuple[float, list]:
    t0 = time.perf_counter()
    res = train(configs, seeds, device="cpu", num_threads=threads)
    return time.perf_counter() - t0, res


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=500_000)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--threads", type=int, default=0, help="train(num_threads=...) (0 = leave torch's default)")
    ap.add_argument("--skip-grid", action="store_true")
    ap.add_argument("--skip-single", action="store_true")
    a = ap.parse_args()
    threads = a.threads or None
    print(f"torch {torch.__version__}, {a.threads or torch.get_num_threads()} intra-op threads, {a.steps:,} steps per run")
    cleanrl_sps = 500_000 / CLEANRL_SECONDS_500K
    if not a.skip_single:
        secs, _ = timed([variant_config("all", a.steps)], [1], threads)
        sps = a.steps / secs
        print(f"1 run   : {secs:7.1f} s  {sps:10,.0f} steps/s  ({sps / cleanrl_sps:5.1f}x CleanRL's {cleanrl_sps:,.0f})")
    if not a.skip_grid:
        configs = [variant_config(v, a.steps) for v in GRID_VARIANTS]
        seeds = list(range(1, a.seeds + 1))
        secs, _ = timed(configs, seeds, threads)
        n = len(configs) * len(seeds)
        sps = n * a.steps / secs
        print(f"{n} runs: {secs:7.1f} s  {sps:10,.0f} steps/s aggregate  ({sps / cleanrl_sps:5.1f}x CleanRL)")


if __name__ == "__main__":
    main()
