"""The scenes' data: ids, questions, the PPO scenes' numbers; every widget key a scene sets exists on
its page (AppTest). The computed answers of the other lessons: tests/test_scene_answers.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.apptest_helpers import assert_clean, open_page
from toolbox.lessons.catalogue import LESSONS
from toolbox.lessons.scenes import Question, Scene, check_scenes
from toolbox.lessons.scenes_index import SCENES, find_scene, lesson_scenes, neighbour, scene_ids
from toolbox.ppo import analysis
from toolbox.ppo.config import DEFAULT_BUDGET, DEFAULT_SEEDS, DEFAULT_VARIANTS

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


def test_ppo_scenes_match_the_precomputed_runs():
    from toolbox.ppo import precomputed

    payload = precomputed.load()
    aggs = {name: analysis.aggregate(s, payload["grid"]) for name, s in payload["runs"].items()}
    diff = {r["variant"]: r for r in analysis.compare_to_baseline(payload["runs"])}
    for s in lesson_scenes("ppo_details"):  # the default view: precomputed, no training
        assert s.settings == {
            "ppo_variants": list(DEFAULT_VARIANTS),
            "ppo_seeds": DEFAULT_SEEDS,
            "ppo_budget": DEFAULT_BUDGET,
        }
    assert payload["budget"] == 500_000 and len(payload["seeds"]) == 10
    last = {n: f"{a['last20_mean']:.1f}" for n, a in aggs.items()}
    ci = {n: f"{a['last20_ci']:.1f}" for n, a in aggs.items()}
    options = scene("ppo_details", "which-details-matter").question.options
    assert min(options, key=lambda n: aggs[n]["last20_mean"]) == "no minibatches"
    assert min(aggs, key=lambda n: aggs[n]["last20_mean"]) == "no minibatches"
    assert (
        last["no minibatches"],
        last["all on"],
        last["no GAE (MC returns)"],
        last["no LR annealing"],
    ) == ("379.2", "492.7", "483.7", "485.0")
    assert aggs["no minibatches"]["reached_475"] == 4
    assert (
        diff["no GAE (MC returns)"]["verdict"]
        == diff["no LR annealing"]["verdict"]
        == "not separated"
    )
    clip = diff["no clipped surrogate"]
    assert (last["no clipped surrogate"], ci["no clipped surrogate"], ci["all on"]) == (
        "492.7",
        "10.6",
        "6.9",
    )
    assert (f"{clip['difference']:+.1f}", f"{clip['half_width']:.1f}", clip["verdict"]) == (
        "+0.0",
        "11.9",
        "not separated",
    )
    grad = diff["no grad clipping"]
    assert (last["no grad clipping"], ci["no grad clipping"]) == ("442.1", "85.5")
    assert (f"{grad['difference']:.1f}", f"{grad['half_width']:.1f}") == ("-50.5", "85.8")
    assert grad["difference"] - grad["half_width"] < 0 < grad["difference"] + grad["half_width"]


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


@pytest.mark.parametrize(
    "slug, scene_id", [(slug, s.id) for slug in SCENE_BAR_PAGES for s in SCENES[slug]]
)
def test_scene_link_sets_widgets_of_the_page(slug, scene_id):
    at = open_page(f"pages/{slug}.py", query={"scene": scene_id})
    _check_widgets(at, find_scene(slug, scene_id), f"pages/{slug}.py?scene={scene_id}")
    assert at.query_params["scene"] == scene_id
