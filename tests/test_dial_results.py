"""The stored DIAL results (results/dial_*.json) still match the code that produced them.

A fresh run with a stored run's settings and seed 0, cut to its first test point(s), must give the
stored test rewards and message histograms *exactly*.

DIAL's numbers depend on the torch thread count (reductions split differently give other
floating-point sums, and a few flipped greedy decisions follow): the files are written by
``benchmarks/dial_precompute.py`` on **one torch thread** (``meta.torch_threads`` records it), and
this test runs on one thread too. They may also differ under another torch build or CPU; then
re-run the precompute script.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from toolbox.dial.config import DialConfig
from toolbox.dial.precomputed import RESULT_FILES, RESULTS_DIR, load_results
from toolbox.dial.train import train

DATA = {name: load_results(RESULTS_DIR, (name,)) for name in RESULT_FILES}
TRAINED_POINT = {"n3-dial-shared-sum-sigma2-b600-bs32-t20x1000", "n3-rial-shared-sum-sigma2-b600-bs32-t20x1000",
                 "n3-dial-separate-sum-sigma2-b600-bs32-t20x1000", "n3-dial-shared-concat-sigma2-b600-bs32-t20x1000",
                 "n4-dial-shared-sum-sigma2-b1500-bs32-t50x1000"}
"""Runs checked up to their first trained test point (the others at the test before training, to stay fast;
the golden test covers the remaining training paths)."""
RUNS = [(name, key) for name, data in DATA.items() for key in data["runs"]]



@pytest.mark.parametrize("name", RESULT_FILES)
def test_results_record_one_thread(name):
    data = DATA[name]
    assert data["meta"]["torch_threads"] == 1
    assert all(s["torch_threads"] == 1 for run in data["runs"].values() for s in run["seeds"])


def test_every_stored_run_is_checked():
    assert TRAINED_POINT <= {key for _, key in RUNS}
    assert len(RUNS) == 8


@pytest.mark.parametrize("name,key", RUNS)
def test_fresh_run_reproduces_the_start_of_the_stored_curve(name, key):
    stored = DATA[name]["runs"][key]["seeds"][0]
    cfg = DialConfig(**stored["config"])
    points = 2 if key in TRAINED_POINT else 1
    fresh = train(replace(cfg, n_batches=(points - 1) * cfg.test_every or 1, test_every=cfg.test_every),
                  seed=stored["seed"], device="cpu", backend=stored.get("backend", "torch"))
    assert fresh.epochs[:points] == stored["epochs"][:points]
    assert fresh.test_normalized_reward[:points] == stored["test_normalized_reward"][:points]
    assert fresh.message_hist[:points] == stored["message_hist"][:points]
    assert fresh.message_edges == stored["message_edges"]
