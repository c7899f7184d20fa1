"""The scenes' data: ids, questions, the PPO scenes' numbers (recomputed from the stored JSON with
numpy and scipy); every widget key a scene sets exists on its page (AppTest). The computed answers
of the other lessons: tests/test_scene_answers.py.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from tests.apptest_helpers import assert_clean, open_page
from toolbox.lessons import shared as SK
from toolbox.lessons.catalogue import LESSONS
from toolbox.lessons.ppo.variants import (
    DEFAULT_BUDGET,
    DEFAULT_SEEDS,
    DEFAULT_VARIANTS,
    VARIANT_IDS,
)
from toolbox.lessons.scenes import Question, Scene, check_scenes
from toolbox.lessons.scenes_index import SCENES, find_scene, lesson_scenes, neighbour, scene_ids

ROOT = Path(__file__).resolve().parent.parent
WIDGET_KINDS = (
    "slider",
    "select_slider",
    "selectbox",
    "radio",
    "toggle",
    "number_input",
    "multiselect",
    "text_input",
    "checkbox",
)


def widgets_by_key(at) -> dict:
    """Every keyed input widget the page drew, by key."""
    return {w.key: w for kind in WIDGET_KINDS for w in at.get(kind) if getattr(w, "key", None)}


def scene(slug: str, scene_id: str) -> Scene:
    return find_scene(slug, scene_id)


# ---- the data itself -------------------------------------------------------------------------


def test_every_lesson_has_at_least_three_scenes():
    assert set(SCENES) == {lesson.slug for lesson in LESSONS}
    for slug, scenes in SCENES.items():
        assert len(scenes) >= 3, slug
        for s in scenes:
            assert s.title and s.text and s.explanation and s.settings, (slug, s.id)
            assert s.question.answer in s.question.options
            assert s.question.options.index(s.question.answer) == s.question.correct


def test_questions_and_scenes_reject_bad_data():
    with pytest.raises(ValueError, match="not an option"):
        Question("?", ("a", "b"), 2)
    with pytest.raises(ValueError, match="two distinct"):
        Question("?", ("a", "a"), 0)
    q = Question("?", ("a", "b"), 1)
    with pytest.raises(ValueError, match="lower case"):
        Scene("Bad Id", "t", "x", q, "e")
    with pytest.raises(ValueError, match="hides the tab it opens"):
        Scene("s", "t", "x", q, "e", tab="a", hide_tabs=("a",))
    with pytest.raises(ValueError, match="repeat"):
        check_scenes((Scene("s", "t", "x", q, "e"), Scene("s", "t", "x", q, "e")))


def test_lookups_and_neighbours():
    ids = scene_ids("normalization")
    assert neighbour("normalization", None, 1) == ids[0]
    assert neighbour("normalization", ids[0], 1) == ids[1]
    assert neighbour("normalization", ids[0], -1) == ids[0]
    assert neighbour("normalization", ids[-1], 1) == ids[-1]
    with pytest.raises(ValueError, match="no scene 'nope'"):
        find_scene("normalization", "nope")
    with pytest.raises(ValueError, match="No scenes"):
        lesson_scenes("nope")


PPO_FILE = ROOT / "results" / "ppo_grid500k.json"


def _scores(name: str) -> np.ndarray:
    """A stored variant's final scores (last-20 returns, seeds 0-9), read from the JSON directly."""
    runs = json.loads(PPO_FILE.read_text())["runs"][name]
    assert [r["seed"] for r in runs] == list(range(10))
    return np.array([r["last20"] for r in runs])


def _welch(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
    """Difference of means, its 95% half-width and two-sided p with scipy's t at floor(Welch ν)."""
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    nu = math.floor((va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1)))
    se = math.sqrt(va + vb)
    d = a.mean() - b.mean()
    return d, stats.t.ppf(0.975, nu) * se, 2 * stats.t.sf(abs(d) / se, nu)


def _holm(names: list[str]) -> dict[str, float]:
    """Holm-adjusted p of every stored variant against "all on" (plain loop over sorted p)."""
    base = _scores("all on")
    p = {n: _welch(_scores(n), base)[2] for n in names if n != "all on"}
    out, running = {}, 0.0
    for rank, n in enumerate(sorted(p, key=p.get)):
        running = max(running, min(1.0, (len(p) - rank) * p[n]))
        out[n] = running
    return out


def _ci(x: np.ndarray) -> float:
    return stats.t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / math.sqrt(len(x))


def test_ppo_scenes_select_their_variants_and_hide_the_results():
    for s in lesson_scenes("ppo_details"):  # the default view: precomputed, no training
        assert {k: v for k, v in s.settings.items() if k != "ppo_highlight"} == {
            "ppo_variants": list(DEFAULT_VARIANTS),
            "ppo_seeds": DEFAULT_SEEDS,
            "ppo_budget": DEFAULT_BUDGET,
        }
        assert s.spoilers == (SK.SPOIL_RESULTS,) and callable(s.explanation)
        assert s.settings["ppo_highlight"] and "all on" not in s.settings["ppo_highlight"]
        assert set(s.settings["ppo_highlight"]) <= {VARIANT_IDS[v] for v in DEFAULT_VARIANTS}
    assert scene("ppo_details", "clip-on-cartpole").settings["ppo_highlight"] == [
        "no clipped surrogate"
    ]
    assert scene("ppo_details", "ten-seeds-noise").settings["ppo_highlight"] == ["no grad clipping"]
    first = scene("ppo_details", "which-details-matter")
    assert first.settings["ppo_highlight"] == list(first.question.options)


def _in_text(answer, **formats) -> None:
    for name, fmt in formats.items():
        assert format(answer.numbers[name], fmt) in answer.text, (name, answer.text)


def test_ppo_lowest_variant_is_computed_from_the_stored_runs():
    s = scene("ppo_details", "which-details-matter")
    a = s.answer()
    base = _scores("all on")
    means = {o: _scores(o).mean() for o in s.question.options}
    low = min(means, key=means.get)
    assert low == s.question.answer == "no minibatches"
    assert a.numbers["low"] == pytest.approx(means[low], rel=1e-9)
    assert a.numbers["base"] == pytest.approx(base.mean(), rel=1e-9)
    runs = json.loads(PPO_FILE.read_text())["runs"][low]
    assert a.numbers["reached"] == sum(
        math.isfinite(r["steps_to_475"] or math.nan) for r in runs) == 4
    assert (a.numbers["updates_low"], a.numbers["updates_base"]) == (4, 16)  # 4 epochs × 1 or 4
    _in_text(a, low=".1f", base=".1f")
    assert "only 4 of its 10 runs reach 475" in a.text
    holm = _holm([VARIANT_IDS[v] for v in DEFAULT_VARIANTS])
    assert f"adjusted p = {holm[low]:.2g}" in a.text and holm[low] <= 0.05
    for o in s.question.options[1:]:
        assert f"“{o}” ends at {means[o]:.1f}, not separated" in a.text and holm[o] > 0.05
    assert a.figure == "ppo_curves" and set(a.data["aggregates"]) == {"all on", *means}


def test_ppo_clip_and_seed_answers_are_computed_from_the_stored_runs():
    base = _scores("all on")
    a = scene("ppo_details", "clip-on-cartpole").answer()
    off = _scores("no clipped surrogate")
    d, h, _ = _welch(off, base)
    assert (a.numbers["difference"], a.numbers["half_width"]) == pytest.approx((d, h), rel=1e-6)
    assert (a.numbers["off_ci"], a.numbers["on_ci"]) == pytest.approx((_ci(off), _ci(base)))
    _in_text(a, off=".1f", off_ci=".1f", on=".1f", on_ci=".1f", difference="+.1f")
    assert d - h < 0 < d + h and "an interval that includes 0" in a.text
    runs = json.loads(PPO_FILE.read_text())["runs"]["all on"]
    clipfrac = [x for r in runs for x in r["debug"]["clipfrac"] if x is not None]
    assert a.numbers["clipfrac"] == pytest.approx(sum(clipfrac) / len(clipfrac), rel=1e-9)
    assert f"{a.numbers['clipfrac']:.3%}" in a.text and a.numbers["clipfrac"] < 0.01

    a = scene("ppo_details", "ten-seeds-noise").answer()
    off = _scores("no grad clipping")
    d, h, _ = _welch(off, base)
    assert (a.numbers["difference"], a.numbers["half_width"]) == pytest.approx((d, h), rel=1e-6)
    assert f"from {d - h:+.1f} to {d + h:+.1f}, an interval that includes 0" in a.text
    collapsed = sorted(off[off < base.min()])
    assert a.numbers["collapsed"] == len(collapsed) == 2
    assert ", ".join(f"{x:.0f}" for x in collapsed) in a.text
    _in_text(a, off=".1f", off_ci=".1f", difference="+.1f", half_width=".1f")
    assert a.figure == "ppo_differences" and a.data["rows"][0]["variant"] == "no grad clipping"


# ---- every key a scene sets is a widget of its page, and takes the scene's value ------------


SCENE_BAR_PAGES = ("normalization", "gumbel_softmax", "social_influence", "ppo_details", "dial")
"""Pages that draw the scene bar."""


def _check_widgets(at, s: Scene, where: str) -> None:
    assert_clean(at, where)
    found = widgets_by_key(at)
    for key, value in s.widget_values().items():
        assert key in found, f"scene {s.id}: no widget with key {key!r} on {where}"
        shown = found[key].value
        assert (list(shown) if isinstance(value, list) else shown) == value, (s.id, key, shown)


@pytest.mark.slow
@pytest.mark.parametrize(
    "slug, scene_id", [(slug, s.id) for slug in SCENE_BAR_PAGES for s in SCENES[slug]]
)
def test_scene_link_sets_widgets_of_the_page(slug, scene_id):
    at = open_page(f"app_pages/{slug}/page.py", query={"scene": scene_id})
    _check_widgets(at, find_scene(slug, scene_id), f"app_pages/{slug}/page.py?scene={scene_id}")
    assert at.query_params["scene"] == scene_id
