"""AppTest of app_pages/social_influence/page.py: edit table cells, switch presets, feed every kind
of bad table, drive the principal–agent and learning sections, and check the numbers shown against
the backend computed independently here."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from tests.apptest_helpers import assert_clean, errors, open_page, texts
from toolbox import influence as inf
from toolbox.lessons import influence as influence_lesson

pytestmark = pytest.mark.slow  # the page under AppTest; the fast run keeps test_pages.py

PAGE = "app_pages/social_influence/page.py"
SUM_KL, SUM_H = r"$\sum_a \pi^i(a)", r"$\sum_j H(a^j)"


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


def error_text(at) -> str:
    """Every st.error text of the page in one string, for substring checks."""
    return "\n".join(errors(at))


@pytest.fixture
def at():
    return open_page(PAGE)


def test_defaults_show_reward_and_both_ways_to_the_mutual_information(at):
    preset = influence_lesson.influence_preset("i's move as a signal (illustrative)")
    a_i = int(at.query_params["ai"])
    assert nats(metric(at, "Influence reward")) == pytest.approx(
        inf.influence_reward(preset.pi_i, preset.pi_j_given_ai, a_i), abs=1e-4)
    expected = nats(metric(at, SUM_KL))
    from_joint = nats(metric(at, SUM_H))
    assert expected == pytest.approx(from_joint, abs=1e-4)
    assert expected == pytest.approx(inf.expected_influence(preset.pi_i, preset.pi_j_given_ai),
                                     abs=1e-4)
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
    table = influence_lesson.influence_preset("i's move as a signal (illustrative)").pi_j_given_ai
    a_i = at.selectbox(key="a_i").value
    assert nats(metric(at, "Influence reward")) == pytest.approx(
        inf.influence_reward(pi_i, table, a_i), abs=1e-4
    )
    # an edit of j's table (row a^i=2 → copy action 2)
    cols_j = list(at.data_editor(key="inf_pi_j_table_0").value.columns)
    edit(at, "inf_pi_j_table_0", {2: {cols_j[0]: 0.0, cols_j[1]: 0.0, cols_j[2]: 1.0}})
    table[0, 2] = [0.0, 0.0, 1.0]
    at.selectbox(key="a_i").set_value(2).run()
    assert nats(metric(at, "Influence reward")) == pytest.approx(inf.influence_reward(pi_i, table,
                                                                                      2), abs=1e-4)
    assert at.query_params["ai"] == "2"


def test_presets_closed_forms_on_the_page(at):
    at.selectbox(key="inf_preset").set_value("j ignores i").run()
    assert_clean(at, "ignores")
    assert nats(metric(at, "Influence reward")) == pytest.approx(0.0, abs=1e-6)
    assert nats(metric(at, SUM_KL)) == pytest.approx(0.0, abs=1e-6)
    at.selectbox(key="inf_preset").set_value("j copies i").run()
    assert at.query_params["preset"] == "j copies i"
    pi_i = influence_lesson.influence_preset("j copies i").pi_i
    a_i = at.selectbox(key="a_i").value
    assert nats(metric(at, "Influence reward")) == pytest.approx(-math.log(pi_i[a_i]), abs=1e-4)
    assert nats(metric(at, SUM_KL)) == pytest.approx(-(pi_i * np.log(pi_i)).sum(), abs=1e-4)
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
    assert needle in error_text(at), error_text(at)
    assert ("π^i" if key == "inf_pi_i_table" else "influencee 1") in error_text(at)
    # the rest of the page keeps working: persuasion and learning numbers are still shown
    assert metric(at, "P(hire)") == "0.667"
    assert metric(at, "Final extrinsic return")
    # what the student typed is kept
    assert at.session_state[key]["edited_rows"][row][col] == value
    # after another rerun (e.g. another widget moved) the error and the edit are still there
    at.select_slider(key="learn_beta").set_value(1.0).run()
    assert_clean(at, "after beta")
    assert needle in error_text(at)


def test_second_influencee_bad_while_first_still_counts(at):
    at.number_input(key="inf_n_influencees").set_value(2).run()
    col = list(at.data_editor(key="inf_pi_j_table_1").value.columns)[0]
    edit(at, "inf_pi_j_table_1", {0: {col: -1.0}})
    assert "influencee 2" in error_text(at)
    assert any("Only influencee 1 counted" in c.value for c in at.caption)
    assert nats(metric(at, "Influence reward")) > 0


def test_normalize_rows_fixes_sums_and_reports_zero_rows(at):
    cols = list(at.data_editor(key="inf_pi_i_table").value.columns)
    edit(at, "inf_pi_i_table", {0: {cols[0]: 2.0, cols[1]: 1.0, cols[2]: 1.0}})
    assert "sums to" in error_text(at)
    at.button(key="inf_normalize").click().run()
    assert not at.error
    np.testing.assert_allclose(at.data_editor(key="inf_pi_i_table").value.to_numpy()[0],
                               [0.5, 0.25, 0.25])
    edit(at, "inf_pi_i_table", {0: {c: 0.0 for c in cols}})
    at.button(key="inf_normalize").click().run()
    assert_clean(at, "normalize zeros")
    assert "all zeros" in error_text(at)


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
    assert nats(metric(at, "$r^i$(s=innocent")) == pytest.approx(
        inf.principal_influence(g.phi[0], br, 0), abs=1e-4
    )
    # a receiver that always convicts is not obedient
    at.toggle(key="pa_best_response").set_value(False).run()
    cols = list(at.data_editor(key="pa_receiver_table").value.columns)
    edit(at, "pa_receiver_table", {1: {cols[0]: 1.0, cols[1]: 0.0}})
    assert any("Obedience fails" in e.value for e in at.error)


def test_principal_agent_bad_tables(at):
    cols = list(at.data_editor(key="pa_phi_table").value.columns)
    edit(at, "pa_phi_table", {1: {cols[0]: 0.5}})
    assert "row s=good" in error_text(at) and "sums to" in error_text(at)
    assert nats(metric(at, "Influence reward")) > 0  # part 1 unaffected
    cols = list(at.data_editor(key="pa_prior_table").value.columns)
    edit(at, "pa_prior_table", {0: {cols[0]: -0.1}})
    assert "prior" in error_text(at) and "negative" in error_text(at)


def test_learning_section_precomputed_verdicts(at):
    for beta, verdict in ((0.5, "helps coordination"), (0.0, "less than 0.05")):
        at.select_slider(key="learn_beta").set_value(beta).run()
        assert_clean(at, f"beta={beta}")
        assert at.query_params["beta"] == str(beta)
        assert any(verdict in m.value for m in at.markdown)
    at.selectbox(key="learn_game").set_value("pure coordination").run()
    at.select_slider(key="learn_beta").set_value(3.0).run()
    assert any("distorts" in m.value for m in at.markdown)


def test_sweep_sentence_comes_from_the_stored_runs(at):
    store = influence_lesson.load_precomputed("results/influence_learning.json")
    sweep = influence_lesson.beta_sweep(store, "stag hunt")
    assert sweep.sentence in texts(at)
    for number in ("3.835", "3.507", "2.999", "every β on the grid helps"):
        assert number in sweep.sentence
    at.selectbox(key="learn_game").set_value("pure coordination").run()
    assert influence_lesson.beta_sweep(store, "pure coordination").sentence in texts(at)


def _learn_cfg(at) -> inf.InfluenceTrainConfig:
    return inf.InfluenceTrainConfig(game=at.selectbox(key="learn_game").value,
                                    beta=float(at.select_slider(key="learn_beta").value),
                                    n_seeds=int(at.number_input(key="learn_seeds").value),
                                    iterations=int(at.number_input(key="learn_updates").value))


def test_changing_seeds_or_updates_starts_nothing_until_train_is_pressed(at):
    from toolbox.serving import RUNNER

    stored = metric(at, "Final extrinsic return")
    at.number_input(key="learn_seeds").set_value(5).run()
    at.number_input(key="learn_updates").set_value(700).run()
    at.select_slider(key="learn_beta").set_value(0.75).run()
    assert_clean(at, "new settings")
    cfg = _learn_cfg(at)
    assert (cfg.n_seeds, cfg.iterations) == (5, 700)
    assert RUNNER.get(influence_lesson.learning_job_key(cfg)) is None  # nothing submitted
    # the precomputed runs of this game and β stay on screen, with a note to press Train
    assert any("not precomputed: press **Train**" in c.value for c in at.caption)
    found = influence_lesson.precomputed_runs(influence_lesson.load_precomputed(
        "results/influence_learning.json"), cfg)
    assert float(metric(at, "Final extrinsic return")) == pytest.approx(
        influence_lesson.final_summary(found[0], found[1])["extrinsic_with"], abs=1e-3)
    # β 0.5 → 0.75 changed the stored runs shown
    assert stored != metric(at, "Final extrinsic return")
    # precomputed settings offer no Train button at all
    at.number_input(key="learn_seeds").set_value(inf.InfluenceTrainConfig().n_seeds).run()
    at.number_input(key="learn_updates").set_value(inf.InfluenceTrainConfig().iterations).run()
    assert not [b for b in at.button if b.key == "learn_train"]


def test_train_button_trains_live_through_the_shared_runner(at):
    from toolbox.serving import RUNNER

    at.selectbox(key="learn_game").set_value("pure coordination").run()
    at.select_slider(key="learn_beta").set_value(3.0).run()
    at.number_input(key="learn_seeds").set_value(3).run()
    cfg = _learn_cfg(at)
    key = influence_lesson.learning_job_key(cfg)
    assert RUNNER.get(key) is None  # moving the widgets started nothing
    at.button(key="learn_train").click().run()
    assert_clean(at, "live training")
    assert RUNNER.get(key).status == "done"
    assert any("Trained live: 3 seeds" in c.value for c in at.caption)
    assert float(metric(at, "Final extrinsic return")) < 1.8
    # a later rerun keeps showing the trained runs without pressing again
    at.run()
    assert any("Trained live" in c.value for c in at.caption)


def test_url_sets_the_view_and_garbage_is_reported():
    at = open_page(PAGE, query={"preset": "j copies i", "ai": "2", "beta": "2.0",
                                "scheme": "honest", "marginal": "prior"})
    assert at.radio(key="pa_marginal").value == "prior"
    assert metric(at, r"$I(\sigma;a)$") == "0.637"
    assert at.selectbox(key="inf_preset").value == "j copies i"
    assert at.selectbox(key="a_i").value == 2
    assert at.select_slider(key="learn_beta").value == 2.0
    assert float(metric(at, "P(hire)")) == pytest.approx(1 / 3, abs=1e-3)
    at = open_page(PAGE, query={"ai": "99", "beta": "NaN", "preset": "nope",
                                "marginal": "posterior"})
    assert len(at.warning) >= 4
    assert at.radio(key="pa_marginal").value == "state"
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
    before = error_text(at)
    at.switch_page("app_pages/home.py")
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
    assert error_text(at) == before  # the same two tables are still flagged
    # a new scheme replaces the typed table
    at.radio(key="pa_scheme").set_value("optimal").run()
    assert at.data_editor(key="pa_phi_table").value.iloc[0, 0] == pytest.approx(0.5)
    assert "scheme" not in error_text(at)


def _outside_maths(text: str) -> str:
    """``text`` without its $…$ spans and `code` spans: what is shown as plain text."""
    return re.sub(r"`[^`]*`", "", re.sub(r"\$[^$]*\$", "", text))


def test_notation_in_labels_and_text_renders_as_maths(at):
    for preset in influence_lesson.INFLUENCE_PRESETS:
        at.selectbox(key="inf_preset").set_value(preset).run()
        shown = [m.label for m in at.metric] + [m.value for m in at.markdown] + [
            c.value for c in at.caption]
        shown += [w.label for w in at.number_input] + [w.label for w in at.selectbox] + [
            w.label for w in at.radio]
        shown += [i.value for i in at.info] + [w.label for w in at.select_slider]
        raw = [t for t in shown if "^" in _outside_maths(str(t))]
        assert not raw, raw


def test_every_equation_names_the_backend_function_that_computes_it(at):
    functions = (inf.influence_rewards, inf.counterfactual_marginal, inf.expected_influence,
                 inf.mutual_information, inf.evaluate_scheme, inf.principal_influence,
                 inf.train_influence_game, inf.reinforce_gradients)
    captions = " ".join(c.value for c in at.caption if c.value.startswith("computed by"))
    for f in functions:
        assert f"`{f.__module__}.{f.__qualname__}`" in captions
    assert sum(c.value.startswith("computed by") for c in at.caption) == len(at.latex)
    assert "toolbox.influence.reward.influence_rewards" in captions  # the module after the split


def test_marginal_switch_and_the_scheme_caption_follow_the_selection(at):
    # recommendation letter, optimal scheme, marginal given the state: only its coin flip counts
    assert float(metric(at, r"$I(\sigma;a\mid s)$")) == pytest.approx(2 / 3 * math.log(2), abs=1e-3)
    assert any(c.value.startswith("The optimal scheme") for c in at.caption)
    at.radio(key="pa_scheme").set_value("honest").run()
    assert float(metric(at, r"$I(\sigma;a\mid s)$")) == pytest.approx(0.0, abs=1e-9)
    assert any(c.value.startswith("The honest scheme") for c in at.caption)
    assert not any(c.value.startswith("The optimal scheme") for c in at.caption)
    at.radio(key="pa_marginal").set_value("prior").run()
    assert_clean(at, "prior marginal")
    assert at.query_params["marginal"] == "prior"
    assert metric(at, r"$I(\sigma;a)$") == "0.637"
    at.radio(key="pa_scheme").set_value("optimal").run()
    assert metric(at, r"$I(\sigma;a)$") == "0.637"
    assert any("I(σ; a): everything the signal changes" in c.value for c in at.caption)
    at.radio(key="pa_scheme").set_value("silent").run()
    assert any(c.value.startswith("The silent scheme") for c in at.caption)


def test_prior_shown_as_fractions_that_sum_to_one(at):
    assert any(c.value == "Prior: μ₀(bad) = 2/3, μ₀(good) = 1/3" for c in at.caption)
    at.selectbox(key="pa_example").set_value("courtroom").run()
    assert any(c.value == "Prior: μ₀(innocent) = 7/10, μ₀(guilty) = 3/10" for c in at.caption)


def test_run_it_yourself_download_is_offered_with_valid_tables_only(at):
    def scripts():  # the script download, not the figures' CSV downloads
        return [b for b in at.get("download_button") if not b.key.endswith("_csv")]

    assert len(scripts()) == 1
    edit(at, "inf_pi_i_table",
         {0: {list(at.data_editor(key="inf_pi_i_table").value.columns)[0]: -1.0}})
    assert len(scripts()) == 0
    assert "negative" in error_text(at)
