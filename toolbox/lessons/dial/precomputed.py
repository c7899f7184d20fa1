"""The DIAL lesson's precomputed results (results/dial_*.json) and the curves the page draws from
them.

The files are written by ``benchmarks/dial_precompute.py`` on one torch thread (DIAL's numbers
depend on the thread count; ``meta.torch_threads`` in each file records it) and checked against
fresh runs by ``tests/test_dial_results.py``. Layout of one file::

    {"meta": {...}, "runs": {run_key: {"config": {...}, "seeds": [DialResult.to_dict(), ...]}},
     "protocol": {...}, "replays": [...], "batchnorm": {...}}   # the last three optional
"""

from __future__ import annotations

import json
from pathlib import Path

from toolbox.dial.config import DialConfig
from toolbox.stats import seed_band

RESULTS_DIR = Path(__file__).resolve().parents[3] / "results"
RESULT_FILES = ("dial_default.json", "dial_n4.json")
"""Written by ``benchmarks/dial_precompute.py`` (n = 3 variants; n = 4 DIAL vs no communication)."""
METHOD_LABELS = {"dial": "DIAL", "rial": "RIAL", "nocomm": "No communication"}
CURVE_KEYS = ("n_agents", "method", "param_sharing", "input_mode", "sigma")
"""The settings that pick a stored learning curve (the budget may differ: a stored curve is shown as
is)."""


def load_results(directory: str | Path = RESULTS_DIR,
                 files: tuple[str, ...] = RESULT_FILES) -> dict:
    """Merge the result files into one dict:
    ``{"runs": {key: run}, "batchnorm": {n_agents: ...}, ...}``.

    Missing files are skipped. ``batchnorm`` entries (one per file) are gathered by team size;
    any other top-level entry of a later file replaces an earlier one's.
    """
    data: dict = {"runs": {}, "batchnorm": {}}
    for name in files:
        path = Path(directory) / name
        if not path.exists():
            continue
        part = json.loads(path.read_text())
        data["runs"].update(part.pop("runs", {}))
        bn = part.pop("batchnorm", None)
        if bn is not None:
            n = data["runs"][bn["run"]]["config"]["n_agents"]
            data["batchnorm"][n] = bn
        data.update(part)
    return data


def matching_runs(data: dict, **want) -> dict:
    """Stored runs whose config has all the given values: ``{run_key: run}`` in file order."""
    return {key: run for key, run in data["runs"].items()
            if all(run["config"].get(k) == v for k, v in want.items())}


def stored_seeds(data: dict, config: DialConfig, n_seeds: int) -> list[dict] | None:
    """The first ``n_seeds`` stored seeds of the curve with ``config``'s ``CURVE_KEYS`` values, or
    None."""
    found = matching_runs(data, **{k: getattr(config, k) for k in CURVE_KEYS})
    if not found:
        return None
    return next(iter(found.values()))["seeds"][:n_seeds]


def curve_series(label: str, runs: list[dict], color: str | None) -> dict:
    """One variant's seeds as a figure series: x in training episodes, mean and band over seeds.

    ``runs``: ``DialResult.to_dict()`` of each seed. Returns ``{"label", "x", "color", "seeds",
    "mean", "lo", "hi",
    "std"}`` (``toolbox.stats.seed_band`` with a ±1 std band; curves cut to the shortest seed).
    """
    curves = [r["test_normalized_reward"] for r in runs]
    summary = seed_band(curves, "std")
    k = len(summary["mean"])
    bs = runs[0]["config"]["batch_size"]
    return {"label": f"{label} ({len(runs)} seed{'s' if len(runs) > 1 else ''})",
            "x": [e * bs for e in runs[0]["epochs"][:k]], "color": color, "seeds": curves,
            **summary}


def message_runs(data: dict) -> dict[str, dict]:
    """Seed 0 of every stored DIAL run, labelled by the settings that tell them apart."""
    out = {}
    for run in data["runs"].values():
        cfg = run["config"]
        if cfg["method"] == "dial":
            label = (
                f"precomputed: n = {cfg['n_agents']}, σ = {cfg['sigma']:g}, {cfg['input_mode']}, "
                f"{'shared' if cfg['param_sharing'] else 'separate'}")
            out[label] = run["seeds"][0]
    return out
