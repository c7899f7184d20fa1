"""AppTest of the scene bar (ui/scenes.py) and presenter mode (ui/presenter.py) on the lesson
pages."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.apptest_helpers import assert_clean, open_page, texts, warnings
from toolbox.lessons.scenes_index import SCENES, find_scene
from ui.presenter import BASE_CSS, CSS, KEY
from ui.scenes import PREDICTIONS

pytestmark = pytest.mark.slow  # the page under AppTest; the fast run keeps test_pages.py

PAGES = {
    "normalization": "panel",
    "gumbel_softmax": "tab",
    "social_influence": None,
    "ppo_details": None,
    "dial": None,
}
"""Pages with the scene bar → the URL parameter of their tabs (None: no tabs)."""


def _scene_id(at) -> str:
    return at.query_params["scene"]


def _radio(at, slug: str, scene_id: str):
    return at.radio(key=f"scene_predict_{slug}_{scene_id}")


def _styles(at) -> list[str]:
    """The page's style blocks other than BASE_CSS (which every session gets, presenter mode or
    not)."""
    return [m.value for m in at.markdown if "<style>" in str(m.value) and m.value != BASE_CSS]


@pytest.mark.parametrize("slug", sorted(PAGES))
def test_next_and_previous_walk_through_the_scenes(slug):
    at = open_page(f"app_pages/{slug}/page.py")
    assert "scene" not in at.query_params
    ids = [s.id for s in SCENES[slug]]
    for k, sid in enumerate(ids):
        at.button(key=f"scene_next_{slug}").click().run()
        assert_clean(at, sid)
        assert _scene_id(at) == sid
        scene = find_scene(slug, sid)
        assert f"Scene {k + 1} of {len(ids)}" in texts(at) and scene.title in texts(at)
        if PAGES[slug] and scene.tab:
            assert at.query_params[PAGES[slug]] == scene.tab  # the scene opened its tab
    assert at.button(key=f"scene_next_{slug}").disabled  # the last scene
    at.button(key=f"scene_prev_{slug}").click().run()
    assert_clean(at, "previous")
    assert _scene_id(at) == ids[-2]


def test_a_scene_moves_the_controls_a_student_had_changed():
    at = open_page("app_pages/gumbel_softmax/page.py", query={"scene": "temperature-sharpness"})
    assert at.select_slider(key="gs_tau").value == 0.1
    at.select_slider(key="gs_tau").set_value(1.0).run()
    at.text_input(key="gs_values").set_value("0.25, 0.5, 0.25").run()
    at.button(key="scene_next_gumbel_softmax").click().run()
    assert_clean(at, "next")
    assert at.select_slider(key="gs_tau").value == 10.0
    assert (
        at.text_input(key="gs_values").value == "0.5, 0.3333, 0.1667"
    )  # refilled from the scene's preset
    assert at.query_params["tau"] == "10.0" and at.query_params["tab"] == "temperature"


def _reveal(at, slug: str, scene_id: str):
    scene = find_scene(slug, scene_id)
    _radio(at, slug, scene_id).set_value(scene.question.options[0]).run()
    at.button(key=f"scene_reveal_{slug}_{scene_id}").click().run()
    assert_clean(at, f"reveal {scene_id}")
    return at


def _metric(at, label: str):
    return next((m for m in at.metric if m.label.startswith(label)), None)


def _charts(at) -> set:
    """The keys of the Plotly charts drawn (an element id ends with "-" and its user key)."""
    keys = ("gs_fig_ternary", "gs_fig_curve", "gs_fig_mean") + tuple(
        f"scene_fig_{slug}_{s.id}" for slug in PAGES for s in SCENES[slug]
    )
    return {k for c in at.get("plotly_chart") for k in keys if c.proto.id.endswith("-" + k)}


def test_influence_scene_reloads_the_tables_and_hides_the_answer_until_the_reveal():
    at = open_page("app_pages/social_influence/page.py", query={"scene": "j-ignores-i"})
    assert _metric(at, "Influence reward") is None  # the result would state the answer
    _reveal(at, "social_influence", "j-ignores-i")
    assert _metric(at, "Influence reward").value == "0.0000"
    at.button(key="scene_next_social_influence").click().run()  # j copies i
    assert_clean(at, "j-copies-i")
    note = find_scene("social_influence", "j-copies-i")
    assert _metric(at, "Influence reward") is None and not [
        i for i in at.info if "rare actions are more influential" in i.value
    ]
    assert at.selectbox(key="a_i").value == note.settings["a_i"]
    _reveal(at, "social_influence", "j-copies-i")
    assert [
        i for i in at.info if "rare actions are more influential" in i.value
    ]  # the preset's note, shown once revealed
    assert _metric(at, "Influence reward").value == "0.6931"
    at.button(key="scene_next_social_influence").click().run()
    at.button(key="scene_next_social_influence").click().run()  # distortion at large β
    assert _scene_id(at) == "distortion-large-beta"
    assert "Precomputed for 8 seeds × 600 updates" in texts(at) and "distorts" not in texts(at)
    assert _metric(at, "Final extrinsic return") is None
    _reveal(at, "social_influence", "distortion-large-beta")
    assert "distorts" in texts(at) and _metric(at, "Final extrinsic return").value == "1.549"


def test_heavy_tails_scene_shows_the_batch_its_answer_names():
    at = open_page("app_pages/normalization/page.py", query={"scene": "heavy-tails-clip"})
    answer = find_scene("normalization", "heavy-tails-clip").answer()
    assert at.slider(key="nz_step").value == answer.numbers["batch"] == 25
    assert _metric(
        at, "clipped in batch"
    ) is None and "Hidden until the answer is revealed" in texts(at)
    _reveal(at, "normalization", "heavy-tails-clip")
    assert _metric(at, "largest |z| in batch").value == f"{answer.numbers['max_z']:.3g}" == "12.6"
    assert _metric(at, "clipped in batch").value == f"{answer.numbers['clipped']:.1%}" != "0.0%"
    assert "scene_fig_normalization_heavy-tails-clip" in _charts(
        at
    )  # the evidence, inside the card


def test_dru_scene_shows_the_exact_and_the_sampled_flip_probability():
    at = open_page("app_pages/dial/page.py", query={"scene": "dru-large-message"})
    assert at.selectbox(key="dru_m").value == 4.0 and _metric(at, "Flip probability") is None
    _reveal(at, "dial", "dru-large-message")
    answer = find_scene("dial", "dru-large-message").answer()
    m = _metric(at, "Flip probability at m = 4")
    assert m.value == f"{answer.numbers['exact']:.1%}" == "2.3%"
    assert m.delta.startswith(f"sampled: {answer.numbers['sampled']:.1%}")


def test_temperature_scene_shows_the_simplex_and_hides_the_averages():
    at = open_page("app_pages/gumbel_softmax/page.py", query={"scene": "temperature-hot"})
    assert at.slider(key="gs_K").value == 3 and not [i for i in at.info if "Set K = 3" in i.value]
    assert "gs_fig_ternary" in _charts(at) and "gs_fig_curve" not in _charts(at)
    _reveal(at, "gumbel_softmax", "temperature-hot")
    assert {"gs_fig_curve", "gs_fig_mean", "scene_fig_gumbel_softmax_temperature-hot"} <= _charts(
        at
    )


def _ppo_shown(at) -> set:
    keys = ("ppo_curves", "ppo_differences", "scene_fig_ppo_details_")
    return {k for c in at.get("plotly_chart") for k in keys if k in c.proto.id}


@pytest.mark.parametrize("scene_id", [s.id for s in SCENES["ppo_details"]])
def test_ppo_scenes_highlight_their_variants_and_hide_the_results(scene_id):
    at = open_page("app_pages/ppo_details/page.py", query={"scene": scene_id})
    assert "Precomputed: 120 of the 120 stored runs" in texts(at)
    assert not at.get("progress")  # the default view is stored: nothing trains
    wanted = find_scene("ppo_details", scene_id).settings["ppo_highlight"]
    assert at.multiselect(key="ppo_highlight").value == wanted
    assert not _ppo_shown(at) and "Hidden until the answer is revealed" in texts(at)
    assert "Final scores" not in [h.value for h in at.subheader]
    _reveal(at, "ppo_details", scene_id)
    assert at.multiselect(key="ppo_highlight").value == wanted
    assert _ppo_shown(at) == {"ppo_curves", "ppo_differences", "scene_fig_ppo_details_"}
    assert "Final scores" in [h.value for h in at.subheader]


@pytest.mark.parametrize("slug", sorted(PAGES))
def test_predict_then_reveal(slug):
    scene = SCENES[slug][0]
    at = open_page(f"app_pages/{slug}/page.py", query={"scene": scene.id})
    reveal = at.button(key=f"scene_reveal_{slug}_{scene.id}")
    assert reveal.disabled  # no prediction yet
    text = scene.answer().text
    assert text not in texts(at)
    wrong = next(o for o in scene.question.options if o != scene.question.answer)
    _radio(at, slug, scene.id).set_value(wrong).run()
    at.button(key=f"scene_reveal_{slug}_{scene.id}").click().run()
    assert_clean(at, "reveal")
    assert at.session_state[PREDICTIONS][(slug, scene.id)] == wrong
    shown = "\n".join(s.value for s in at.success)
    assert text in texts(at) and f"the answer is “{scene.question.answer}”" in shown
    assert _radio(at, slug, scene.id).disabled  # the recorded prediction stays as it was


def test_a_right_prediction_is_confirmed():
    scene = SCENES["normalization"][0]
    at = open_page("app_pages/normalization/page.py", query={"scene": scene.id})
    _radio(at, "normalization", scene.id).set_value(scene.question.answer).run()
    at.button(key=f"scene_reveal_normalization_{scene.id}").click().run()
    assert f"Predicted “{scene.question.answer}”: right." in at.success[0].value


def test_leaving_the_scenes_keeps_the_controls_and_shows_every_tab():
    at = open_page("app_pages/normalization/page.py", query={"scene": "heavy-tails-clip"})
    assert _styles(at)
    at.button(key="scene_leave_normalization").click().run()
    assert_clean(at, "leave")
    assert "scene" not in at.query_params and not _styles(at)
    assert at.selectbox(key="nz_kind").value == "heavy-tailed"
    assert at.button(key="scene_leave_normalization").disabled


def test_scene_hides_the_tabs_it_does_not_need():
    at = open_page("app_pages/normalization/page.py", query={"scene": "reward-scale"})
    css = "\n".join(_styles(at))
    # tabs 1, 2, 4, 5 hidden; tab 3 (rewards) is the one the scene opens
    for k in (1, 2, 4, 5):
        assert f'[data-testid="stTab"]:nth-child({k})' in css
    assert "nth-child(3)" not in css


@pytest.mark.parametrize("bad", ["nope", "**bold** [x](https://e.com)"])
def test_bad_scene_id_warns_and_the_page_works(bad):
    at = open_page("app_pages/normalization/page.py", query={"scene": bad})
    found = [w for w in warnings(at) if "There is no scene" in w]
    assert found and bad in found[0] and "running-lag" in found[0]
    assert "**" not in at.warning[0].value.replace(
        "\\*", ""
    )  # the link's text is escaped, not Markdown
    assert "scene" not in at.query_params
    assert at.title[0].value == "Normalization" and "running mean" in texts(at)
    at.button(key="scene_next_normalization").click().run()  # the bar still works
    assert _scene_id(at) == "running-lag"


def test_presenter_mode_from_the_link_in_the_app_sidebar():
    # the first run goes through app.py
    at = open_page("app_pages/home.py", query={"presenter": "1"})
    assert at.sidebar.toggle(key=KEY).value is True
    assert CSS in _styles(at) and at.query_params["presenter"] == "1"
    # fonts, metrics and tables by CSS; figures are redrawn
    # in Plotly (toolbox.figures.presenter), not by CSS
    assert "font-size" in CSS and "stMetricValue" in CSS and ".js-plotly-plot" not in CSS
    at = open_page("app_pages/home.py")
    assert at.sidebar.toggle(key=KEY).value is False and not _styles(at)


def _toggle_app(query: dict | None = None) -> AppTest:
    # AppTest reruns a switched page without app.py, so the toggle's reruns are tested on their own
    at = AppTest.from_string("from ui.presenter import presenter_toggle\npresenter_toggle()\n")
    for key, value in (query or {}).items():
        at.query_params[key] = value
    return at.run()


def test_presenter_toggle_injects_and_removes_the_css():
    at = _toggle_app()
    assert (
        at.toggle(key=KEY).value is False and not _styles(at) and "presenter" not in at.query_params
    )
    at.toggle(key=KEY).set_value(True).run()
    assert CSS in _styles(at) and at.query_params["presenter"] == "1"
    at.toggle(key=KEY).set_value(False).run()
    assert not _styles(at) and "presenter" not in at.query_params


def test_presenter_bad_link_value_warns():
    at = _toggle_app({"presenter": "**yes**"})
    assert at.toggle(key=KEY).value is False and not _styles(at)
    assert any("presenter=**yes**" in w for w in warnings(at))
