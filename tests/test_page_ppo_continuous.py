"""The continuous-control PPO page under AppTest: the stored grid, a link's detail, a live
request."""

from __future__ import annotations

import pytest

from tests.apptest_helpers import assert_clean, open_page, texts, warnings
from toolbox.lessons import shared as SK
from toolbox.lessons.ppo_continuous import data as C
from toolbox.serving import RUNNER

pytestmark = pytest.mark.slow  # the page under AppTest; the fast run keeps test_pages.py

PAGE = "app_pages/ppo_continuous/page.py"


def test_default_view_shows_the_stored_finding_and_its_figures():
    at = open_page(PAGE)
    grid = C.load_grid()
    aggs = C.aggregates(grid["runs"], grid["budget"])
    assert C.finding(aggs, C.comparison(aggs), grid["budget"]) in texts(at)
    assert len(at.get("plotly_chart")) >= 2  # the differences and one detail's curves
    assert at.selectbox(key=SK.PC_DETAIL).value == "norm_obs"
    assert len(at.latex) >= 1


def test_a_links_detail_is_shown_and_a_bad_one_is_named():
    at = open_page(PAGE, query={"detail": "clip_action"})
    assert at.selectbox(key=SK.PC_DETAIL).value == "clip_action"
    at = open_page(PAGE, query={"detail": "<b>bogus</b>"})
    assert any("bogus" in w for w in warnings(at))
    assert at.selectbox(key=SK.PC_DETAIL).value == "norm_obs"
    assert_clean(at, "bad detail")


def test_the_chosen_variants_script_downloads_with_its_note():
    """The "Run it yourself" download: "all on" by default, the chosen detail off at a click;
    the note under it names the file and the page's budget."""
    at = open_page(PAGE, query={"detail": "clip_obs"})
    assert len(at.get("download_button")) >= 1
    assert "ppo_continuous_all_on.py" in texts(at) and "102,400 steps" in texts(at)
    at.radio(key="pc_script_variant").set_value(True).run()
    assert "ppo_continuous_clip_obs_off_no_observation_clip.py" in texts(at)
    assert len(at.get("download_button")) >= 1
    assert_clean(at, "script download")


@pytest.mark.slow
def test_a_live_comparison_trains_once_and_is_shown():
    at = open_page(PAGE)
    at.slider(key=SK.PC_SEEDS).set_value(1)
    at.select_slider(key=SK.PC_BUDGET).set_value(C.LIVE_BUDGETS[0]).run()
    at.button(key="pc_train").click().run(timeout=180)
    job = RUNNER.get(C.live_request("norm_obs", 1, C.LIVE_BUDGETS[0])[3])
    assert job is not None and job.kind == "ppo_continuous" and job.status == "done"
    assert_clean(at, "live training")
    assert len(job.result) == 2 and all(len(runs) == 1 for runs in job.result)
    assert job.result[0][0]["steps_trained"] == C.LIVE_BUDGETS[0]
