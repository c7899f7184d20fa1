"""Learning-curve statistics against brute-force references (loops, scipy)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from toolbox.figures.ppo import VERDICT_COLORS, learning_curves, score_differences
from toolbox.lessons.ppo import analysis
from toolbox.lessons.ppo import details as D
from toolbox.lessons.ppo.details import CHECKLIST, DETAILS
from toolbox.lessons.ppo.variants import VARIANT_IDS, variant_config
from toolbox.ppo.config import PPOConfig
from toolbox.ppo.train import TrainResult


def _brute_running(steps, rets, grid, window=20):
    out = []
    for g in grid:
        ended = [r for s, r in zip(steps, rets) if s <= g]
        out.append(np.mean(ended[-window:]) if ended else np.nan)
    return np.array(out)


def test_running_return_matches_brute_force():
    rng = np.random.default_rng(0)
    steps = np.sort(rng.choice(10_000, 300, replace=False))
    rets = rng.uniform(0, 500, 300)
    grid = analysis.step_grid(10_000, 37)
    np.testing.assert_allclose(analysis.running_return(steps, rets, grid),
                               _brute_running(steps, rets, grid))
    assert math.isnan(analysis.running_return(steps, rets, [0])[0]) or steps[0] == 0


def test_steps_to_threshold_brute_force():
    rets = np.r_[np.full(30, 100.0), np.full(25, 500.0)]
    steps = np.arange(1, 56) * 10
    # the 20-episode mean first reaches 475 when at most one of the last 20 is 100: episode index 48
    expected = next(steps[i] for i in range(19, 55) if rets[i - 19 : i + 1].mean() >= 475)
    assert analysis.steps_to_threshold(steps, rets) == expected
    assert math.isnan(analysis.steps_to_threshold(steps[:30], rets[:30]))


def test_mean_ci_is_student_t():
    x = np.array([[1.0, 2.0], [3.0, 5.0], [2.0, 8.0]])
    m, h = analysis.mean_ci(x, axis=0)
    for j in range(2):
        lo, hi = stats.t.interval(0.95, 2, loc=x[:, j].mean(), scale=stats.sem(x[:, j]))
        assert abs(m[j] - x[:, j].mean()) < 1e-12 and abs(h[j] - (hi - lo) / 2) < 1e-9


def test_t_quantile_matches_scipy():
    for df in (1, 2, 3, 4, 5, 6, 9, 10, 19, 30, 99, 250):
        for p in (0.55, 0.8, 0.9, 0.95, 0.975, 0.995, 0.9995):
            assert abs(analysis.t_quantile(p, df) - stats.t.ppf(p, df)) <= 1e-9 * max(
                1.0, stats.t.ppf(p, df)
            )
        t = np.linspace(0, 8, 17)
        np.testing.assert_allclose(analysis.t_cdf_two_sided(t, df), 2 * stats.t.cdf(t, df) - 1,
                                   atol=1e-12)
    for bad_df in (0, 2.5, True):
        with pytest.raises(ValueError, match="degrees of freedom"):
            analysis.t_quantile(0.975, bad_df)
    with pytest.raises(ValueError, match="between 0.5 and 1"):
        analysis.t_quantile(0.3, 4)


def _fake(seed, level, config=PPOConfig(), iterations=20):
    steps = np.arange(1, 101) * 100
    rets = np.full(100, float(level))
    its = np.arange(1, iterations + 1) * 512
    dbg = {k: np.linspace(0, 1, iterations) for k in analysis.DEBUG_SHOWN}
    return TrainResult(config, seed, steps, rets, its, dbg)


def test_live_curves_stop_at_the_steps_trained():
    """A run 6 iterations (3,072 steps) into a 10,240-step budget has episodes ending up to step
    10,000 (the fake's schedule) but its curve must end at 3,072: no flat line to the end of the
    budget."""
    grid = analysis.step_grid(10_240, 10)  # 1,024, 2,048, ..., 10,240
    partial = analysis.run_summary(_fake(1, 100, PPOConfig(total_timesteps=10_240), iterations=6),
                                   grid)
    assert [v is not None for v in partial["curve"]] == [True] * 3 + [False] * 7
    assert all((v is None) == (g > 3072) for g, v in zip(grid, partial["debug"]["approx_kl"]))
    # finished (its last iteration ends at 10,240, the
    # budget): the whole grid, including its last point
    done = analysis.run_summary(_fake(1, 100, PPOConfig(total_timesteps=10_240), iterations=20),
                                grid)
    assert all(v == 100.0 for v in done["curve"])
    # a budget that is no multiple of the batch: finished at 9,728 < 10,000, still the whole grid
    short = analysis.run_summary(_fake(1, 100, PPOConfig(total_timesteps=10_000), iterations=19),
                                 analysis.step_grid(10_000, 10))
    assert short["curve"][-1] == 100.0


def test_summaries_aggregate_and_csv():
    grid = analysis.step_grid(10_000, 10)
    runs = analysis.summarize([_fake(1, 100), _fake(2, 300), _fake(1, 480), _fake(2, 500)],
                              ["a", "b"], [1, 2], grid)
    agg_a, agg_b = analysis.aggregate(runs["a"], grid), analysis.aggregate(runs["b"], grid)
    assert agg_a["last20_mean"] == 200 and agg_b["reached_475"] == 2 and agg_a["reached_475"] == 0
    assert abs(agg_a["last20_ci"] - stats.t.ppf(0.975, 1) * np.std([100, 300],
                                                                   ddof=1) / np.sqrt(2)) < 1e-9
    assert abs(agg_b["auc_mean"] - 490) < 1e-9
    # debug variables are read at the last iteration completed
    # by each grid step (10,000 -> iteration 19 of 20)
    assert abs(agg_a["debug"]["approx_kl"] - 18 / 19) < 1e-6
    csv = analysis.curves_csv(runs, grid)
    assert csv.splitlines()[0] == "variant,seed,step,return_last20" and len(
        csv.splitlines()) == 1 + 4 * 10
    fig = learning_curves({"a": agg_a, "b": agg_b})
    assert len(fig.data) == 6 and fig.layout.xaxis.title.text


def test_first_scaled_cartpole_reward_is_far_above_the_clip():
    """Gymnasium's statistics start at mean 0, var 1, count 1e-4; the first batch is 4 returns of
    1."""
    count, var = 1e-4, 1.0
    total = count + 4
    m2 = var * count + 0.0 * 4 + (1.0 - 0.0) ** 2 * count * 4 / total
    first = 1 / math.sqrt(m2 / total + 1e-8)
    rewards = D.scaled_cartpole_rewards(4, 3)
    assert abs(rewards[0] - first) < 1e-3 * first and abs(rewards[0] - 141.4) < 0.05
    assert rewards[0] > 10 > rewards[1]
    assert "141.4" in D.REWARD_CLIP_WHY and "141.4" in dict((r[0],
                                                             r[3]) for r in CHECKLIST)[
                                                                 "continuous 9"]
    with pytest.raises(ValueError, match="steps"):
        D.scaled_cartpole_rewards(4, 0)


def test_checklist_title_counts_come_from_the_rows():
    n_core = len([d for d in DETAILS if d.number.startswith("core")])
    aux = [r for r in CHECKLIST if r[0].startswith("auxiliary")]
    assert n_core + len(CHECKLIST) - len(aux) == 37
    assert D.other_details_title() == (
        f"The other {37 - n_core} of the 37 details (and {len(aux)} "
        "auxiliary ones): where they live and why not here"
    )
    assert D.other_details_title(CHECKLIST[:5]).startswith("The other 5 of the 37")


def test_value_clipping_text_has_its_caveat():
    d = next(d for d in DETAILS if d.field == "clip_vloss")
    assert (
        "return units" in d.sentence
        and "Engstrom et al. 2020" in d.sentence
        and "Andrychowicz et al. 2021" in d.sentence
    )


def test_controls_map_to_the_variants_and_defaults_to_no_change():
    budget = PPOConfig().total_timesteps
    defaults = {d.field: (D.default_number(d) if D.control_kind(d) == "number" else D.default_on(d))
                for d in DETAILS if D.control_kind(d) != "display"}
    assert D.config_changes(defaults) == {}
    for d in DETAILS:
        if D.control_kind(d) == "toggle":
            changed = PPOConfig().replace(**D.config_changes({**defaults,
                                                              d.field: not D.default_on(d)}))
            assert changed == variant_config(d.variant, budget), d.field
    assert D.config_changes({"num_minibatches": 8, "ent_coef": 0.0}) == {"num_minibatches": 8,
                                                                         "ent_coef": 0.0}
    assert D.config_changes({"num_envs": False}) == {"num_envs": 1, "num_steps": 512}
    assert D.default_number(
        next(d for d in DETAILS if d.field == "ent_coef")) == PPOConfig().ent_coef
    with pytest.raises(ValueError, match="not a detail"):
        D.config_changes({"gamma": 0.9})


def test_link_flips_round_trip():
    changes = D.config_changes({"norm_obs": True, "shared_network": False, "ent_coef": 0.02})
    text = D.url_flips(changes)
    assert text == "norm_obs,shared_network"
    flipped = D.parse_flips(text)
    toggles = {d.field: D.initial_toggle(d,
                                         flipped) for d in DETAILS if D.control_kind(d) == "toggle"}
    assert D.config_changes(toggles) == {"norm_obs": True, "shared_network": True}
    with pytest.raises(ValueError, match="unknown detail"):
        D.parse_flips("norm_obs,<b>x</b>")


def test_detail_catalogue_complete():
    assert len([d for d in DETAILS if d.number.startswith("core")]) == 13
    assert len(DETAILS) + len(CHECKLIST) >= 37
    for d in DETAILS:
        assert d.variant is None or d.variant in VARIANT_IDS
        assert d.field == "—" or hasattr(PPOConfig(), d.field)
        # a card shows CleanRL's line only where no reference lines exist: no string goes unshown
        assert bool(d.code) == (d.field == "—"), d.number


def _welch_reference(a, b):
    """Welch's interval with scipy's t quantile at the Welch–Satterthwaite ν rounded down."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    nu = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    return a.mean() - b.mean(), stats.t.ppf(0.975, math.floor(nu)) * math.sqrt(va + vb)


def test_difference_ci_is_welch():
    rng = np.random.default_rng(3)
    for na, nb in ((10, 10), (3, 7), (2, 2)):
        a, b = rng.normal(400, 50, na), rng.normal(470, 10, nb)
        d, h = analysis.difference_ci(a, b)
        rd, rh = _welch_reference(a, b)
        assert abs(d - rd) < 1e-9 and abs(h - rh) < 1e-8 * rh
    # the integer-ν interval is never narrower than scipy's own fractional-ν Welch interval
    a, b = rng.normal(0, 1, 10), rng.normal(0, 3, 10)
    lo, hi = stats.ttest_ind(a, b, equal_var=False).confidence_interval(0.95)
    assert analysis.difference_ci(a, b)[1] >= (hi - lo) / 2 - 1e-12
    assert analysis.difference_ci([500.0] * 4, [500.0] * 5) == (0.0, 0.0)
    with pytest.raises(ValueError, match="at least 2 seeds"):
        analysis.difference_ci([1.0], [1.0, 2.0])


def _runs(**scores):
    return {name: [{"seed": i,
                    "last20": float(v)} for i, v in enumerate(
                        vals)] for name, vals in scores.items()}


def test_compare_to_baseline_verdicts_and_sentence():
    runs = _runs(**{"all on": [490, 492, 491, 488], "no a": [200, 250, 300, 220],
                    "no b": [480, 500, 470, 499], "no c": [500, 500, 500, 500]})
    rows = analysis.compare_to_baseline(runs)
    assert [r["variant"] for r in rows] == ["no a", "no b", "no c"]
    assert [r["verdict"] for r in rows] == [analysis.LOWER, analysis.SAME, analysis.HIGHER]
    for r in rows:
        d, h = _welch_reference([s["last20"] for s in runs[r["variant"]]], [490, 492, 491, 488])
        assert abs(r["difference"] - d) < 1e-9 and abs(r["half_width"] - h) < 1e-8
    base = {"runs": 4, "last20_mean": 492.5, "last20_ci": 10.3}
    text = analysis.explain_comparison(rows, base, 500_000)
    lower, rest = text.split("Clearly higher:")
    higher, same = rest.split("Not separated")
    assert "“no a” (-248 ± " in lower and "no b" not in lower and "no c" not in lower
    assert "“no c” (+10 ± " in higher and "no b" not in higher
    assert "“no b”" in same and "we cannot tell" in same and "make no difference" not in text
    assert text.startswith(
        "After 500,000 steps, “all on” scores 492 ± 10 (mean of the last 20 episodes, 4 seeds;")
    assert (
        "the 3 p-values are corrected for multiple comparisons with the Holm–Bonferroni method"
        in text
    )
    # nothing separated -> says so
    only_same = analysis.compare_to_baseline(_runs(**{"all on": [490, 500], "no b": [495, 500]}))
    one = analysis.explain_comparison(only_same, base, 500_000)
    assert "“all on”: none." in one and "one comparison: no correction needed" in one
    with pytest.raises(ValueError, match="“all on”"):
        analysis.compare_to_baseline(_runs(a=[1, 2]))


def _holm_brute_force(p, alpha):
    """Holm's step-down test as he wrote it: reject the smallest p-values in turn while
    p_(i) ≤ α / (m − i + 1); return the set of rejected indices."""
    order = sorted(range(len(p)), key=lambda k: p[k])
    rejected = set()
    for rank, i in enumerate(order):
        if p[i] > alpha / (len(p) - rank):
            break
        rejected.add(i)
    return rejected


def test_holm_adjust_is_holms_step_down_test():
    assert analysis.holm_adjust([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06,
                                                                             0.02])
    assert analysis.holm_adjust([]) == [] and analysis.holm_adjust([0.2]) == [0.2]
    rng = np.random.default_rng(7)
    for _ in range(200):
        p = list(rng.uniform(0, 0.2, rng.integers(1, 13)) ** rng.uniform(1, 3))
        adjusted = analysis.holm_adjust(p)
        assert all(a >= q for a, q in zip(adjusted, p)) and max(adjusted) <= 1
        for alpha in (0.01, 0.05, 0.1):
            assert {i for i, a in enumerate(adjusted) if a <= alpha} == _holm_brute_force(p, alpha)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        analysis.holm_adjust([0.5, 1.5])


def test_welch_p_value_matches_scipy_and_the_interval():
    rng = np.random.default_rng(11)
    for na, nb in ((10, 10), (3, 7), (2, 2), (10, 4)):
        a, b = rng.normal(450, 40, na), rng.normal(480, 15, nb)
        va, vb = a.var(ddof=1) / na, b.var(ddof=1) / nb
        nu = (va + vb) ** 2 / (va**2 / (na - 1) + vb**2 / (nb - 1))
        t = abs(a.mean() - b.mean()) / math.sqrt(va + vb)
        p = analysis.welch_p_value(a, b)
        assert p == pytest.approx(2 * stats.t.sf(t, math.floor(nu)), rel=1e-9, abs=1e-14)
        # the rounded-down ν is conservative: never below scipy's fractional-ν Welch test
        assert p >= stats.ttest_ind(a, b, equal_var=False).pvalue - 1e-12
        d, h = analysis.difference_ci(a, b)
        assert (p < 0.05) == (abs(d) > h)
    assert analysis.welch_p_value([500.0] * 3, [500.0] * 4) == 1.0
    assert analysis.welch_p_value([500.0] * 3, [400.0] * 4) == 0.0


def test_the_correction_decides_the_verdict():
    """A difference whose own interval excludes zero is not separated when 10 other comparisons
    share the family-wise error: Holm multiplies its p-value by up to 11."""
    rng = np.random.default_rng(0)
    base = list(490 + rng.normal(0, 3, 10))
    runs = {"all on": base, "small": [x - 2.5 for x in base[::-1]]}  # p ≈ 0.028
    runs.update({f"same {k}": list(490 + rng.normal(0, 3, 10)) for k in range(10)})
    rows = analysis.compare_to_baseline(_runs(**runs))
    small = rows[0]
    assert small["p_value"] < 0.05 < small["p_adjusted"] and small["verdict"] == analysis.SAME
    assert small["half_width"] < abs(small["difference"])  # its own 95% interval excludes zero
    alone = analysis.compare_to_baseline(_runs(**{"all on": base, "small": runs["small"]}))
    assert alone[0]["verdict"] == analysis.LOWER and alone[0]["p_adjusted"] == alone[0]["p_value"]
    text = analysis.explain_comparison(rows, {"runs": 10, "last20_mean": 490.0, "last20_ci": 2.0},
                                       100_000)
    assert "Off zero by its own 95% interval but not after the correction: “small” (" in text


def test_score_differences_figure():
    rows = analysis.compare_to_baseline(_runs(**{"all on": [490, 495, 500], "no a": [200, 250, 300],
                                                 "no b": [480, 500, 470]}))
    fig = score_differences(rows)
    assert [t.name for t in fig.data] == [analysis.LOWER, analysis.SAME]
    assert fig.data[0].marker.color == VERDICT_COLORS[analysis.LOWER] and list(fig.data[0].y) == [
        "no a"]
    assert abs(fig.data[0].error_x.array[0] - rows[0][
        "half_width"]) < 1e-12 and fig.layout.xaxis.title.text


def test_time_left_and_progress_text():
    assert analysis.time_left(0.25, 30.0) == 90.0 and analysis.time_left(1.0, 12.0) == 0.0
    assert math.isnan(analysis.time_left(0.0, 5.0))
    assert analysis.progress_text(0.4, 80.0) == "40% trained in 1 min 20 s · about 2 min 00 s left"
    assert analysis.progress_text(0.5, 10.0) == "50% trained in 10 s · about 10 s left"
    assert analysis.progress_text(0.0, 1.0) == "0% trained in 1 s · estimating the time left…"
    for bad in ((1.5, 1.0), (-0.1, 1.0), (0.5, -1.0), ("half", 1.0)):
        with pytest.raises(ValueError, match="fraction in"):
            analysis.time_left(*bad)


def test_score_rows():
    grid = analysis.step_grid(10_000, 10)
    runs = {"a": [analysis.run_summary(_fake(1, 100), grid), analysis.run_summary(_fake(2, 300),
                                                                                  grid)],
            "b": [analysis.run_summary(_fake(1, 480), grid)]}
    rows = analysis.score_rows({n: analysis.aggregate(s, grid) for n, s in runs.items()})
    half = stats.t.ppf(0.975, 1) * np.std([100, 300], ddof=1) / np.sqrt(2)
    assert rows[0]["final score: last-20 return (mean ± 95% CI)"] == f"200.0 ± {half:.1f}"
    assert rows[1]["final score: last-20 return (mean ± 95% CI)"] == "480.0" and rows[1][
        "steps to 475"] == "2,000 (1/1 runs)"
    assert rows[0]["steps to 475"] == "—"


def test_live_payload_carries_the_time_left_and_curves_that_stop():
    grid = analysis.step_grid(10_240, 10)
    partial = [_fake(1, 100, PPOConfig(total_timesteps=10_240), iterations=6)]
    p = analysis.live_payload(partial, ["all on"], [1], grid, 0.3, 30.0)
    assert p["progress"] == "30% trained in 30 s · about 1 min 10 s left"
    assert p["grid"] == grid.tolist() and [v is None for v in p["runs"]["all on"][0]["curve"]] == [
        False] * 3 + [True] * 7
