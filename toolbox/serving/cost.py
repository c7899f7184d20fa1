"""The measured cost table admission is calibrated by (``cost_table.json``, written by
``benchmarks/job_costs.py``): per job kind, rows of settings with seconds and peak memory measured
on one thread. The algorithms turn a request into seconds and MB from these rows
(``toolbox.lessons.dial.requests``, ``toolbox.serving.ppo_batching``); this module only reads the
table and finds the row nearest a setting.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

TABLE_PATH = Path(__file__).with_name("cost_table.json")


@lru_cache(maxsize=1)
def cost_table() -> dict:
    """The whole table: ``{"machine": ..., "measured": ..., "dial": [rows], "ppo": [rows]}``."""
    return json.loads(TABLE_PATH.read_text(encoding="utf-8"))


def nearest_row(kind: str, size_field: str, size: float, **match) -> dict:
    """The row of ``kind`` whose fields equal ``match`` and whose ``size_field`` is the smallest one
    at least ``size`` (the cost grows with size: rounding up never underestimates); the largest one
    when ``size`` is beyond the table. Its measured numbers are the largest of that row and the
    smaller ones (a monotone envelope). A ``ValueError`` when no row matches."""
    rows = [r for r in cost_table()[kind] if all(r.get(k) == v for k, v in match.items())]
    if not rows:
        raise ValueError(f"the cost table has no {kind} row for {match}.")
    rows.sort(key=lambda r: r[size_field])
    row = next((r for r in rows if r[size_field] >= size), rows[-1])
    # one measurement per setting on a shared machine is noisy (n = 9 once measured slower than
    # n = 10): a larger setting is estimated at least as costly as every smaller one
    smaller = [r for r in rows if r[size_field] <= row[size_field]]
    return {k: max(r[k] for r in smaller) if isinstance(v, float) else v for k, v in row.items()}
