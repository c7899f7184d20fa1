"""Every widget value from any client gets the message of a bad link value; the page keeps working.

A script speaking Streamlit's protocol can send what no browser sends: NaN or infinity in a number
box, text where a number goes, an option a select box never offered, table edits naming rows and
columns that do not exist. Per page, every control of ``toolbox.lessons.widget_rules`` gets such a
value in the session state (as a client's widget state arrives) before the page runs; the page
must render without an exception and name each dropped value in a warning.
"""

from __future__ import annotations

import math

import pytest
from streamlit.testing.v1 import AppTest

from tests.apptest_helpers import APP, assert_clean, open_page, shown, warnings
from toolbox.lessons import LESSONS
from toolbox.lessons.widget_rules import RULES

pytestmark = pytest.mark.slow  # the page under AppTest; the fast run keeps test_pages.py

PAGES = {lesson.slug: lesson.page_path for lesson in LESSONS}
BAD = {  # rounds of values no browser sends, per kind of control
    "one of": ["no-such-option", 12345, ["a", "list"]],
    "some of": [["no-such-option"], "not a list", [None]],
    "number": [math.nan, math.inf, "abc"],
    "whole": [math.nan, -math.inf, "abc"],
}


def open_with_state(page: str, state: dict) -> AppTest:
    """Open the page, go Home, put ``state`` in the session (what a client's widget states do:
    AppTest itself cannot send an option its widget does not offer), then return to the page."""
    at = AppTest.from_file(APP, default_timeout=90)
    at.run()
    at.switch_page(page).run()  # the page's first visit sets its defaults
    assert_clean(at, page)
    at.switch_page("app_pages/home.py").run()
    for key, value in state.items():
        at.session_state[key] = value
    at.switch_page(page)
    at.run()
    return at


@pytest.mark.parametrize("slug", sorted(RULES))
@pytest.mark.parametrize("round_", [0, 1, 2])
def test_bad_widget_values_are_named_and_the_page_works(slug, round_):
    state = {key: BAD[rule[0]][round_] for key, rule in RULES[slug].items()}
    at = open_with_state(PAGES[slug], state)
    assert_clean(at, f"{slug} with {state}")
    assert len(at.title) >= 1
    said = "\n".join(warnings(at))
    missing = [k for k in state if f"Ignored the value sent for the control {k}=" not in said]
    assert not missing, f"{slug}: no message for {missing}"


def test_the_message_has_the_wording_of_a_bad_link_value():
    at = open_with_state(PAGES["dial"], {"cnet_mode": "<b>zzz</b>"})
    text = next(w for w in warnings(at) if "cnet_mode" in w)
    assert text == ("Ignored the value sent for the control cnet_mode=<b>zzz</b> (allowed: one of: "
                    "sum, concat); showing sum.")
    link = AppTest.from_file(APP, default_timeout=90)
    link.query_params["seeds"] = "abc"
    link.run()
    link.switch_page(PAGES["ppo_details"]).run()
    assert any(w.startswith("Ignored the link parameter") for w in warnings(link))


@pytest.mark.parametrize("page", sorted(PAGES.values()))
def test_nan_and_unreadable_values_under_any_widget_key_are_dropped(page):
    at = open_with_state(page, {"some_number_box": math.nan, "another_box": [1.0, math.inf]})
    assert_clean(at, page)
    said = "\n".join(warnings(at))
    assert "control some_number_box=nan, not a finite number" in said and "another_box" in said


MALFORMED_EDITS = [
    {"edited_rows": {"99": {"0": 0.5}}},  # a row that does not exist
    {"edited_rows": {"0": {"no such column": 0.5}}},
    {"edited_rows": {"0": "not a dict"}},
    {"edited_rows": "not a dict"},
    {"added_rows": [{"x": 1}], "deleted_rows": [], "edited_rows": {}},  # a fixed-size table
    {"edited_rows": {"zero": {}}},
    "not a dict",
]


@pytest.mark.parametrize("edits", MALFORMED_EDITS, ids=range(len(MALFORMED_EDITS)))
def test_malformed_table_edits_are_dropped_with_a_message(edits):
    state = {"inf_pi_i_table": edits, "pa_prior_table": edits}
    at = open_with_state(PAGES["social_influence"], state)
    assert_clean(at, f"social influence with {edits}")
    said = "\n".join(warnings(at))
    assert "Ignored the edits sent for the table inf_pi_i_table" in said
    assert "Ignored the edits sent for the table pa_prior_table" in said


def test_influence_callbacks_ignore_values_no_browser_sends():
    """Callbacks run before the page: they return early; the page then names the value."""
    def script():
        import streamlit as st

        from app_pages.social_influence import tables as T

        T.load_preset()
        T.resize_tables()
        T.load_persuasion()
        st.text("survived")

    at = AppTest.from_function(script)
    for key, value in {"inf_preset": "nope", "inf_n_actions_i": math.nan, "inf_n_actions_j": 3,
                       "inf_n_influencees": "abc", "pa_example": 7, "pa_scheme": "nope"}.items():
        at.session_state[key] = value
    at.run()
    assert not at.exception and [t.value for t in at.text] == ["survived"]


def test_a_valid_edit_is_kept():
    at = open_with_state(PAGES["social_influence"], {})
    columns = [str(c) for c in at.session_state["inf_base"]["names_i"]]
    at.session_state["inf_pi_i_table"] = {"edited_rows": {0: {columns[0]: 0.25}}, "added_rows": [],
                                          "deleted_rows": []}
    at.run()
    assert_clean(at, "a valid edit")
    assert not [w for w in warnings(at) if "inf_pi_i_table" in shown(w)]


@pytest.mark.parametrize("page, key", [
    ("app_pages/gumbel_softmax/page.py", "gs_seed"), ("app_pages/dial/page.py", "curve_n"),
    ("app_pages/normalization/page.py", "nz_seed"), ("app_pages/social_influence/page.py",
                                                     "inf_n_actions_i"),
    ("app_pages/ppo_details/page.py", "ppo_minibatches"),
])
@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_widget_state_of_a_whole_number_input(page, key, bad):
    """Through the widget state (as the protocol delivers it), where Streamlit itself read it with
    ``int(value)`` before any page code or callback ran."""
    at = open_page(page)
    at.session_state[key] = bad  # the widget is on the page: AppTest sends this as its state
    at.run()
    assert_clean(at, f"{page} with {key}={bad}")
    assert any("not a finite number" in w for w in warnings(at)), warnings(at)
