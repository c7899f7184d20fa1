"""Precompute the PPO page's default ablation: CleanRL's 12-variant core grid, 10 seeds, 500k steps.

    OMP_NUM_THREADS=1 python benchmarks/ppo_precompute.py [--budget 500000] [--seeds 0-9]
        [--variants all,novec,...] [--out results/ppo_grid500k.json]

The file stays small: per run the running last-20 return on a 50-point step grid (every 10k steps at
500k), the final score (mean of the last 20 episodes), the steps to 475, four debug variables on the
grid, and the exact episodes of the first ``PREFIX_STEPS`` steps (so a test can retrain that start
and compare it number for number). Its metadata records how it was made (commit, torch, threads,
wall time).
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from toolbox.lessons.ppo import analysis  # noqa: E402
from toolbox.lessons.ppo.precomputed import PREFIX_STEPS, run_record  # noqa: E402
from toolbox.lessons.ppo.variants import (  # noqa: E402
    GRID_BUDGET,
    GRID_SEEDS,
    GRID_VARIANTS,
    VARIANT_IDS,
    variant_config,
)
from toolbox.ppo.train import train  # noqa: E402
from toolbox.provenance import machine_provenance  # noqa: E402


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()


def _seeds(text: str) -> list[int]:
    if "-" in text:
        lo, hi = text.split("-")
        return list(range(int(lo), int(hi) + 1))
    return [int(s) for s in text.split(",")]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--budget", type=int, default=GRID_BUDGET)
    ap.add_argument("--seeds", default=f"{GRID_SEEDS[0]}-{GRID_SEEDS[-1]}",
                    help="e.g. 0-9 or 0,1,2")
    ap.add_argument("--variants", default=",".join(GRID_VARIANTS))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=str(ROOT / "results" / "ppo_grid500k.json"))
    a = ap.parse_args()
    vids = a.variants.split(",")
    seeds = _seeds(a.seeds)
    configs = [variant_config(v, a.budget) for v in vids]
    names = [VARIANT_IDS[v] for v in vids]
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    # the code version at the start: the tree may move on while a long grid trains
    commit, dirty = _git("rev-parse", "HEAD"), bool(_git("status", "--porcelain", "--", "toolbox"))
    t0 = time.perf_counter()
    results = train(configs, seeds, device="cpu", num_threads=a.threads, callback_every=30,
                    callback=lambda f, _: print(f"{f:.0%} after {time.perf_counter() - t0:.0f} s",
                                                flush=True))
    secs = time.perf_counter() - t0
    grid = analysis.step_grid(a.budget)
    runs = {name: [run_record(r, grid) for r in results[i * len(seeds): (i + 1) * len(seeds)]]
            for i, name in enumerate(names)}
    payload = {
        "meta": {
            "commit": commit, "dirty": dirty,
            "torch": torch.__version__, "python": platform.python_version(),
            "machine": platform.machine(), "threads": a.threads, "device": "cpu",
            "started_utc": started, "wall_seconds": round(secs, 1), "prefix_steps": PREFIX_STEPS,
            **machine_provenance(),
        },
        "budget": a.budget, "seeds": seeds, "variants": vids, "grid": grid.tolist(), "runs": runs,
        "seconds": round(secs, 1),
    }
    Path(a.out).write_text(json.dumps(payload, separators=(",", ":")))
    print(
        f"{len(configs)} variants x {len(seeds)} seeds "
        f"x {a.budget} steps in {secs:.1f} s -> {a.out}")
    for name, s in runs.items():
        agg = analysis.aggregate(s, grid)
        print(
            f"  {name:28s} last-20 {agg['last20_mean']:6.1f} ± {agg['last20_ci']:5.1f}  reached "
            f"475: {agg['reached_475']}/{agg['runs']}")


if __name__ == "__main__":
    main()
