"""What the downloadable continuous PPO script learns at the page's budget (102,400 steps).

Stored in results/ppo_continuous_script_check.json.

Writes the scripts of "all on" and of "norm_obs off" (the grid's clearest finding: without
observation normalization Pendulum learns faster at this budget) with
``toolbox.lessons.ppo_continuous.script.standalone_script``, runs them as a student would
(``python ppo_continuous_all_on.py --seed …``, one process per run, one torch thread) and stores
each run's printed curve (mean return of each environment's latest episode every 10 iterations)
and its final score, the mean return of the last 32 episodes, the page's score. The page's note
under the download button (``script_note``) reads its numbers from that file.

    python benchmarks/ppo_continuous_script_check.py              # every run, one after the other
    python benchmarks/ppo_continuous_script_check.py --jobs 2     # two side by side
    python benchmarks/ppo_continuous_script_check.py --seeds 1 2  # fewer seeds

A run takes ≈ 30 s of one core's CPU time (29–38 s on a 2-core x86_64 machine, 2026-12-04; the
script prints it) and 100–180 s of wall time when the machine is shared. Its numbers do not
depend on how many run side by side or on the load (one torch thread each, its own process):
two measurements under different loads (load average ≈ 12, then ≈ 6) gave the same final
scores to the last digit.
Measured (2026-12-04): "all on" −710, −907, −779, −683, −751 (seeds 1–5, mean −766; the grid's
10 seeds: −749); "norm_obs off" −253, −245, −411, −242, −287 (mean −288; the grid: −306).
Random torques score about −1,250.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from toolbox.lessons.ppo_continuous.data import label, variant_args
from toolbox.lessons.ppo_continuous.script import (
    CHECK_FILE,
    CPU,
    FINAL,
    script_filename,
    standalone_script,
)

DETAILS = (None, "norm_obs")
"""The variants checked: "all on" and one detail off."""
LINE = re.compile(r"step\s+(\d+)\s+mean return \(latest episodes\)\s+([-\d.na]+)")


def parse(text: str) -> dict:
    """``{"steps", "mean_latest", "final_last32", "cpu_seconds"}`` from the script's printed
    lines."""
    pairs = [(int(m[1]), float(m[2])) for m in LINE.finditer(text)]
    final, cpu = FINAL.search(text), CPU.search(text)
    if not pairs or final is None or cpu is None:
        raise ValueError("the log has no curve or no final line: the run did not finish.")
    return {"steps": [p[0] for p in pairs], "mean_latest": [p[1] for p in pairs],
            "final_last32": float(final[1]), "cpu_seconds": float(cpu[1])}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    ap.add_argument("--out", type=Path, default=CHECK_FILE)
    ap.add_argument("--jobs", type=int, default=1, help="runs side by side (default 1)")
    args = ap.parse_args()
    import gymnasium
    import numpy
    import torch

    def one(name: str, seed: int, script: Path) -> dict:
        t0 = time.perf_counter()
        text = subprocess.run(
            [sys.executable, "-I", str(script), "--seed", str(seed)], check=True,
            capture_output=True, text=True, cwd=script.parent,
            env={**os.environ, "OMP_NUM_THREADS": "1"},
        ).stdout
        seconds = time.perf_counter() - t0
        row = {"variant": name, "seed": seed, "seconds": round(seconds, 1), **parse(text)}
        print(f"{name:40s} seed {seed}  final {row['final_last32']:8.1f}  {seconds:5.0f} s",
              flush=True)
        return row

    with tempfile.TemporaryDirectory() as tmp:
        todo = []
        for detail in DETAILS:
            name = label(detail)
            script = Path(tmp) / script_filename(name)
            script.write_text(standalone_script(variant_args(detail), name))
            todo += [(name, seed, script) for seed in args.seeds]
        with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            runs = list(pool.map(lambda job: one(*job), todo))
    meta = {
        "date": datetime.date.today().isoformat(),
        "cpu": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "gymnasium": gymnasium.__version__,
        "numpy": numpy.__version__,
        "torch_threads": 1,
        "side_by_side": args.jobs,
        "budget": variant_args(None).total_timesteps,
        "commit": subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True,
                                 text=True, check=False).stdout.strip(),
    }
    args.out.write_text(json.dumps({"meta": meta, "runs": runs}, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
