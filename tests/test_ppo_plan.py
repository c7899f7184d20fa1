"""What a PPO request shows from the store and trains (toolbox.lessons.ppo.plan), the controls'
errors, the highlighted curve chart and the script's advice."""

from __future__ import annotations

import json

import pytest

from toolbox.figures.ppo import FADED, HIGHLIGHT_COLORS, learning_curves
from toolbox.lessons.ppo import analysis, precomputed
from toolbox.lessons.ppo import details as D
from toolbox.lessons.ppo import plan as P
from toolbox.lessons.ppo.script import expectations, load_check, script_advice
from toolbox.lessons.ppo.variants import DEFAULT_VARIANTS, VARIANT_IDS, variant_config
from toolbox.ppo.config import PPOConfig
from toolbox.serving.caps import MAX_RUNS


@pytest.fixture(scope="module")
def grid():
    return precomputed.load()


def test_stored_variants_are_looked_up_and_only_the_others_are_trained(grid):
    configs = [variant_config(v, 500_000) for v in DEFAULT_VARIANTS] + [
        PPOConfig().replace(norm_obs=True)
    ]
    names = [VARIANT_IDS[v] for v in DEFAULT_VARIANTS] + ["your toggles"]
    plan = P.plan_request(grid, configs, names, list(range(10)))
    assert list(plan.stored) == names[:12] and plan.train_names == ["your toggles"]
    assert plan.runs_to_train == 10 and plan.cap_problem() is None
    # the stored part is what the all-or-nothing lookup gives for the stored variants alone
    whole = precomputed.lookup(grid, configs[:12], names[:12], list(range(10)))
    assert plan.stored == whole["runs"]
    # a seed the store lacks, another budget: nothing stored
    assert not P.plan_request(grid, configs[:2], names[:2], [0, 10]).stored
    assert not P.plan_request(grid, [variant_config("all", 100_000)], ["all on"], [0]).stored
    assert not P.plan_request(None, configs[:1], names[:1], [0]).stored


def test_plan_rejects_what_cannot_be_trained():
    with pytest.raises(ValueError, match="at least one variant"):
        P.plan_request(None, [], [], [0])
    with pytest.raises(ValueError, match="one name of its own"):
        P.plan_request(None, [PPOConfig(), PPOConfig()], ["a", "a"], [0])
    with pytest.raises(ValueError, match="distinct whole numbers"):
        P.plan_request(None, [PPOConfig()], ["a"], [1, 1])
    with pytest.raises(ValueError, match="does not divide"):
        P.plan_request(None, [PPOConfig(num_minibatches=1000)], ["a"], [0])


def test_the_cap_problem_and_its_fixes():
    configs = [variant_config(v, 100_000) for v in DEFAULT_VARIANTS] + [
        PPOConfig(total_timesteps=100_000, norm_obs=True)
    ]
    plan = P.plan_request(None, configs, [f"v{i}" for i in range(13)], list(range(10)))
    assert plan.cap_problem() == (
        "13 variant(s) to train × 10 seed(s) = 130 runs is over this server's cap of "
        "120 runs per training."
    )
    assert P.cap_fixes(13, 10) == {"seeds": 9, "drop": 1}
    for variants in range(
        1, 19
    ):  # brute force: the most seeds that fit, the fewest variants to drop
        for seeds in range(1, 11):
            fix = P.cap_fixes(variants, seeds)
            if variants * seeds <= MAX_RUNS:
                assert fix == {"seeds": seeds, "drop": 0}
                continue
            assert fix["seeds"] == max(s for s in range(1, 11) if variants * s <= MAX_RUNS)
            assert fix["drop"] == min(
                d for d in range(variants + 1) if (variants - d) * seeds <= MAX_RUNS
            )
    with pytest.raises(ValueError, match="seeds must be a whole number"):
        P.cap_fixes(3, 0)


def test_merged_payload_keeps_the_request_order(grid):
    configs = [
        variant_config("all", 500_000),
        PPOConfig().replace(norm_obs=True),
        variant_config("nogae", 500_000),
    ]
    plan = P.plan_request(grid, configs, ["all on", "your toggles", "no GAE (MC returns)"], [0, 1])
    g = analysis.step_grid(500_000)
    assert g.tolist() == grid["grid"]
    before = P.merged_payload(plan, g, 500_000)
    assert list(before["runs"]) == ["all on", "no GAE (MC returns)"] and "progress" not in before
    fake = [{"seed": 0, "last20": 1.0, "curve": [None] * len(g)}]
    live = P.merged_payload(plan, g, 500_000, {"runs": {"your toggles": fake}, "progress": "50%"})
    assert (
        list(live["runs"]) == ["all on", "your toggles", "no GAE (MC returns)"]
        and live["progress"] == "50%"
    )
    empty = P.plan_request(None, configs[1:2], ["your toggles"], [0])
    assert P.merged_payload(empty, g, 500_000) is None


def test_field_errors_name_the_number_that_cannot_train():
    ok = {"num_minibatches": 4, "ent_coef": 0.01, "norm_adv": True}
    assert D.field_errors(ok) == {}
    bad = D.field_errors({**ok, "num_minibatches": 1000})
    assert (
        list(bad) == ["num_minibatches"]
        and "num_minibatches = 1000 does not divide" in bad["num_minibatches"]
    )
    # 512 minibatches of 1: wrong only while advantages are normalized (a toggle two cards below)
    assert (
        "at least 2 transitions"
        in D.field_errors({**ok, "num_minibatches": 512})["num_minibatches"]
    )
    assert D.field_errors({**ok, "num_minibatches": 512, "norm_adv": False}) == {}
    assert list(D.field_errors({**ok, "ent_coef": -0.5})) == ["ent_coef"]


def test_default_highlight_and_the_highlighted_chart(grid):
    rows = analysis.compare_to_baseline(grid["runs"])
    names = list(grid["runs"])
    assert analysis.default_highlight(names, rows) == ["no minibatches"]
    assert analysis.default_highlight(names + ["your toggles"], rows) == [
        "no minibatches",
        "your toggles",
    ]
    assert analysis.default_highlight(["all on", "a", "b"], None) == ["a", "b"]
    assert analysis.default_highlight(names, None) == []
    aggs = {n: analysis.aggregate(s, grid["grid"]) for n, s in grid["runs"].items()}
    fig = learning_curves(aggs, highlight=["no grad clipping", "no minibatches"])
    means = {
        t.name: t for t in fig.data if t.name and "CI" not in t.name and t.name != "other variants"
    }
    assert set(means) == {"all on (n=10)", "no grad clipping (n=10)", "no minibatches (n=10)"}
    assert means["all on (n=10)"].line.color == "#000000"
    assert [
        means[f"{n} (n=10)"].line.color for n in ("no grad clipping", "no minibatches")
    ] == list(HIGHLIGHT_COLORS[:2])
    faded = [t for t in fig.data if t.name == "other variants"]
    assert len(faded) == 9 and all(t.line.color == FADED for t in faded)
    assert sum(bool(t.showlegend) for t in faded) == 1
    assert fig.data.index(faded[-1]) < fig.data.index(
        means["all on (n=10)"]
    )  # drawn under the others
    assert len({t.line.color for t in learning_curves(aggs).data if "CI" not in t.name}) == 12


def test_script_advice_numbers_come_from_the_script_runs(tmp_path):
    check = load_check()
    assert check is not None, "results/ppo_script_check.json: run benchmarks/ppo_script_check.py"
    e = expectations(check)
    text = script_advice(PPOConfig(), "all on", check)
    full, short, quick = e["run500k"], e["run50k"], e["run100k_noanneal"]
    assert all(s is not None for s in full["first_475"]) and max(full["first_475"]) < 400_000
    assert (
        max(short["final"]) < 300 < max(quick["final"])
    )  # 50k with annealing does not learn; 100k without does
    assert (
        f"`--total-timesteps 50000` it ends at {min(short['final']):.0f}–{max(short['final']):.0f}"
        in text
    )
    assert (
        f"`--total-timesteps 100000 --anneal-lr false`, ending at {min(quick['final']):.0f}–"
        in text
    )
    assert "python ppo_all_on.py` trains 500,000 steps" in text
    assert "What to expect" not in script_advice(PPOConfig(), "all on", None)
    # expectations against the raw curves, written out
    for run in check["runs"]:
        hits = [s for s, r in zip(run["steps"], run["mean_last20"]) if r >= 475]
        case = e[run["case"]]
        assert case["first_475"][case["seeds"].index(run["seed"])] == (hits[0] if hits else None)
    (tmp_path / "c.json").write_text(json.dumps(check))
    assert load_check(tmp_path / "c.json") == check and load_check(tmp_path / "none.json") is None
