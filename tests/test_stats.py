"""toolbox.stats against SciPy and NumPy: the t distribution, confidence intervals, seed bands."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps

from toolbox import stats


@pytest.mark.parametrize("df", [1, 2, 3, 7, 12, 40, 101])
def test_t_distribution_equals_scipy(df):
    t = np.linspace(0.0, 10.0, 21)
    np.testing.assert_allclose(stats.t_cdf_two_sided(t, df), sps.t.cdf(t, df) - sps.t.cdf(-t, df),
                               atol=1e-12)
    for p in (0.6, 0.975, 0.999):
        assert stats.t_quantile(p, df) == pytest.approx(sps.t.ppf(p, df), rel=1e-9)


def test_bad_degrees_of_freedom_and_levels_are_refused():
    with pytest.raises(ValueError, match="whole number"):
        stats.t_cdf_two_sided(1.0, 0)
    with pytest.raises(ValueError, match="between 0.5 and 1"):
        stats.t_quantile(1.0, 5)


def test_mean_ci_equals_scipy_interval_and_ignores_nan():
    rng = np.random.default_rng(0)
    x = rng.normal(3.0, 2.0, size=(6, 4))
    x[0, 1] = np.nan  # a seed that has not reached this step yet
    mean, half = stats.mean_ci(x, axis=0, level=0.9)
    for j in range(4):
        col = x[:, j][np.isfinite(x[:, j])]
        lo, hi = sps.t.interval(0.9, len(col) - 1, loc=col.mean(), scale=sps.sem(col))
        assert mean[j] == pytest.approx(col.mean(), abs=1e-12)
        assert half[j] == pytest.approx((hi - lo) / 2, rel=1e-9)
    m1, h1 = stats.mean_ci([[2.0, 5.0]], axis=0)  # one seed: a mean, no interval
    assert m1.tolist() == [2.0, 5.0] and np.isnan(h1).all()


def test_seed_bands_cut_to_the_shortest_curve():
    curves = [[1.0, 2.0, 3.0, 9.0], [3.0, 2.0, 7.0], [2.0, 8.0, 2.0]]
    x = np.array([c[:3] for c in curves])
    std = stats.seed_band(curves, "std")
    np.testing.assert_allclose(std["mean"], x.mean(0))
    np.testing.assert_allclose(std["std"], np.sqrt(((x - x.mean(0)) ** 2).mean(0)))
    np.testing.assert_allclose(np.array(std["hi"]) - np.array(std["lo"]), 2 * np.array(std["std"]))
    rng_band = stats.seed_band(curves, "minmax")
    assert rng_band["lo"] == [1.0, 2.0, 2.0] and rng_band["hi"] == [3.0, 8.0, 7.0]
    ci = stats.seed_band(curves, "ci95")
    lo, hi = sps.t.interval(0.95, 2, loc=x.mean(0), scale=sps.sem(x, axis=0))
    np.testing.assert_allclose(ci["lo"], lo, rtol=1e-9)
    np.testing.assert_allclose(ci["hi"], hi, rtol=1e-9)
    assert stats.seed_band([[4.0, 5.0]], "std")["std"] == [0.0, 0.0]
    with pytest.raises(ValueError, match="No curves"):
        stats.seed_band([], "std")
    with pytest.raises(ValueError, match="band must be one of"):
        stats.seed_band(curves, "iqr")


def test_welch_equals_scipy_with_whole_degrees_of_freedom():
    """Against SciPy's Welch test (fractional ν): with ν rounded down the p-value is at least
    SciPy's and the interval at least as wide; with ν whole they agree to 1e-9."""
    rng = np.random.default_rng(3)
    for na, nb in [(10, 10), (5, 12), (3, 30)]:
        a, b = rng.normal(1.0, 2.0, na), rng.normal(0.0, 0.5, nb)
        w = stats.welch(a, b)
        ref = sps.ttest_ind(a, b, equal_var=False)
        assert w["difference"] == pytest.approx(a.mean() - b.mean(), rel=1e-12)
        assert w["t"] == pytest.approx(ref.statistic, rel=1e-12)
        assert w["df"] == np.floor(ref.df)
        p_whole = 2 * sps.t.sf(abs(ref.statistic), np.floor(ref.df))
        assert w["p_value"] == pytest.approx(p_whole, rel=1e-6, abs=1e-9)
        assert w["p_value"] >= ref.pvalue - 1e-12
        se = np.sqrt(a.var(ddof=1) / na + b.var(ddof=1) / nb)
        half = sps.t.ppf(0.975, np.floor(ref.df)) * se
        assert w["half_width"] == pytest.approx(half, rel=1e-6)
    with pytest.raises(ValueError, match="at least 2 seeds"):
        stats.welch([1.0], [1.0, 2.0])
    assert stats.welch([5.0, 5.0], [5.0, 5.0])["p_value"] == 1.0


def test_holm_equals_its_step_down_definition():
    """Holm's adjusted p-values against their definition, brute force over all orderings'
    prefixes."""
    rng = np.random.default_rng(0)
    for m in (1, 3, 7):
        p = rng.uniform(0, 0.2, m).tolist()
        order = sorted(range(m), key=lambda k: p[k])
        want = [0.0] * m
        for rank, i in enumerate(order):
            want[i] = max(min(1.0, (m - j) * p[order[j]]) for j in range(rank + 1))
        assert stats.holm(p) == pytest.approx(want, abs=1e-15)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        stats.holm([0.5, 1.5])
