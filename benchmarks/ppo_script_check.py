"""What the downloadable PPO script learns at the budgets the page advises.

Stored in results/ppo_script_check.json.

Writes the "all on" script (``toolbox.lessons.ppo.script.standalone_script``), runs it as a
student would (``python ppo_all_on.py --total-timesteps …``, one process per run, one torch
thread) and stores each run's printed curve (mean return of the last 20 episodes every 10
iterations) and final line. The page's advice (``toolbox.lessons.ppo.script.script_advice``)
reads its numbers from that file.

    python benchmarks/ppo_script_check.py                 # every case, one after the other
    python benchmarks/ppo_script_check.py --jobs 8        # the 8 runs side by side
    python benchmarks/ppo_script_check.py --logs DIR      # parses DIR/<case>_s<seed>.log instead

The 8 runs (1.45 million steps) take ≈ 7 min of one core's time (user CPU, 2026-12-04: 140–143 s
per 500k run, 32 s per 100k, 18 s per 50k); side by side on a busy 2-core machine they took
18 min. A run's numbers do not depend on how many run side by side (one torch thread each, its
own process).
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

from toolbox.lessons.ppo.script import CHECK_FILE, standalone_script
from toolbox.ppo.config import PPOConfig

CASES = {  # case name: the script's options (besides --seed)
    "run500k": [],
    "run100k_noanneal": ["--total-timesteps", "100000", "--anneal-lr", "false"],
    "run50k": ["--total-timesteps", "50000"],
}
SEEDS = {"run500k": (1, 2), "run100k_noanneal": (1, 2, 3), "run50k": (1, 2, 3)}
LINE = re.compile(r"step\s+(\d+)\s+mean return \(last 20 episodes\)\s+([-\d.na]+)")
FINAL = re.compile(r"final mean return \(last 10 episodes\): ([-\d.na]+)")


def parse(text: str) -> dict:
    """``{"steps", "mean_last20", "final_last10"}`` from the script's printed lines."""
    pairs = [(int(m[1]), float(m[2])) for m in LINE.finditer(text)]
    final = FINAL.search(text)
    if not pairs or final is None:
        raise ValueError("the log has no curve or no final line: the run did not finish.")
    return {
        "steps": [p[0] for p in pairs],
        "mean_last20": [p[1] for p in pairs],
        "final_last10": float(final[1]),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--logs", type=Path, help="parse <case>_s<seed>.log files here instead of running"
    )
    ap.add_argument("--out", type=Path, default=CHECK_FILE)
    ap.add_argument("--jobs", type=int, default=1, help="runs side by side (default 1)")
    args = ap.parse_args()
    import gymnasium
    import numpy
    import torch

    def one(case: str, seed: int, script: Path) -> dict:
        options = CASES[case]
        if args.logs:
            text, seconds = (args.logs / f"{case}_s{seed}.log").read_text(), None
        else:
            t0 = time.perf_counter()
            text = subprocess.run(
                [sys.executable, str(script), *options, "--seed", str(seed)],
                check=True,
                capture_output=True,
                text=True,
                env={**os.environ, "OMP_NUM_THREADS": "1"},
            ).stdout
            seconds = time.perf_counter() - t0
        print(case, seed, parse(text)["final_last10"], flush=True)
        return {"case": case, "options": options, "seed": seed, "seconds": seconds, **parse(text)}

    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "ppo_all_on.py"
        script.write_text(standalone_script(PPOConfig(), "all on"))
        todo = [(case, seed) for case in CASES for seed in SEEDS[case]]
        with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            runs = list(pool.map(lambda cs: one(*cs, script), todo))
    meta = {
        "date": datetime.date.today().isoformat(),
        "cpu": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "gymnasium": gymnasium.__version__,
        "numpy": numpy.__version__,
        "torch_threads": 1,
        "commit": subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False
        ).stdout.strip(),
    }
    args.out.write_text(json.dumps({"meta": meta, "runs": runs}, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
