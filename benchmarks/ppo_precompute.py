"""Precompute the PPO page's default ablation into results/ppo_default.json (small: curves on a 50-point grid).

    python benchmarks/ppo_precompute.py [--budget 100000] [--seeds 5] [--variants all,nogae,...]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from toolbox.ppo import analysis  # noqa: E402
from toolbox.ppo.config import DEFAULT_BUDGET, DEFAULT_SEEDS, DEFAULT_VARIANTS, VARIANT_IDS, variant_config  # noqa: E402
from toolbox.ppo.train import train  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--budget", type=int, default=DEFAULT_BUDGET)
    ap.add_argument("--seeds", type=int, default=DEFAULT_SEEDS)
    ap.add_argument("--variants", default=",".join(DEFAULT_VARIANTS))
    ap.add_argument("--out", default=str(ROOT / "results" / "ppo_default.json"))
    a = ap.parse_args()
    vids = a.variants.split(",")
    seeds = list(range(1, a.seeds + 1))
    configs = [variant_config(v, a.budget) for v in vids]
    t0 = time.perf_counter()
    results = train(configs, seeds, device="cpu", callback=lambda f, _: print(f"{f:.0%}", flush=True), callback_every=30)
    secs = time.perf_counter() - t0
    grid = analysis.step_grid(a.budget)
    runs = analysis.summarize(results, [VARIANT_IDS[v] for v in vids], seeds, grid)
    payload = {
        "budget": a.budget, "seeds": seeds, "variants": vids, "grid": grid.tolist(), "runs": runs,
        "seconds": round(secs, 1),
    }
    Path(a.out).write_text(json.dumps(payload, separators=(",", ":")))
    print(f"{len(configs)} variants x {len(seeds)} seeds x {a.budget} steps in {secs:.1f} s -> {a.out}")
    for name, s in runs.items():
        agg = analysis.aggregate(s, grid)
        print(f"  {name:28s} last-20 {agg['last20_mean']:6.1f} ± {agg['last20_ci']:5.1f}  reached 475: {agg['reached_475']}/{agg['runs']}")


if __name__ == "__main__":
    main()
