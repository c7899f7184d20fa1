"""Look-up of the DIAL lesson's precomputed results (toolbox.lessons.dial.precomputed), on small
synthetic files."""

from __future__ import annotations

import json

import numpy as np
import pytest

from toolbox.dial.config import DialConfig, run_key
from toolbox.lessons.dial.precomputed import (
    curve_series,
    load_results,
    matching_runs,
    message_runs,
    stored_seeds,
)


def fake_run(cfg: DialConfig, curves: list[list[float]]) -> dict:
    seeds = [{"config": vars(cfg).copy(), "seed": s,
              "epochs": [i * cfg.test_every for i in range(len(c))], "test_normalized_reward": c,
              "message_hist": [], "message_edges": []} for s, c in enumerate(curves)]
    return {"config": vars(cfg).copy(), "seeds": seeds}


@pytest.fixture
def results_dir(tmp_path):
    a = DialConfig(n_agents=3, method="dial", n_batches=40, test_every=20)
    b = DialConfig(n_agents=3, method="nocomm", n_batches=40, test_every=20)
    c = DialConfig(n_agents=4, method="dial", n_batches=100, test_every=50)
    (tmp_path / "one.json").write_text(json.dumps({
        "meta": {"torch_threads": 1},
        "runs": {run_key(a): fake_run(a, [[0.0, 0.5, 0.9], [0.1, 0.3, 0.7]]),
                 run_key(b): fake_run(b, [[0, 0.2, 0.3]])},
        "protocol": {"run": run_key(a)}, "batchnorm": {"run": run_key(a), "batch": 0.9,
                                                       "running": 0.2}}))
    (tmp_path / "two.json").write_text(json.dumps({
        "meta": {"torch_threads": 1},
        "runs": {run_key(c): fake_run(c, [[-1.0, 0.4, 0.6]])},
        "batchnorm": {"run": run_key(c), "batch": 0.6, "running": -1.2}}))
    return tmp_path


def test_load_results_merges_files_and_gathers_batchnorm_by_team_size(results_dir):
    data = load_results(results_dir, ("one.json", "two.json", "missing.json"))
    assert len(data["runs"]) == 3
    assert data["protocol"]["run"].startswith("n3-dial")
    assert data["batchnorm"][3]["running"] == 0.2 and data["batchnorm"][4]["running"] == -1.2
    assert load_results(results_dir, ("missing.json",)) == {"runs": {}, "batchnorm": {}}


def test_matching_and_stored_seeds_pick_the_curve_by_its_settings(results_dir):
    data = load_results(results_dir, ("one.json", "two.json"))
    assert list(matching_runs(data, n_agents=3)) == [
        run_key(DialConfig(n_batches=40, test_every=20)),
        run_key(DialConfig(method="nocomm", n_batches=40, test_every=20)),
    ]
    # the budget does not pick the curve: a 600-batch request shows the stored 40-batch one
    seeds = stored_seeds(data, DialConfig(n_agents=3, method="dial", n_batches=600), 1)
    assert [s["test_normalized_reward"] for s in seeds] == [[0.0, 0.5, 0.9]]
    assert len(stored_seeds(data, DialConfig(n_agents=3, method="dial"), 8)) == 2
    assert stored_seeds(data, DialConfig(n_agents=3, method="dial", sigma=0.5), 3) is None
    assert stored_seeds(data, DialConfig(n_agents=3, method="rial"), 3) is None


def test_curve_series_against_numpy(results_dir):
    data = load_results(results_dir, ("one.json",))
    runs = stored_seeds(data, DialConfig(), 3)
    s = curve_series("DIAL", runs, "#123456")
    x = np.array([[0.0, 0.5, 0.9], [0.1, 0.3, 0.7]])
    assert s["label"] == "DIAL (2 seeds)" and s["color"] == "#123456"
    assert s["x"] == [0, 20 * 32, 40 * 32]
    np.testing.assert_allclose(s["mean"], x.mean(0))
    np.testing.assert_allclose(s["lo"], x.mean(0) - x.std(0))
    np.testing.assert_allclose(s["hi"], x.mean(0) + x.std(0))
    assert curve_series("NoComm", runs[:1], None)["label"] == "NoComm (1 seed)"


def test_message_runs_lists_seed_zero_of_each_dial_run(results_dir):
    data = load_results(results_dir, ("one.json", "two.json"))
    runs = message_runs(data)
    assert list(runs) == ["precomputed: n = 3, σ = 2, sum, shared",
                          "precomputed: n = 4, σ = 2, sum, shared"]
    assert all(r["seed"] == 0 for r in runs.values())
