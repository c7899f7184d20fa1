"""Stored PPO runs: the file's shape, which requests it answers, and that retraining a stored start
gives the stored episodes exactly (one torch thread, as the file was made)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from toolbox.lessons.ppo import analysis, precomputed
from toolbox.lessons.ppo.variants import (
    DEFAULT_BUDGET,
    DEFAULT_SEEDS,
    DEFAULT_VARIANTS,
    VARIANT_IDS,
    variant_config,
)
from toolbox.ppo.config import PPOConfig

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> dict:
    """The precompute script end to end at a 2-iteration budget: 2 variants × seeds 0–2."""
    out = tmp_path_factory.mktemp("ppo") / "tiny.json"
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "ppo_precompute.py"), "--budget",
                    "1024", "--seeds", "0-2", "--variants", "all,nogae", "--out", str(out)],
                   check=True, capture_output=True, cwd=ROOT)
    return precomputed.load(out)


@pytest.fixture(scope="module")
def grid() -> dict:
    return precomputed.load()


@pytest.mark.slow
def test_the_script_records_how_it_was_made(tiny):
    meta = tiny["meta"]
    assert meta["threads"] == 1 and meta["torch"] and len(meta["commit"]) == 40 and meta[
        "wall_seconds"] > 0
    assert (
        tiny["budget"] == 1024
        and tiny["seeds"] == [0, 1, 2]
        and list(tiny["runs"]) == ["all on", "no GAE (MC returns)"]
    )
    assert [r["seed"] for r in tiny["runs"]["all on"]] == [0, 1, 2]


@pytest.mark.slow
def test_lookup_maps_requests_to_stored_runs(tiny):
    all_on, nogae = variant_config("all", 1024), variant_config("nogae", 1024)
    got = precomputed.lookup(tiny, [nogae, all_on], ["no GAE (MC returns)", "all on"], [2, 0])
    assert list(got["runs"]) == ["no GAE (MC returns)", "all on"] and got["grid"] == tiny["grid"]
    assert got["runs"]["all on"] == [tiny["runs"]["all on"][2], tiny["runs"]["all on"][0]]
    # a custom config equal to a stored one is that run, under the request's name
    same = PPOConfig(total_timesteps=1024).replace(gae=False)
    assert precomputed.lookup(tiny, [same], ["your toggles"], [1])["runs"]["your toggles"] == [
        tiny["runs"]["no GAE (MC returns)"][1]
    ]
    # anything not stored: None (train it live)
    assert precomputed.lookup(tiny, [all_on], ["all on"], [0, 3]) is None
    assert precomputed.lookup(tiny, [all_on, variant_config("noclip", 1024)], ["a", "b"],
                              [0]) is None
    assert precomputed.lookup(tiny, [variant_config("all", 2048)], ["all on"], [0]) is None
    assert precomputed.lookup(tiny, [all_on.replace(ent_coef=0.02)], ["x"], [0]) is None
    assert precomputed.lookup(None, [all_on], ["all on"], [0]) is None


@pytest.mark.slow
def test_stored_runs_are_the_live_summary_plus_their_exact_start(tiny):
    """A fresh training of the same pairs summarises to the same record, number for number."""
    from toolbox.ppo.train import train

    res = train([variant_config("all", 1024)], [0, 1, 2], device="cpu")
    for r, stored in zip(res, tiny["runs"]["all on"]):
        assert json.loads(json.dumps(precomputed.run_record(r, tiny["grid"]))) == stored


def test_default_file_is_the_500k_grid(grid):
    assert grid["variants"] == list(DEFAULT_VARIANTS) and len(grid["variants"]) == 12
    assert grid["seeds"] == list(range(DEFAULT_SEEDS)) == list(range(10)) and grid[
        "budget"] == DEFAULT_BUDGET == 500_000
    assert grid["grid"] == analysis.step_grid(500_000).tolist() and grid["grid"][:2] == [10_000,
                                                                                         20_000]
    assert grid["meta"]["threads"] == 1 and grid["meta"]["prefix_steps"] == precomputed.PREFIX_STEPS
    for vid in DEFAULT_VARIANTS:
        recs = grid["runs"][VARIANT_IDS[vid]]
        assert [r["seed"] for r in recs] == list(range(10))
        for r in recs:
            assert len(r["curve"]) == 50 and None not in r["curve"] and 0 < r["last20"] <= 500
            assert r["start"]["steps"] and max(r["start"]["steps"]) <= precomputed.PREFIX_STEPS
    # every default request (any seed count, any subset of the grid) is answered from the file
    configs = [variant_config(v, 500_000) for v in DEFAULT_VARIANTS]
    assert precomputed.lookup(grid, configs, [VARIANT_IDS[v] for v in DEFAULT_VARIANTS],
                              list(range(10))) is not None
    assert precomputed.lookup(grid, configs[:2], ["a", "b"], [0, 1, 2]) is not None


@pytest.mark.parametrize("vid,seed", [("all", 0), ("novec", 7), ("noadvnorm", 4)])
def test_retraining_a_stored_start_gives_the_stored_episodes_exactly(grid, vid, seed):
    """3 iterations (1,536 steps) of a stored 500k run, trained alone, end the same episodes at the
    same steps with the same returns as the stored run (trained inside the 120-run grid)."""
    config = variant_config(vid, grid["budget"])
    res = precomputed.train_start(config, seed, 3)
    upto = 3 * config.batch_size
    steps, rets = precomputed.stored_start(grid["runs"][VARIANT_IDS[vid]][seed], upto)
    keep = np.asarray(res.episode_steps) <= upto
    assert len(steps) >= 20
    np.testing.assert_array_equal(np.asarray(res.episode_steps)[keep], steps)
    np.testing.assert_array_equal(np.asarray(res.episode_returns)[keep], rets)


@pytest.mark.slow
def test_train_start_rejects_bad_iterations_and_describe_reads_the_meta(tiny):
    with pytest.raises(ValueError, match="iterations must be a whole number from 1 to 2"):
        precomputed.train_start(variant_config("all", 1024), 0, 3)
    text = precomputed.describe(tiny, 2)
    assert text.startswith(
        "Precomputed: 2 of the 6 stored runs (2 variants × 3 seeds × 1,024 steps)")
    assert f"torch {tiny['meta']['torch']}" in text and tiny["meta"]["commit"][
        :7] in text and "1 CPU thread(s)" in text


def test_the_default_explanation_follows_from_the_stored_scores(grid):
    """The default view's sentence: every variant's verdict equals an independent Welch test
    (scipy's t distribution at the rounded-down ν) on the stored final scores, corrected by Holm's
    step-down test written out here, and the sentence lists it in its group."""
    from scipy import stats

    base = np.array([r["last20"] for r in grid["runs"]["all on"]])
    rows = analysis.compare_to_baseline(grid["runs"])
    agg = analysis.aggregate(grid["runs"]["all on"], grid["grid"])
    text = analysis.explain_comparison(rows, agg, grid["budget"])
    lower, rest = text.split("Clearly higher:")
    higher, rest = rest.split("Off zero by its own 95% interval")
    alone, same = rest.split("Not separated")
    ref = {}
    for r in rows:
        x = np.array([s["last20"] for s in grid["runs"][r["variant"]]])
        va, vb = x.var(ddof=1) / len(x), base.var(ddof=1) / len(base)
        nu = (va + vb) ** 2 / (va**2 / (len(x) - 1) + vb**2 / (len(base) - 1))
        d, h = x.mean() - base.mean(), stats.t.ppf(0.975, int(nu)) * np.sqrt(va + vb)
        ref[r["variant"]] = (d, h, 2 * stats.t.sf(abs(d) / np.sqrt(va + vb), int(nu)))
    m, rejected = len(rows), set()
    # Holm: step down from the smallest p
    for rank, name in enumerate(sorted(ref, key=lambda n: ref[n][2])):
        if ref[name][2] > 0.05 / (m - rank):
            break
        rejected.add(name)
    for r in rows:
        d, h, p = ref[r["variant"]]
        assert r["p_value"] == pytest.approx(p, rel=1e-9, abs=1e-12)
        expected = (analysis.LOWER if d < 0 else analysis.HIGHER) if r[
            "variant"] in rejected else analysis.SAME
        assert r["verdict"] == expected, r["variant"]
        part = {analysis.LOWER: lower, analysis.HIGHER: higher}.get(expected,
                                                                    alone if p < 0.05 else same)
        assert f"“{r['variant']}” ({d:+.0f} ± {h:.0f}" in part, r["variant"]
    assert f"“all on” scores {base.mean():.0f} ± " in text and "10 seeds" in text
    assert (
        "the 11 p-values are corrected for multiple comparisons with the Holm–Bonferroni method"
        in text
    )
    # issue 21: Adam ε = 1e-8 (p = 0.013) does not survive the correction; no grad clipping and no
    # value clipping (two collapsed seeds each) are “cannot tell”, not “no difference”
    assert "“Adam ε = 1e-8” (-13 ± 10, p = 0.013, adjusted p = 0.131)" in alone
    assert "“no grad clipping” (-51 ± 86)" in same and "“no value clipping” (-38 ± 57)" in same
    assert "we cannot tell whether these details change the final score" in same
    assert "make no difference" not in text
