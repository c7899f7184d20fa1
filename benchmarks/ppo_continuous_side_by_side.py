"""Continuous-action PPO speed side by side: the toolbox, CleanRL's ``ppo_continuous_action.py`` and
PureJaxRL's ``ppo_continuous_action.py``, on the same task, budget and hyper-parameters
(:data:`toolbox.ppo.continuous.args.PENDULUM`: Pendulum-v1, 102,400 steps, 16 envs × 64 steps,
lr 1e-3, γ 0.9, 8 minibatches, 10 epochs, every CleanRL detail on), for 1 run and for 5 runs
(seeds 1-5).

    flock /tmp/rl_bench.lock python benchmarks/ppo_continuous_side_by_side.py \\
        --cleanrl PATH/ppo_continuous_action.py --purejaxrl PATH/ppo_continuous_action.py \\
        [--runs 1,5] [--sides ours,cleanrl,purejaxrl] [--torch-threads 1] [--ours-threads N]
        [--purejaxrl-width 64] [--no-parallel] [--last-k 32]
    python benchmarks/ppo_continuous_side_by_side.py --table-from LOG   # the table again

The two upstream scripts are read from the paths given, never copied into this repository. Get them
at the commits these figures were measured with (PureJaxRL's ``wrappers.py`` must lie beside its
script, which imports it):

    C=fe8d8a03c41a7ef5b523e2e354bd01c363e786bb  # vwxyzjn/cleanrl
    P=31756b197773a52db763fdbe6d635e4b46522a73  # luchris429/purejaxrl
    G=https://raw.githubusercontent.com
    mkdir -p /tmp/upstream/cleanrl /tmp/upstream/purejaxrl
    curl -sSfo /tmp/upstream/cleanrl/ppo_continuous_action.py \\
        $G/vwxyzjn/cleanrl/$C/cleanrl/ppo_continuous_action.py
    for f in ppo_continuous_action.py wrappers.py; do
        curl -sSfo /tmp/upstream/purejaxrl/$f $G/luchris429/purejaxrl/$P/purejaxrl/$f; done

Each upstream runs in its own venv, built on first use with the anchors' recipes
(``../shared/anchors/cleanrl/run.sh``: ``ANCHOR_REF_VENV``, default ``~/.cache/rl-anchors/ref``,
torch 2.13, gymnasium 0.29.1; ``../shared/anchors/purejaxrl/requirements.txt``: ``ANCHOR_VENV``,
default ``~/.cache/rl-anchors/purejaxrl``, jax 0.9.2, gymnax 0.0.9).

What is timed, every side in a fresh Python process (wall seconds from the process's start, and
the CPU seconds it used, all its threads):

* the toolbox: ``train_variants([PENDULUM], seeds)`` as the app calls it (``backend="auto"``: the
  compiled path on the CPU) — from the process's start to the end of the first call: imports, any
  compilation and the training, with an empty Numba cache (a machine's very first call) and again
  with a warm one (``RL_TOOLBOX_NUMBA_CACHE``, what a started server has); then, in the first
  process, the same call again (warm). The tensor path (``backend="tensor"``) is timed too when
  ``train_variants`` has that keyword.
* CleanRL: one process per run through its own command line (``cleanrl_argv``: tracking, video and
  model saving off); 5 runs = 5 processes one after the other, and (unless ``--no-parallel``) 2 at
  a time with one torch thread each (the way 5 such runs could use 2 cores).
* PureJaxRL: ``benchmarks/ppo_continuous_purejaxrl_driver.py`` imports the upstream module, calls
  its ``make_train(purejaxrl_config(PENDULUM))`` and runs ``jit(vmap(train))`` over the seeds:
  the fresh process (imports + compile + run) and, inside it, the compiled program's second run
  alone. The driver's docstring lists the three names it rebinds (gymnax's Pendulum-v1 for brax,
  the task's action bounds for brax's, the network width).

Torch threads: ``--torch-threads`` (default 1) is given to the toolbox and to CleanRL alike through
``OMP_NUM_THREADS``. 1 is what the app's trainings run with (``toolbox.device.training_threads``):
on a loaded 2-core machine two OpenMP threads spin-waiting on each other's tiny ops make a run many
times slower (the toolbox's tensor path at load 11-14: 1,209 s for the run with torch's 2 threads;
with 1, 20 of its 100 iterations took 36 s). 0 leaves torch's default. JAX's XLA runtime keeps its
own thread pool (one per core). The compiled path's first compilation runs in two processes
(the rollout's kernels in a child, the update's in the caller: Numba compiles under one lock per
process).

Every side's learning is printed beside its time: per run, the mean return of its last
``--last-k`` episodes (512 episodes of 200 steps per run; random torques score about −1,250).
``upstream_gaps`` lists what an upstream script cannot be told and how it differs. Ratios are the
figures to compare (theirs / ours): the machine is shared and absolute times move with its load,
which is printed.

Measured 2026-12-05 01:14, toolbox f3e3f0e (compiled path, first compile in two processes), load
1.3-2.3 on the 2 shared cores, wall seconds (1 run | 5 runs): ours first call, empty Numba cache
11.7 | 15.3, warm cache 3.1 | 6.9, second call 0.9 | 4.6; PureJaxRL fresh process 12.1 | 20.7
(×1.03 | ×1.36 ours' first call on an empty cache; ×3.9 | ×3.0 on a warm one), its compiled run
alone 1.2 | 5.6 (×1.33 | ×1.21 ours' second call); CleanRL 32.4 | 160.2 (×2.8 | ×10.5), 2 processes
at a time 150.8 for 5. Returns (mean of the last 32 episodes): ours −926 | −856, CleanRL
−836 | −827, PureJaxRL −248 | −310 (its statistics pooled over the 16 envs, see
``upstream_gaps``). Before the two-process compile (a2504db, load 2.0-2.9) ours' empty-cache first
call was 18.5 | 26.3 against PureJaxRL's 18.1 | 23.7.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLEANRL_COMMIT = "fe8d8a03c41a7ef5b523e2e354bd01c363e786bb"
PUREJAXRL_COMMIT = "31756b197773a52db763fdbe6d635e4b46522a73"
ANCHORS = ROOT.parent / "shared" / "anchors"
CLEANRL_VENV = Path(os.environ.get("ANCHOR_REF_VENV", Path.home() / ".cache/rl-anchors/ref"))
PUREJAXRL_VENV = Path(os.environ.get("ANCHOR_VENV", Path.home() / ".cache/rl-anchors/purejaxrl"))
DRIVER = ROOT / "benchmarks" / "ppo_continuous_purejaxrl_driver.py"

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
from benchmarks.ppo_continuous_upstream import (  # noqa: E402  (the settings in their terms)
    cleanrl_argv,
    purejaxrl_config,
    upstream_gaps,
)


# ---------------------------------------------------------------------------------------------
# running each side
# ---------------------------------------------------------------------------------------------
def ensure_venvs() -> None:
    """Build the anchors' venvs when missing (the recipes of ../shared/anchors)."""
    if not _imports(CLEANRL_VENV, "import tyro, gymnasium, torch, torch.utils.tensorboard"):
        _build(CLEANRL_VENV, ["torch==2.13.0", "gymnasium==0.29.1", "numpy<2", "tyro",
                              "tensorboard"])
    if not _imports(PUREJAXRL_VENV, "import jax, flax, optax, distrax, gymnax"):
        _build(PUREJAXRL_VENV, ["-r", str(ANCHORS / "purejaxrl" / "requirements.txt")])


def _imports(venv: Path, code: str) -> bool:
    py = venv / "bin" / "python"
    return py.exists() and not subprocess.run([str(py), "-c", code], capture_output=True).returncode


def _build(venv: Path, packages: list[str]) -> None:
    print(f"building {venv} ...", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", *packages], check=True)


def timed(cmds: list[list[str]], env: dict | None = None, cwd: str | None = None,
          at_once: int = 1) -> tuple[float, float, list[str]]:
    """Run ``cmds``, ``at_once`` at a time: wall seconds for all, CPU seconds used, stdouts."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    outs: list[str] = [""] * len(cmds)
    pending = list(enumerate(cmds))
    running: list[tuple[int, subprocess.Popen]] = []
    while pending or running:
        while pending and len(running) < at_once:
            i, cmd = pending.pop(0)
            running.append((i, subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.PIPE,
                                                stderr=subprocess.PIPE, text=True)))
        i, p = running.pop(0)
        out, err = p.communicate()
        if p.returncode:
            raise RuntimeError(f"{' '.join(cmd[:3])} ... failed ({p.returncode}):\n{err[-3000:]}")
        outs[i] = out
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, outs


def _result(out: str) -> dict:
    m = re.search(r"^RESULT (.*)$", out, re.M)
    if not m:
        raise RuntimeError(f"no RESULT line in:\n{out[-2000:]}")
    return json.loads(m.group(1))


OURS_CHILD = """
import time; t0 = time.perf_counter()
import json, resource, sys
from toolbox.ppo.continuous.args import PENDULUM
from toolbox.ppo.continuous.train import train_variants
def cpu():
    u = resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime
t1 = time.perf_counter()
kw = {backend}
seeds = list(range(1, {n} + 1))
runs = train_variants([PENDULUM], seeds, **kw)[0]
t2, c2 = time.perf_counter(), cpu()
warm = {warm}
if warm:
    train_variants([PENDULUM], seeds, **kw)
t3, c3 = time.perf_counter(), cpu()
k = {last_k}
print("RESULT " + json.dumps({{"import": t1 - t0, "first": t2 - t1,
      "warm": t3 - t2 if warm else None, "cpu_first": c2, "cpu_warm": c3 - c2 if warm else None,
      "returns": [sum(r["episode_returns"][-k:]) / len(r["episode_returns"][-k:]) for r in runs],
      "episodes": [len(r["episode_returns"]) for r in runs]}}), flush=True)
"""


def ours(n: int, cache: str, warm: bool, last_k: int, threads: int,
         backend: str | None = None, ours_threads: int | None = None) -> dict:
    """The toolbox in a fresh process. ``wall``/``cpu``: the process up to the end of the first
    call (its start, imports, any compilation, training); ``warm``: the same call again after it."""
    code = OURS_CHILD.format(n=n, warm=warm, last_k=last_k,
                             backend=repr(dict({"backend": backend} if backend else {},
                                               **({"threads": ours_threads} if ours_threads
                                                  else {}))))
    env = dict(_threads_env(threads), PYTHONPATH=str(ROOT), RL_TOOLBOX_NUMBA_CACHE=cache)
    wall, _cpu, (out,) = timed([[sys.executable, "-c", code]], env=env, cwd=str(ROOT))
    r = _result(out)
    return dict(r, wall=wall - (r["warm"] or 0.0), cpu=r["cpu_first"])


def _threads_env(threads: int) -> dict:
    """The environment with torch's intra-op threads set to ``threads`` (0: torch's default)."""
    env = dict(os.environ)
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
    return env


def cleanrl(script: str, n: int, last_k: int, threads: int, at_once: int = 1) -> dict:
    from toolbox.ppo.continuous.args import PENDULUM

    py = str(CLEANRL_VENV / "bin" / "python")
    cmds = [[py, "-W", "ignore", os.path.abspath(script), *cleanrl_argv(PENDULUM, s)]
            for s in range(1, n + 1)]
    env = _threads_env(1 if at_once > 1 else threads)  # 2 processes at once: 1 thread each
    with tempfile.TemporaryDirectory() as cwd:  # its runs/ (tensorboard) lands here
        wall, cpu, outs = timed(cmds, env=env, cwd=cwd, at_once=at_once)
    returns, episodes = [], []
    for out in outs:
        r = [float(x) for x in re.findall(r"episodic_return=\[?([-+\d.eE]+)", out)]
        returns.append(sum(r[-last_k:]) / len(r[-last_k:]) if r else float("nan"))
        episodes.append(len(r))
    return {"wall": wall, "cpu": cpu, "returns": returns, "episodes": episodes}


def purejaxrl(script: str, n: int, last_k: int, width: int) -> dict:
    from toolbox.ppo.continuous.args import PENDULUM

    cmd = [str(PUREJAXRL_VENV / "bin" / "python"), "-W", "ignore", str(DRIVER),
           os.path.abspath(script), json.dumps(purejaxrl_config(PENDULUM)), "--seeds", str(n),
           "--seed0", "1", "--width", str(width), "--last-k", str(last_k)]
    wall, cpu, (out,) = timed([cmd])
    return dict(_result(out), wall=wall, cpu=cpu)


# ---------------------------------------------------------------------------------------------
# table
# ---------------------------------------------------------------------------------------------
def _returns(rs: list[float]) -> str:
    mean = sum(rs) / len(rs)
    return f"{mean:7.0f}" + (f" [{min(rs):.0f}, {max(rs):.0f}]" if len(rs) > 1 else "")


def table(rows: list[tuple[str, dict]], runs: list[int],
          refs: dict[str, dict[int, tuple[float, float | None]]]) -> str:
    """``rows``: (label, {n: (wall s, cpu s or None, returns or None, ref)}); the ratio columns
    are wall and cpu over ``refs[ref][n]``'s (the toolbox's time that row compares with)."""
    w = 45
    head = f"{'':54}" + "".join(f"| {f'{n} run' + ('s' if n > 1 else ''):^{w}}" for n in runs)
    sub = f"{'':54}" + "".join(f"| {'wall s':>7} {'cpu s':>6} {'x wall':>6} {'x cpu':>6} "
                               f"{'return':>15} " for _ in runs)
    lines = [head, sub, "-" * len(sub)]
    for label, cells in rows:
        line = f"{label:54}"
        for n in runs:
            if n not in cells:
                line += f"| {'-':>7} " + " " * (w - 8)
                continue
            wall, cpu, rets, ref = cells[n]
            ref_wall, ref_cpu = refs.get(ref, {}).get(n, (None, None))
            x_wall = f"{wall / ref_wall:6.2f}" if ref_wall else ""
            x_cpu = f"{cpu / ref_cpu:6.2f}" if ref_cpu and cpu is not None else ""
            cpu_s = "" if cpu is None else f"{cpu:6.1f}"
            line += (f"| {wall:7.1f} {cpu_s:>6} {x_wall:>6} {x_cpu:>6} "
                     f"{_returns(rets) if rets else '':>15} ")
        lines.append(line)
    return "\n".join(lines)


def report(res: dict[str, dict[int, dict]], runs: list[int], width: int, last_k: int) -> str:
    """The side-by-side table of ``res`` (``{side: {runs: measurement}}``, as the RAW line)."""
    def cell(key: str, ref: str = "first") -> dict:
        return {n: (r["wall"], r["cpu"], r["returns"], ref) for n, r in res.get(key, {}).items()}

    def inner(key: str, field: str, ref: str, cpu_field: str = "") -> dict:
        return {n: (r[field], r.get(cpu_field), None, ref) for n, r in res.get(key, {}).items()
                if r.get(field) is not None}

    cold = res.get("ours_cold", {})
    refs = {"first": {n: (r["wall"], r["cpu"]) for n, r in cold.items()},
            "warm": {n: (r["warm"], r.get("cpu_warm")) for n, r in cold.items()}}
    rows = [("ours  first call: fresh process, empty Numba cache", cell("ours_cold")),
            ("ours  first call: fresh process, warm Numba cache", cell("ours_cached")),
            ("ours  second call in the process (warm)",
             inner("ours_cold", "warm", "warm", "cpu_warm"))]
    if "ours_tensor" in res:
        rows += [("ours  tensor path: fresh process", cell("ours_tensor")),
                 ("ours  tensor path: second call",
                  inner("ours_tensor", "warm", "warm", "cpu_warm"))]
    rows += [("CleanRL  fresh process per run, one after another", cell("cleanrl")),
             ("CleanRL  fresh processes, 2 at a time, 1 thread each", cell("cleanrl_par")),
             (f"PureJaxRL  fresh process: import+compile+run (w{width})",
              cell("purejaxrl")),
             ("PureJaxRL    of which trace + XLA compile", inner("purejaxrl", "compile", "")),
             ("PureJaxRL  compiled run alone (second run)",
              inner("purejaxrl", "run2", "warm", "cpu_run2"))]
    return table(rows, runs, refs) + (
        "\n\nx wall, x cpu: fresh-process rows over ours' first call (fresh process, empty Numba "
        "cache); warm and compiled rows over ours' second call. return: mean of each run's last "
        f"{last_k} episodes [min, max over runs].")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cleanrl", help="CleanRL's ppo_continuous_action.py")
    ap.add_argument("--purejaxrl",
                    help="PureJaxRL's ppo_continuous_action.py (its wrappers.py beside it)")
    ap.add_argument("--runs", default="1,5")
    ap.add_argument("--sides", default="ours,cleanrl,purejaxrl",
                    help="which to time (a rerun of one side alone has no ratios for the others)")
    ap.add_argument("--last-k", type=int, default=32)
    ap.add_argument("--purejaxrl-width", type=int, default=64)
    ap.add_argument("--no-parallel", action="store_true", help="skip CleanRL 2-at-a-time")
    ap.add_argument("--torch-threads", type=int, default=1,
                    help="torch intra-op threads of the toolbox and of CleanRL (0: torch's "
                         "default, one per core); 1 is what the app's trainings use")
    ap.add_argument("--ours-threads", type=int, default=None,
                    help="train_variants(threads=N): the compiled path's runs split across N "
                         "threads (default: train_variants' own default, 1, as the app)")
    ap.add_argument("--numba-cache", default=os.environ.get("RL_TOOLBOX_NUMBA_CACHE",
                                                            "/tmp/numba_side_by_side"))
    ap.add_argument("--table-from", metavar="LOG",
                    help="print the table again from a earlier run's output (its RAW line)")
    args = ap.parse_args()
    runs = [int(x) for x in args.runs.split(",")]
    if args.table_from:
        raw = json.loads(re.findall(r"^RAW (.*)$", Path(args.table_from).read_text(), re.M)[-1])
        res = {k: {int(n): r for n, r in v.items()} for k, v in raw.items()}
        print(report(res, runs, args.purejaxrl_width, args.last_k))
        return
    sides = set(args.sides.split(","))
    if "cleanrl" in sides and not args.cleanrl or "purejaxrl" in sides and not args.purejaxrl:
        ap.error("give --cleanrl and --purejaxrl: the upstream scripts (see this file's header)")
    sys.path.insert(0, str(ROOT))
    import inspect

    from toolbox.ppo.continuous.args import PENDULUM
    from toolbox.ppo.continuous.train import train_variants

    ensure_venvs()
    gaps = upstream_gaps(PENDULUM)
    has_backend = "backend" in inspect.signature(train_variants).parameters
    head = subprocess.run(["git", "log", "-1", "--format=%h %s"], cwd=ROOT, text=True,
                          capture_output=True).stdout.strip()
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S')}  cpus={os.cpu_count()}  "
          f"loadavg={os.getloadavg()}  toolbox {head}  backend keyword: {has_backend}  "
          f"torch threads: {args.torch_threads or 'default'}  ours threads=: {args.ours_threads}  "
          f"CleanRL {CLEANRL_COMMIT[:7]}  PureJaxRL {PUREJAXRL_COMMIT[:7]}", flush=True)
    res: dict[str, dict[int, dict]] = {}
    for n in runs:
        def note(key: str, r: dict, n: int = n) -> None:
            res.setdefault(key, {})[n] = r
            print(f"  {n} run(s) {key}: {r['wall']:.1f} s wall, {r['cpu']:.1f} s cpu, "
                  f"load {os.getloadavg()[0]:.1f}", flush=True)

        kw = {"ours_threads": args.ours_threads}
        if "ours" in sides:
            with tempfile.TemporaryDirectory() as empty:
                note("ours_cold", ours(n, empty, True, args.last_k, args.torch_threads, **kw))
        if "cleanrl" in sides:
            note("cleanrl", cleanrl(args.cleanrl, n, args.last_k, args.torch_threads))
        if "purejaxrl" in sides:
            note("purejaxrl", purejaxrl(args.purejaxrl, n, args.last_k, args.purejaxrl_width))
        if "ours" in sides:
            ours(n, args.numba_cache, False, args.last_k, args.torch_threads, **kw)  # fills it
            note("ours_cached", ours(n, args.numba_cache, False, args.last_k, args.torch_threads,
                                     **kw))
            if has_backend:
                note("ours_tensor", ours(n, args.numba_cache, True, args.last_k,
                                         args.torch_threads, "tensor"))
        if "cleanrl" in sides and n > 1 and not args.no_parallel:
            note("cleanrl_par", cleanrl(args.cleanrl, n, args.last_k, 1, at_once=2))

    print()
    print(report(res, runs, args.purejaxrl_width, args.last_k))
    print(f"loadavg at the end {os.getloadavg()}")
    for g in gaps:
        print("* " + g)
    print("RAW " + json.dumps(res))


if __name__ == "__main__":
    main()
