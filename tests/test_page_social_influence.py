"""AppTest of pages/social_influence.py: edit table cells, switch presets, feed every kind of bad
table, drive the principal–agent and learning sections, and check the numbers shown against the
backend computed independently here."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tests.apptest_helpers import assert_clean, open_page
from toolbox import influence as inf

PAGE = "pages/social_influence.py"


def metric(at, start: str) -> str:
    for m in at.metric:
        if m.label.startswith(start):
            return m.value
    raise AssertionError(f"no metric starting with {start!r}: {[m.label for m in at.metric]}")


def nats(text: str) -> float:
    return math.inf if text.startswith("∞") else float(text.split()[0])


def edit(at, key: str, rows: dict):
    at.session_state[key] = {"edited_rows": rows, "added_rows": [], "deleted_rows": []}
    at.run()
    assert_clean(at, f"edit {key}")
    return at


def errors(at) -> str:
    return "\n".join(e.value for e in at.error)


@pytest.fixture
def at():
    return open_page(PAGE)


def test_defaults_show_reward_and_both_ways_to_the_mutual_information(at):
    preset = inf.influence_preset("signal changes a move (paper)")
    a_i = int(at.query_params["ai"])
    assert nats(metric(at, "Influence reward")) == pytest.approx(
        inf.influence_reward(preset.pi_i, preset.pi_j_given_ai, a_i), abs=1e-4)
    expected = nats(metric(at, "Σ_a π^i(a) r^i(a)"))
    from_joint = nats(metric(at, "Σ_j H(a^j)"))
    assert expected == pytest.approx(from_joint, abs=1e-4)
    assert expected == pytest.approx(inf.expected_influence(preset.pi_i, preset.pi_j_given_ai), abs=1e-4)
    kl_caption = next(c.value for c in at.caption if c.value.startswith("KL per influencee"))
    kl = inf.influence_rewards(preset.pi_i, preset.pi_j_given_ai).numpy()[a_i, 0]
    assert f"influencee 1: {kl:.4f} nats" in kl_caption
    assert len(at.get("plotly_chart")) >= 4
    for key in ("preset", "ai", "beta", "scheme", "example", "game"):
        assert key in at.query_params
    assert not at.error
    page_text = " ".join(m.value for m in at.markdown) + " ".join(c.value for c in at.caption)
    for paper in ("Jaques", "Kamenica", "Lin et al"):
        assert paper in page_text
    assert len(at.latex) >= 4


def test_editing_a_cell_updates_the_reward_and_keeps_the_edit(at):
    cols = list(at.data_editor(key="inf_pi_i_table").value.columns)
    edit(at, "inf_pi_i_table", {0: {cols[0]: 0.3, cols[1]: 0.5}})
    assert not at.error
    pi_i = [0.3, 0.5, 0.2]
    table = inf.influence_preset("signal changes a move (paper)").pi_j_given_ai
    a_i = at.selectbox(key="a_i").value
    assert nats(metric(at, "Influence reward")) == pytest.approx(inf.influence_reward(pi_i, table, a_i), abs=1e-4)
    # an edit of j's table (row a^i=2 → copy action 2)
    cols_j = list(at.data_editor(key="inf_pi_j_table_0").value.columns)
    edit(at, "inf_pi_j_table_0", {2: {cols_j[0]: 0.0, cols_j[1]: 0.0, cols_j[2]: 1.0}})
    table[0, 2] = [0.0, 0.0, 1.0]
    at.selectbox(key="a_i").set_value(2).run()
    assert nats(metric(at, "Influence reward")) == pytest.approx(inf.influence_reward(pi_i, table, 2), abs=1e-4)
    assert at.query_params["ai"] == "2"


def test_presets_closed_forms_on_the_page(at):
    at.selectbox(key="inf_preset").set_value("j ignores i").run()
    assert_clean(at, "ignores")
    assert nats(metric(at, "Influence reward")) == pytest.approx(0.0, abs=1e-6)
    assert nats(metric(at, "Σ_a π^i(a) r^i(a)")) == pytest.approx(0.0, abs=1e-6)
    at.selectbox(key="inf_preset").set_value("j copies i").run()
    assert at.query_params["preset"] == "j copies i"
    pi_i = inf.influence_preset("j copies i").pi_i
    a_i = at.selectbox(key="a_i").value
    assert nats(metric(at, "Influence reward")) == pytest.approx(-math.log(pi_i[a_i]), abs=1e-4)
    assert nats(metric(at, "Σ_a π^i(a) r^i(a)")) == pytest.approx(-(pi_i * np.log(pi_i)).sum(), abs=1e-4)
    # three influencees that all copy: three times the reward
    at.number_input(key="inf_n_influencees").set_value(3).run()
    assert_clean(at, "3 influencees")
    assert at.data_editor(key="inf_pi_j_table_2") is not None
    assert nats(metric(at, "Influence reward")) == pytest.approx(-3 * math.log(pi_i[a_i]), abs=1e-4)
    at.selectbox(key="inf_preset").set_value("partial influence").run()
    assert_clean(at, "partial")
    assert 0 < nats(metric(at, "Influence reward")) < -3 * math.log(pi_i[a_i])


def test_resizing_the_tables(at):
    at.number_input(key="inf_n_actions_i").set_value(5).run()
    at.number_input(key="inf_n_actions_j").set_value(2).run()
    assert_clean(at, "resize")
    assert at.data_editor(key="inf_pi_j_table_0").value.shape == (5, 2)
    assert at.data_editor(key="inf_pi_i_table").value.shape == (1, 5)
    assert not at.error  # resized tables are valid distributions
    at.selectbox(key="a_i").set_value(4).run()
    assert_clean(at, "a_i = 4")


@pytest.mark.parametrize(
    "key,row,value,needle",
    [
        ("inf_pi_i_table", 0, -0.2, "negative"),
        ("inf_pi_i_table", 0, None, "non-finite"),
        ("inf_pi_i_table", 0, 0.9, "sums to"),
        ("inf_pi_j_table_0", 1, -0.5, "row a^i=1"),
        ("inf_pi_j_table_0", 2, None, "row a^i=2"),
        ("inf_pi_j_table_0", 0, 2.0, "sums to"),
    ],
)
def test_bad_tables_show_an_error_next_to_the_table_and_keep_the_rest(at, key, row, value, needle):
    col = list(at.data_editor(key=key).value.columns)[0]
    edit(at, key, {row: {col: value}})
    assert needle in errors(at), errors(at)
    assert ("π^i" if key == "inf_pi_i_table" else "influencee 1") in errors(at)
    # the rest of the page keeps working: persuasion and learning numbers are still shown
    assert metric(at, "P(hire)") == "0.667"
    assert metric(at, "Final extrinsic return")
    # what the student typed is kept
    assert at.session_state[key]["edited_rows"][row][col] == value
    # after another rerun (e.g. another widget moved) the error and the edit are still there
    at.select_slider(key="learn_beta").set_value(1.0).run()
    assert_clean(at, "after beta")
    assert needle in errors(at)


def test_second_influencee_bad_while_first_still_counts(at):
    at.number_input(key="inf_n_influencees").set_value(2).run()
    col = list(at.data_editor(key="inf_pi_j_table_1").value.columns)[0]
    edit(at, "inf_pi_j_table_1", {0: {col: -1.0}})
    assert "influencee 2" in errors(at)
    assert any("Only influencee 1 counted" in c.value for c in at.caption)
    assert nats(metric(at, "Influence reward")) > 0


def test_normalize_rows_fixes_sums_and_reports_zero_rows(at):
    cols = list(at.data_editor(key="inf_pi_i_table").value.columns)
    edit(at, "inf_pi_i_table", {0: {cols[0]: 2.0, cols[1]: 1.0, cols[2]: 1.0}})
    assert "sums to" in errors(at)
    at.button(key="inf_normalize").click().run()
    assert not at.error
    np.testing.assert_allclose(at.data_editor(key="inf_pi_i_table").value.to_numpy()[0], [0.5, 0.25, 0.25])
    edit(at, "inf_pi_i_table", {0: {c: 0.0 for c in cols}})
    at.button(key="inf_normalize").click().run()
    assert_clean(at, "normalize zeros")
    assert "all zeros" in errors(at)


def test_principal_agent_presets_and_obedience(at):
    assert float(metric(at, "P(hire)")) == pytest.approx(2 / 3, abs=1e-3)
    assert any("Obedience holds" in s.value for s in at.success)
    at.radio(key="pa_scheme").set_value("honest").run()
    assert float(metric(at, "P(hire)")) == pytest.approx(1 / 3, abs=1e-3)
    at.radio(key="pa_scheme").set_value("silent").run()
    assert float(metric(at, "P(hire)")) == pytest.approx(0.0, abs=1e-3)
    at.selectbox(key="pa_example").set_value("courtroom").run()
    at.radio(key="pa_scheme").set_value("optimal").run()
    assert float(metric(at, "P(convict)")) == pytest.approx(0.6, abs=1e-3)
    assert at.query_params["example"] == "courtroom"
    # r^i for one (s, σ) through principal_influence
    at.selectbox(key="pa_state").set_value(0).run()
    at.selectbox(key="pa_signal").set_value(0).run()
    g = inf.persuasion_preset("courtroom", "optimal")
    br = inf.receiver_best_response(g.prior, g.phi, g.u_sender, g.u_receiver)
    assert nats(metric(at, "r^i(s=innocent")) == pytest.approx(inf.principal_influence(g.phi[0], br, 0), abs=1e-4)
    # a receiver that always convicts is not obedient
    at.toggle(key="pa_best_response").set_value(False).run()
    cols = list(at.data_editor(key="pa_receiver_table").value.columns)
    edit(at, "pa_receiver_table", {1: {cols[0]: 1.0, cols[1]: 0.0}})
    assert any("Obedience fails" in e.value for e in at.error)


def test_principal_agent_bad_tables(at):
    cols = list(at.data_editor(key="pa_phi_table").value.columns)
    edit(at, "pa_phi_table", {1: {cols[0]: 0.5}})
    assert "row s=good" in errors(at) and "sums to" in errors(at)
    assert nats(metric(at, "Influence reward")) > 0  # part 1 unaffected
    cols = list(at.data_editor(key="pa_prior_table").value.columns)
    edit(at, "pa_prior_table", {0: {cols[0]: -0.1}})
    assert "prior" in errors(at) and "negative" in errors(at)


def test_learning_section_precomputed_and_live(at):
    for beta, verdict in ((0.5, "helps"), (0.0, None)):
        at.select_slider(key="learn_beta").set_value(beta).run()
        assert_clean(at, f"beta={beta}")
        assert at.query_params["beta"] == str(beta)
        if verdict:
            assert any("helps coordination" in m.value for m in at.markdown)
    at.selectbox(key="learn_game").set_value("pure coordination").run()
    at.select_slider(key="learn_beta").set_value(3.0).run()
    assert any("distorts" in m.value for m in at.markdown)
    # settings outside the precomputed grid train live through the shared runner
    at.number_input(key="learn_seeds").set_value(3).run()
    assert_clean(at, "live training")
    assert float(metric(at, "Final extrinsic return")) < 1.8
    assert not any("Precomputed" in c.value for c in at.caption)


def test_url_sets_the_view_and_garbage_is_reported():
    at = open_page(PAGE, query={"preset": "j copies i", "ai": "2", "beta": "2.0", "scheme": "honest"})
    assert at.selectbox(key="inf_preset").value == "j copies i"
    assert at.selectbox(key="a_i").value == 2
    assert at.select_slider(key="learn_beta").value == 2.0
    assert float(metric(at, "P(hire)")) == pytest.approx(1 / 3, abs=1e-3)
    at = open_page(PAGE, query={"ai": "99", "beta": "NaN", "preset": "nope"})
    assert len(at.warning) >= 3
    assert_clean(at, "garbage")


def test_everything_typed_survives_a_visit_to_another_page(at):
    at.selectbox(key="inf_preset").set_value("j copies i").run()
    at.number_input(key="inf_n_actions_i").set_value(4).run()
    cols = list(at.data_editor(key="inf_pi_i_table").value.columns)
    edit(at, "inf_pi_i_table", {0: {cols[0]: 0.9}})
    at.radio(key="pa_scheme").set_value("honest").run()
    phi_cols = list(at.data_editor(key="pa_phi_table").value.columns)
    edit(at, "pa_phi_table", {1: {phi_cols[0]: 0.7}})
    at.select_slider(key="learn_beta").set_value(2.0).run()
    before = errors(at)
    at.switch_page("pages/home.py")
    at.run()
    at.switch_page(PAGE)
    at.run()
    assert_clean(at, "back on the page")
    assert at.selectbox(key="inf_preset").value == "j copies i"
    assert at.number_input(key="inf_n_actions_i").value == 4
    assert at.radio(key="pa_scheme").value == "honest"
    assert at.select_slider(key="learn_beta").value == 2.0
    assert at.data_editor(key="inf_pi_i_table").value.iloc[0, 0] == pytest.approx(0.9)
    assert at.data_editor(key="pa_phi_table").value.iloc[1, 0] == pytest.approx(0.7)
    assert errors(at) == before  # the same two tables are still flagged
    # a new scheme replaces the typed table
    at.radio(key="pa_scheme").set_value("optimal").run()
    assert at.data_editor(key="pa_phi_table").value.iloc[0, 0] == pytest.approx(0.5)
    assert "scheme" not in errors(at)
