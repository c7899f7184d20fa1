"""The PPO details page under AppTest: precomputed default view, URL settings, bad inputs, a live
training."""

from __future__ import annotations

import pytest

from tests.apptest_helpers import assert_clean, errors, open_page, shown, texts, warnings
from toolbox.lessons.ppo import analysis, precomputed
from toolbox.lessons.ppo.details import DETAILS, card_code, other_details_title
from toolbox.lessons.ppo.variants import DEFAULT_VARIANTS, VARIANT_IDS

pytestmark = pytest.mark.slow  # the page under AppTest; the fast run keeps test_pages.py

PAGE = "app_pages/ppo_details/page.py"


def test_default_view_is_the_precomputed_500k_grid_with_its_explanation():
    at = open_page(PAGE)
    payload = precomputed.load()
    assert (
        "Precomputed: 120 of the 120 stored runs (12 variants × 10 seeds × 500,000 steps)"
        in texts(at)
    )
    assert at.button(key="ppo_train").disabled  # nothing to train: the stored runs are shown
    assert len(at.get("plotly_chart")) >= 2  # curves and the differences to “all on”
    frames = at.dataframe
    assert len(frames) >= 3  # checklist, final scores, debug variables
    scores = frames[1].value
    assert list(scores["variant"]) == [VARIANT_IDS[v] for v in DEFAULT_VARIANTS]
    assert "steps to 475" in scores.columns
    grid = payload["grid"]
    aggs = {n: analysis.aggregate(s, grid) for n, s in payload["runs"].items()}
    assert list(scores.iloc[:, 1]) == [
        r["final score: last-20 return (mean ± 95% CI)"] for r in analysis.score_rows(aggs)
    ]
    rows = analysis.compare_to_baseline(payload["runs"])
    assert [i.value for i in at.info] == [analysis.explain_comparison(rows, aggs["all on"],
                                                                      500_000)]
    assert len(at.latex) >= 16 and len(at.toggle) >= 14
    assert at.query_params["budget"] == ["500000"] or at.query_params["budget"] == "500000"


def test_a_stored_subset_is_shown_without_training():
    at = open_page(PAGE, query={"v": "all,nogae", "seeds": "3", "budget": "500000"})
    assert "2 variant(s) × 3 seed(s) = 6 runs of 500,000 steps, all precomputed" in texts(at)
    assert "Precomputed: 6 of the 120 stored runs" in texts(at)
    assert at.button(key="ppo_train").disabled
    assert list(at.dataframe[1].value["variant"]) == ["all on", "no GAE (MC returns)"]
    stored = precomputed.load()["runs"]
    sub = {n: stored[n][:3] for n in ("all on", "no GAE (MC returns)")}
    agg = analysis.aggregate(sub["all on"], precomputed.load()["grid"])
    assert [i.value for i in at.info] == [
        analysis.explain_comparison(analysis.compare_to_baseline(sub), agg, 500_000)]
    # a variant outside the grid is trained live; the stored one is still shown from the store
    live = open_page(PAGE, query={"v": "all,shared", "seeds": "3", "budget": "500000"})
    assert not live.button(key="ppo_train").disabled
    assert "1 variant(s) precomputed (shown below), 3 run(s) to train" in texts(live)
    assert "Precomputed: 3 of the 120 stored runs" in texts(live)
    assert list(live.dataframe[1].value["variant"]) == ["all on"]
    assert "Press Train to run “shared network”" in live.info[0].value


def test_cards_show_the_reference_lines_and_the_script_downloads():
    at = open_page(PAGE)
    shown = [c.value for c in at.code]
    for d in DETAILS:
        assert card_code(d) in shown, d.field
    assert other_details_title() in [e.label for e in at.expander]
    assert at.selectbox(key="ppo_script_variant").value == "all on"
    assert len(at.get("download_button")) >= 1
    at.selectbox(key="ppo_script_variant").set_value("no GAE (MC returns)").run()
    assert_clean(at, "script variant")


def test_url_settings_are_read_and_bad_ones_ignored():
    at = open_page(PAGE, query={"v": "all,nogae", "seeds": "2", "budget": "25000"})
    assert at.multiselect(key="ppo_variants").value == ["all", "nogae"]
    assert at.slider(key="ppo_seeds").value == 2 and at.select_slider(
        key="ppo_budget").value == 25000
    bad = open_page(PAGE, query={"v": "bogus", "seeds": "eleven", "budget": "7"})
    assert len(bad.warning) >= 3
    assert_clean(bad, "malformed URL")


def _card_of(at, key):
    """The detail card (a block of the page) holding the widget with ``key``."""
    for child in at.main.children.values():
        if any(w.key == key for w in getattr(child, "number_input", [])):
            return child
    return None


def test_one_detail_changed_keeps_the_stored_results_and_trains_only_it():
    """Issue 21: flipping one detail used to add a 13th variant (130 runs > the cap), disable Train,
    hide the script and the precomputed results. Now the 12 stored variants stay shown and only
    “your toggles” (10 runs) is to train."""
    at = open_page(PAGE)
    at.toggle(key="ppo_t_norm_obs").set_value(True).run()
    assert_clean(at, "one toggle")
    assert ("13 variant(s) × 10 seed(s) = 130 runs of 500,000 steps: 12 variant(s) precomputed "
            "(shown below), 10 run(s) to train") in texts(at)
    assert not at.button(key="ppo_train").disabled and not at.warning and not errors(at)
    assert "Precomputed: 120 of the 120 stored runs" in texts(at)
    assert list(at.dataframe[1].value["variant"]) == [VARIANT_IDS[v] for v in DEFAULT_VARIANTS]
    assert "Press Train to run “your toggles”" in at.info[0].value
    assert at.selectbox(key="ppo_script_variant").options[-1] == "your toggles"
    assert len(at.get("download_button")) >= 2  # the script and the stored curves


def test_over_the_cap_the_page_offers_fewer_seeds_or_a_dropped_variant():
    # nothing stored at 100k: 12 × 10 = 120 runs fit
    at = open_page(PAGE, query={"budget": "100000"})
    assert not at.button(key="ppo_train").disabled and not at.warning
    at.toggle(key="ppo_t_norm_obs").set_value(True).run()  # a 13th variant: 130 runs
    assert at.button(key="ppo_train").disabled
    assert any(
        "13 variant(s) to train × 10 seed(s) = 130 runs is over this server's cap of 120" in w for w
        in warnings(at))
    assert at.button(key="ppo_fix_seeds").label == "Use 9 seeds (117 runs)"
    at.button(key="ppo_fix_seeds").click().run()
    assert at.slider(key="ppo_seeds").value == 9 and not at.button(
        key="ppo_train").disabled and not at.warning
    at.slider(key="ppo_seeds").set_value(10).run()
    # the last one chosen, by default
    assert at.selectbox(key="ppo_fix_variant").value == "nogradclip"
    at.button(key="ppo_fix_drop").click().run()
    assert "nogradclip" not in at.multiselect(key="ppo_variants").value
    assert not at.button(key="ppo_train").disabled and not at.warning
    assert_clean(at, "cap fixes")


def test_a_bad_number_shows_its_error_at_its_input_and_the_results_stay():
    at = open_page(PAGE)
    at.number_input(key="ppo_minibatches").set_value(1000).run()
    card = _card_of(at, "ppo_minibatches")
    assert card is not None and any("num_minibatches = 1000 does not divide" in shown(
        e.value) for e in card.error)
    assert len(at.error) == 1  # shown once, at its input
    assert (
        "“your toggles” is left out until the error at “minibatches” (its card above) is fixed."
        in texts(at)
    )
    assert "Precomputed: 120 of the 120 stored runs" in texts(at) and len(at.dataframe) >= 3
    at.number_input(key="ppo_minibatches").set_value(4).run()
    assert not at.error


def test_tables_show_every_row_and_the_chart_highlights_against_all_on(monkeypatch):
    import streamlit

    heights, real = [], streamlit.dataframe

    def recording(data=None, *args, **kwargs):  # AppTest does not expose an element's height
        heights.append((len(data), kwargs.get("height")))
        return real(data, *args, **kwargs)

    monkeypatch.setattr(streamlit, "dataframe", recording)
    at = open_page(PAGE)
    assert len(heights) >= 3 and {n for n, _ in heights} >= {12}
    assert all(h == "content" for _, h in heights), heights  # no internal scroll hiding rows
    fig = at.get("plotly_chart")[0]
    assert at.multiselect(key="ppo_highlight").value == ["no minibatches"]  # separated after Holm
    import json

    data = json.loads(fig.proto.spec)["data"]
    named = {t["name"]: t for t in data if t.get("showlegend", True) is not False}
    assert (
        "other variants" in named and "no minibatches (n=10)" in named and "all on (n=10)" in named
    )
    at.multiselect(key="ppo_highlight").set_value(["no grad clipping", "no value clipping"]).run()
    data = json.loads(at.get("plotly_chart")[0].proto.spec)["data"]
    colors = {t["name"]: t["line"]["color"] for t in data if t["name"].endswith("(n=10)")}
    assert len(set(colors.values())) == 3 and colors["all on (n=10)"] == "#000000"


def test_bad_settings_show_an_error_and_the_page_keeps_working():
    at = open_page(PAGE)
    at.number_input(key="ppo_minibatches").set_value(3).run()
    assert any("does not divide" in e for e in errors(at))
    assert at.button(key="ppo_train").disabled  # “your toggles” left out: everything else is stored
    at.number_input(key="ppo_minibatches").set_value(4)
    at.number_input(key="ppo_ent_coef").set_value(-0.5).run()
    assert any("ent_coef" in e for e in errors(at))
    at.number_input(key="ppo_ent_coef").set_value(0.01)
    at.multiselect(key="ppo_variants").set_value([]).run()
    assert any("at least one variant" in e for e in errors(at))
    assert_clean(at, "bad settings")


def test_toggle_adds_custom_variant_and_train_streams_results():
    at = open_page(PAGE)
    at.multiselect(key="ppo_variants").set_value(["all"])
    at.slider(key="ppo_seeds").set_value(1)
    at.select_slider(key="ppo_budget").set_value(25000)
    at.toggle(key="ppo_t_norm_obs").set_value(True).run()
    assert "2 variant(s) × 1 seed(s)" in texts(at)
    assert "norm_obs" in str(at.query_params["custom"])
    at.button(key="ppo_train").click().run(timeout=180)
    assert_clean(at, "after training")
    assert not at.error
    scores = at.dataframe[1].value
    assert list(scores["variant"]) == ["all on", "your toggles"]
    # a live comparison ends in seconds: the lecturer can replay its curves slowly
    at.toggle(key="ppo_curves_replay").set_value(True).run()
    assert_clean(at, "replaying the live training")


def test_separate_networks_toggle_reads_as_the_detail_it_names():
    """Core 13 is "separate actor and critic": on by default (CleanRL), off means one shared
    trunk."""
    at = open_page("app_pages/ppo_details/page.py", timeout=120)
    toggle = at.toggle(key="ppo_t_shared_network")
    assert toggle.value is True
    toggle.set_value(False).run()
    assert_clean(at, "separate networks off")
    assert "shared_network" in at.query_params.get("custom", "")
