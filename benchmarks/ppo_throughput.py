"""PPO training throughput on this machine, compiled and tensor paths, beside PureJaxRL when given
its anchor.

    flock /tmp/rl_bench.lock python benchmarks/ppo_throughput.py [--runs 1,5,60] [--steps 500000]
        [--purejaxrl ../shared/anchors/purejaxrl/run.sh] [--tensor-steps 50000]
        [--skip-first-request]

Prints, for 1, 5 and 60 runs of CleanRL's CartPole defaults (60 = the 12 variants of the default
view × 5 seeds):
* the compiled path (toolbox.ppo.compiled) on 1 thread and on every core, and the tensor path
  (toolbox.ppo.train backend="tensor", 1 torch thread) — seconds and environment steps/s. The tensor
  path is timed on ``--tensor-steps`` per run (it is the slow one; steps/s hardly depends on the
  budget);
* the first request as a fresh server process sees it: a new Python process that imports the trainer
  and trains one 500k run, with Numba's cache warm (what a started server has) and with it empty (a
  machine's very first call, compilation included);
* the arithmetic limit of one run: the run's floating-point operations (counted from the network
  shapes) over this CPU's fp32 matmul peak, timed here on a large product with every core;
* learning quality: runs with a mean return ≥ 475 over their last 20 episodes;
* with ``--purejaxrl``: the anchor's compile time, first call and compiled run for the same numbers
  of seeds, run right after in the same sitting (it builds its own venv on first use).
Ratios are what to compare: absolute times differ 3x between machines.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from toolbox.lessons.ppo.variants import GRID_VARIANTS, variant_config  # noqa: E402
from toolbox.ppo import agent as A  # noqa: E402
from toolbox.ppo.compiled import warm_up  # noqa: E402
from toolbox.ppo.config import PPOConfig  # noqa: E402
from toolbox.ppo.train import train  # noqa: E402


def run_flops(c: PPOConfig) -> float:
    """Floating-point operations of one run: every transition through both networks once in the
    rollout, then ``update_epochs`` passes of forward (1x) and backward (2x: input and weight
    gradients) over the batch."""
    macs = A.OBS_DIM * A.HIDDEN + A.HIDDEN * A.HIDDEN + A.HIDDEN * A.NUM_ACTIONS  # actor
    macs += A.OBS_DIM * A.HIDDEN + A.HIDDEN * A.HIDDEN + A.HIDDEN * 1  # critic
    steps = c.num_iterations * c.batch_size
    return 2.0 * macs * steps * (1 + 3 * c.update_epochs)


def matmul_peak(seconds: float = 3.0) -> float:
    """fp32 GFLOP/s of a 2048² matmul with every core (torch, MKL): the machine's practical
    arithmetic peak."""
    with_threads = torch.get_num_threads()
    torch.set_num_threads(os.cpu_count() or 1)
    a, b = torch.randn(2048, 2048), torch.randn(2048, 2048)
    torch.mm(a, b)
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        torch.mm(a, b)
        n += 1
    dt = time.perf_counter() - t0
    torch.set_num_threads(with_threads)
    return n * 2 * 2048 ** 3 / dt / 1e9


def configs_for(n: int, steps: int) -> tuple[list[PPOConfig], list[int]]:
    if n == 60:
        return [variant_config(v, steps) for v in GRID_VARIANTS], list(range(1, 6))
    return [variant_config("all", steps)], list(range(1, n + 1))


def timed(n: int, steps: int, backend: str, threads: int) -> tuple[float, list]:
    configs, seeds = configs_for(n, steps)
    t0 = time.perf_counter()
    res = train(configs, seeds, device="cpu", backend=backend, num_threads=threads)
    return time.perf_counter() - t0, res


def quality(res) -> str:
    good = sum(float(np.mean(r.episode_returns[-20:])) >= 475 for r in res)
    return f"{good}/{len(res)} runs ≥ 475"


FIRST_REQUEST = """
import time; t0 = time.perf_counter()
from toolbox.ppo.config import PPOConfig
from toolbox.ppo.train import train
t1 = time.perf_counter()
train(PPOConfig(total_timesteps={steps}), [1], device="cpu")
print(f"FIRST {{time.perf_counter() - t0:.2f}} import {{t1 - t0:.2f}}")
"""


def first_request(steps: int, cache: str | None) -> str:
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    if cache is not None:
        env["RL_TOOLBOX_NUMBA_CACHE"] = cache
    out = subprocess.run([sys.executable, "-c", FIRST_REQUEST.format(steps=steps)], env=env,
                         cwd=ROOT, capture_output=True, text=True, check=True).stdout
    m = re.search(r"FIRST (\S+) import (\S+)", out)
    return f"{float(m.group(1)):6.1f} s (of which imports {float(m.group(2)):.1f} s)"


def purejaxrl(script: str, seeds: int) -> dict:
    out = subprocess.run(["bash", script, str(seeds)], capture_output=True, text=True).stdout
    grab = lambda pat: float(re.search(pat, out).group(1)) if re.search(pat, out) else float("nan")  # noqa: E731
    return {"compile": grab(r"compile \(trace\+lower\+compile\): ([\d.]+)"),
            "first": grab(r"first call incl. compile: ([\d.]+)"),
            "run": grab(r"second call \(compiled, run only\): ([\d.]+)"),
            "quality": (re.search(r"quality: (\d+/\d+) seeds", out) or [None, "?"])[1]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", default="1,5,60")
    ap.add_argument("--steps", type=int, default=500_000)
    ap.add_argument("--tensor-steps", type=int, default=50_000,
                    help="budget per run for the (slow) tensor path")
    ap.add_argument("--purejaxrl", default=None,
                    help="path of the anchor's run.sh (../shared/anchors/purejaxrl/run.sh)")
    ap.add_argument("--skip-first-request", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(1)
    cores = os.cpu_count() or 1
    runs = [int(x) for x in a.runs.split(",")]
    peak = matmul_peak()
    flops = run_flops(PPOConfig(total_timesteps=a.steps))
    print(
        f"torch {torch.__version__}; {cores} cores; fp32 matmul "
        f"peak {peak:,.0f} GFLOP/s (2048² product, all cores)")
    print(
        f"one {a.steps:,}-step run = {flops / 1e9:,.1f} "
        f"GFLOP -> arithmetic limit {flops / 1e9 / peak:.2f} s")
    print(f"kernel warm-up (what the server does at start): {warm_up():.1f} s", flush=True)
    rows = []
    for n in runs:
        row = {"runs": n}
        secs, res = timed(n, a.steps, "compiled", 1)
        row["compiled_1"] = secs
        row["quality"] = quality(res)
        if n > 1 and cores > 1:
            row["compiled_all"], _ = timed(n, a.steps, "compiled", cores)
        tsecs, _ = timed(n, a.tensor_steps, "tensor", 1)
        row["tensor_sps"] = n * a.tensor_steps / tsecs
        rows.append(row)
        print(
            f"{n:3d} runs: compiled {secs:7.1f} s on 1 thread ({n * a.steps / secs:9,.0f} steps/s)"
            + (f", {row['compiled_all']:7.1f} s on {cores} threads "
               f"({n * a.steps / row['compiled_all']:9,.0f} steps/s)"
               if "compiled_all" in row else "")
            + (f"; tensor {row['tensor_sps']:9,.0f} steps/s (1 thread, "
               f"{a.tensor_steps:,} steps a run); {row['quality']}"),
            flush=True)
    if not a.skip_first_request:
        with tempfile.TemporaryDirectory() as empty:
            cold = first_request(a.steps, empty)
        warm = first_request(a.steps, None)
        print(
            f"first request in a fresh process, one {a.steps:,}-step run: {warm} with the kernel "
            f"cache warm; {cold} on a machine's first use (compiling)")
    best_one = rows[0]["compiled_1"] if rows and rows[0]["runs"] == 1 else None
    if best_one is not None:
        print(
            f"one run: {best_one:.2f} "
            f"s = {best_one / (flops / 1e9 / peak):.1f}x the arithmetic limit")
    if a.purejaxrl:
        print("\nPureJaxRL (same machine, right after):")
        for row in rows:
            p = purejaxrl(a.purejaxrl, row["runs"])
            ours = min(row["compiled_1"], row.get("compiled_all", float("inf")))
            print(
                f"{row['runs']:3d} runs: compile {p['compile']:.1f} s, first call {p['first']:.1f} "
                f"s, compiled run {p['run']:.1f} s ({row['runs'] * a.steps / p['run']:,.0f} "
                f"steps/s), {p['quality']} seeds ≥ 475 | this project {ours:.1f} s "
                f"-> {p['run'] / ours:.2f}x PureJaxRL's speed",
                  flush=True)


if __name__ == "__main__":
    main()
