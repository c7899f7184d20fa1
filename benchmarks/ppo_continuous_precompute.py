"""Precompute the continuous-action grid: "all on" and each detail off, over seeds, on Pendulum-v1.

    OMP_NUM_THREADS=1 python -m benchmarks.ppo_continuous_precompute [--seeds 0-19]
        [--variants all,norm_obs,...] [--budget 102400] [--out results/ppo_continuous_grid.json]
    python -m benchmarks.ppo_continuous_precompute --merge part1.json part2.json --out grid.json

(two processes, e.g. the continuous details and the core ones, use both cores; ``--merge``
joins their files and recomputes the comparison).

Variants are :data:`toolbox.ppo.continuous.args.PENDULUM` with one toggle flipped, trained by
:func:`toolbox.ppo.continuous.train.train_variants` (``--backend``: compiled on the CPU by default,
``tensor`` for :class:`~toolbox.ppo.continuous.tensor.TensorPPO`; the stored grid, 20 seeds, was
trained on the compiled path in 367 s on one thread, ``meta.backend`` says which).
``independent_actions`` is left out: Pendulum's action has one component, so the toggle cannot act
(see its Args docstring). Per run the file keeps the learning curve (mean return of each round of 16
episodes, by end step) and the final score (mean of the last 32 episodes,
:func:`~toolbox.ppo.continuous.analysis.final_score`); ``comparison`` holds
:func:`~toolbox.ppo.continuous.analysis.compare`'s rows and ``sentence`` the finding in words;
``meta`` says how it was made (commit, versions, CPU, wall time).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from toolbox.ppo.compiled import choose_backend  # noqa: E402
from toolbox.ppo.continuous import analysis  # noqa: E402
from toolbox.ppo.continuous.args import CONTINUOUS_DETAILS, CORE_TOGGLES, PENDULUM  # noqa: E402
from toolbox.ppo.continuous.train import train_variants  # noqa: E402
from toolbox.provenance import machine_provenance  # noqa: E402

DETAILS = tuple(d for d in CONTINUOUS_DETAILS if d != "independent_actions") + CORE_TOGGLES
"""The grid's toggles: the eight continuous details that act on Pendulum, then the core ones."""


def variant(name: str, budget: int):
    """``"all"`` or a detail's field name -> the :data:`PENDULUM` Args with that detail off."""
    base = PENDULUM.replace(total_timesteps=budget)
    if name == "all":
        return base
    on = getattr(base, name)
    return base.replace(**{name: not on})


def label(name: str) -> str:
    return "all on" if name == "all" else f"{name} off" if name != "shared_network" else \
        "shared_network on (separate networks off)"


def _seeds(text: str) -> list[int]:
    if "-" in text:
        lo, hi = text.split("-")
        return list(range(int(lo), int(hi) + 1))
    return [int(s) for s in text.split(",")]


def run_record(seed: int, steps: list[int], returns: list[float]) -> dict:
    """One run, compact: its learning curve as the mean return of the episodes ending at each
    step (all environments end together every 200 steps: one point per round) and its final
    score (:func:`~toolbox.ppo.continuous.analysis.final_score`, from the episodes themselves)."""
    rounds: dict[int, list[float]] = {}
    for t, g in zip(steps, returns):
        rounds.setdefault(int(t), []).append(g)
    return {"seed": seed, "curve_steps": list(rounds),
            "curve": [round(sum(v) / len(v), 2) for v in rounds.values()],
            "final_score": analysis.final_score(returns)}


def train_grid(names: list[str], seeds: list[int], budget: int, backend: str = "auto",
               threads: int = 1) -> dict[str, list[dict]]:
    """Every variant × seed through ``train_variants`` (one runner per structure);
    -> label -> per-seed run records."""
    t0, shown = time.perf_counter(), [0]

    def progress(fraction: float, _runs) -> None:
        if int(10 * fraction) > shown[0]:
            shown[0] = int(10 * fraction)
            print(f"{fraction:.0%} after {time.perf_counter() - t0:.0f} s", flush=True)

    out = train_variants([variant(n, budget) for n in names], seeds, report=progress,
                         backend=backend, threads=threads)
    return {label(n): [run_record(r["seed"], r["episode_steps"], r["episode_returns"])
                       for r in records] for n, records in zip(names, out)}


def finish(payload: dict) -> dict:
    """Add the comparison with "all on" and its sentence (when both are there)."""
    scores = {k: [r["final_score"] for r in v] for k, v in payload["runs"].items()}
    if "all on" in scores and len(scores) > 1:
        rows = analysis.compare(scores)
        payload["comparison"] = rows
        payload["sentence"] = analysis.sentence(rows, scores["all on"], payload["budget"])
    return payload


def merge(paths: list[str]) -> dict:
    """Grids of the same budget and seeds trained in separate processes, as one payload; each
    part's meta is kept under ``meta["parts"]``."""
    parts = [json.loads(Path(p).read_text()) for p in paths]
    first = parts[0]
    for p in parts[1:]:
        if any(p[k] != first[k] for k in ("budget", "seeds", "args")):
            raise ValueError("only grids of the same budget, seeds and preset can be merged.")
    runs = {k: [r if "curve" in r else run_record(r["seed"], r["episode_steps"],
                                                  r["episode_returns"]) for r in v]
            for p in parts for k, v in p["runs"].items()}
    meta = {k: v for k, v in first["meta"].items() if k not in ("wall_seconds", "started_utc")}
    meta["wall_seconds"] = round(sum(p["meta"]["wall_seconds"] for p in parts), 1)
    meta["parts"] = [p["meta"] for p in parts]
    return finish({"meta": meta, "args": first["args"], "budget": first["budget"],
                   "seeds": first["seeds"], "variants": list(runs), "runs": runs})


def report(payload: dict) -> None:
    for k, v in payload["runs"].items():
        scores = [r["final_score"] for r in v]
        print(f"{k:45s} {sum(scores) / len(scores):8.1f}")
    for r in payload.get("comparison", []):
        print(f"{r['variant']:45s} {r['difference']:+7.1f} ± {r['half_width']:5.1f}  "
              f"p {r['p_value']:.2g}  Holm {r['p_adjusted']:.2g}  {'SEPARATES' * r['separates']}")
    if "sentence" in payload:
        print(payload["sentence"])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--merge", nargs="+", help="grid files of the same budget to merge into --out")
    ap.add_argument("--budget", type=int, default=PENDULUM.total_timesteps)
    ap.add_argument("--seeds", default="0-19", help="e.g. 0-19 or 0,1,2")
    ap.add_argument("--variants", default=",".join(("all",) + DETAILS))
    ap.add_argument("--threads", type=int, default=1,
                    help="torch threads; on the compiled path, threads the runs are split across")
    ap.add_argument("--backend", default="auto",
                    help="auto (compiled on the CPU), compiled or tensor")
    ap.add_argument("--out", default=str(ROOT / "results" / "ppo_continuous_grid.json"))
    a = ap.parse_args()
    if a.merge:
        payload = merge(a.merge)
        Path(a.out).write_text(json.dumps(payload, separators=(",", ":")))
        report(payload)
        return
    torch.set_num_threads(a.threads)
    names, seeds = a.variants.split(","), _seeds(a.seeds)

    def git(*x):
        return subprocess.run(["git", *x], cwd=ROOT, capture_output=True, text=True).stdout

    commit = git("rev-parse", "HEAD").strip()
    dirty = bool(git("status", "--porcelain", "--", "toolbox/ppo/continuous").strip())
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    t0 = time.perf_counter()
    backend = choose_backend(a.backend, torch.device("cpu"))
    runs = train_grid(names, seeds, a.budget, backend, a.threads)
    secs = time.perf_counter() - t0
    payload = finish({
        "meta": {"commit": commit, "dirty": dirty, "threads": a.threads, "device": "cpu",
                 "backend": backend,
                 "started_utc": started, "wall_seconds": round(secs, 1), **machine_provenance()},
        "args": variant("all", a.budget).to_dict(), "budget": a.budget, "seeds": seeds,
        "variants": [label(n) for n in names], "runs": runs,
    })
    Path(a.out).write_text(json.dumps(payload, separators=(",", ":")))
    print(f"{len(names)} variants x {len(seeds)} seeds x {a.budget} steps in {secs:.1f} s "
          f"-> {a.out}")
    report(payload)


if __name__ == "__main__":
    main()
