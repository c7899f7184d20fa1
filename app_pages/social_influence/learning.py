"""Section 3 of the social-influence page: learning with an influence bonus.

What it shows comes from the precomputed β grid unless the student presses **Train**: a change
of seeds or updates alone never starts a training (issue 13). A training it started is watched
through the shared job runner and shown in place of the stored runs.
"""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import streamlit as st

from toolbox import influence as inf
from toolbox.figures import influence as figs
from toolbox.figures.style import COLORS
from toolbox.lessons import influence as influence_lesson
from toolbox.lessons import shared as SK
from toolbox.provenance import provenance_sentence
from toolbox.serving import RUNNER
from ui.common import query_value, show_error, submit_job, watch_job
from ui.equations import equation
from ui.figures import show_figure
from ui.jobs import show_replayable
from ui.scenes import concealed, show_part

K_GAME, K_BETA, K_SEEDS, K_UPDATES = SK.LEARN_GAME, SK.LEARN_BETA, SK.LEARN_SEEDS, SK.LEARN_UPDATES
K_TRAIN = "learn_train"
WIDGET_KEYS = (K_GAME, K_BETA, K_SEEDS, K_UPDATES)
STARTED = "learn_started_jobs"
"""Session key: the job keys this session started with the Train button."""
DEFAULTS = inf.InfluenceTrainConfig()
RESULTS = SK.INF_RESULTS


@st.cache_resource(show_spinner=False)
def precomputed() -> dict:
    return influence_lesson.load_precomputed(str(RESULTS))


def _init(key, value):
    if key not in st.session_state:
        st.session_state[key] = value


def _train_fn(cfg: inf.InfluenceTrainConfig, device: str):
    cfg_off = replace(cfg, beta=0.0)

    def train(report):
        on = inf.train_influence_game(cfg, report=lambda f, p: report(0.5 * f, p), device=device)
        off = inf.train_influence_game(cfg_off, report=lambda f, p: report(0.5 + 0.5 * f, None),
                                       device=device)
        return on, off

    return train


def learning_section(device: str) -> None:
    """Widgets, stored or trained curves, metrics and the verdicts, all from
    ``toolbox.influence``."""
    ss = st.session_state
    st.header("3 · Learning with an influence bonus")
    _init(K_GAME, query_value("game", DEFAULTS.game, str, list(inf.GAMES)))
    _init(K_BETA, query_value("beta", DEFAULTS.beta, float, influence_lesson.BETA_GRID))
    _init(K_SEEDS, DEFAULTS.n_seeds)
    _init(K_UPDATES, DEFAULTS.iterations)
    equation(
        r"r^i=R^i(a^i,a^j)+\beta\,\mathrm{KL}\big[\pi^j(\cdot\mid a^i)\,\big\|\,p(a^j)\big],\qquad "
        r"\theta\leftarrow\theta+\alpha\,(r-\bar r)\,\nabla_\theta\log\pi_\theta(a)",
        inf.train_influence_game, inf.reinforce_gradients)
    store = precomputed()
    left, right = st.columns([1, 1.15], gap="large")
    with left:
        game = st.selectbox("Game", list(inf.GAMES), key=K_GAME)
        beta = st.select_slider(r"Influence weight $\beta$",
                                options=list(influence_lesson.BETA_GRID), key=K_BETA)
        c1, c2 = st.columns(2)
        c1.number_input("Seeds", 1, inf.MAX_SEEDS, key=K_SEEDS)
        c2.number_input("Updates", 100, inf.MAX_ITERATIONS, step=100, key=K_UPDATES)
    gm = inf.GAMES[game]
    with right:
        st.markdown(
            "Two tabular softmax policies learn by REINFORCE on a sequential matrix game: i moves, "
            "j sees $a^i$ and moves, both are paid. i's reward includes $\\beta$ × its influence "
            "on j. All seeds train together as one batched computation.")
        st.dataframe(pd.DataFrame(
            [[f"{ri:g}, {rj:g}" for ri, rj in zip(row_i, row_j)] for row_i, row_j in zip(gm.r_i,
                                                                                         gm.r_j)],
            index=[f"i: {n}" for n in gm.action_names_i],
            columns=[f"j: {n}" for n in gm.action_names_j]),
            key="learn_payoffs")
        st.caption("Payoffs $(R^i, R^j)$. " + gm.lesson)
        try:
            # the sweep states a scene's answer
            if not concealed("social_influence", SK.SPOIL_RESULTS):
                st.markdown(influence_lesson.beta_sweep(store, game).sentence)
        except ValueError as err:
            show_error(err, "precomputed runs")

    cfg = replace(DEFAULTS, game=game, beta=float(beta), n_seeds=int(ss[K_SEEDS]),
                  iterations=int(ss[K_UPDATES]))
    try:
        cfg.validate()
    except ValueError as err:
        show_error(err, "training settings")
        return
    key = influence_lesson.learning_job_key(cfg)
    found = influence_lesson.precomputed_runs(store, cfg)
    exact = found is not None and found[2] == cfg
    started = ss.setdefault(STARTED, [])
    if not exact:
        if st.button(
            f"Train: {cfg.n_seeds} seeds × {cfg.iterations} updates, β = {cfg.beta:g} and β = 0",
            key=K_TRAIN, type="primary"):
            submitted = submit_job(key, _train_fn(cfg, device),
                                   work=2 * cfg.n_seeds * cfg.iterations, kind="influence")
            if submitted is not None and key not in started:
                started.append(key)
    label_on, label_off = f"β = {cfg.beta:g} (with bonus)", "β = 0 (no bonus)"
    colors = {label_on: COLORS["with"], label_off: COLORS["without"]}
    runs, note, live = None, "", False
    job = RUNNER.get(key) if key in started else None
    if job is not None:
        def render_partial(partial):
            show_figure(
                figs.learning_curves(
                    partial.steps,
                    {label_on: (partial.extrinsic_i, partial.mutual_information)},
                    colors,
                ),
                None,
            )

        if (job.done or watch_job(job, render_partial, "Training")) and job.status == "done":
            runs, live = job.result, True
            note = f"Trained live: {cfg.n_seeds} seeds × {cfg.iterations} updates."
    if runs is None and found is not None:
        runs, shown = found[:2], found[2]
        note = (f"Precomputed for {shown.n_seeds} seeds × {shown.iterations} updates "
                "(results/influence_learning.json). "
                f"{provenance_sentence(influence_lesson.load_meta(str(RESULTS)))}")
        if not exact:
            note += (
                f" Your settings ({cfg.n_seeds} seeds × {cfg.iterations} updates) are not "
                "precomputed: press **Train** to train them.")
    if runs is None:
        st.info("No precomputed runs for these settings: press **Train** to train them.")
        return
    on, off = runs
    st.caption(note)
    if not show_part("social_influence", SK.SPOIL_RESULTS):
        return
    fig = figs.learning_curves(on.steps, {label_on: (on.extrinsic_i, on.mutual_information),
                                          label_off: (off.extrinsic_i, off.mutual_information)},
                               colors)
    # a live training can be replayed slowly
    (show_replayable if live else show_figure)(fig, key="learn_fig")
    summary = influence_lesson.final_summary(on, off)
    f1, f2, f3 = st.columns(3)
    f1.metric("Final extrinsic return, with bonus", f"{summary['extrinsic_with']:.3f}",
              delta=f"{summary['extrinsic_gain']:+.3f} vs β = 0")
    f2.metric(r"Final $I(a^i; a^j)$, with bonus (nats)", f"{summary['mi_with']:.3f}",
              help=f"Without the bonus: {summary['mi_without']:.3f} nats.")
    f3.metric(rf"Final $\pi^i$({gm.action_names_i[0]}), with bonus",
              f"{summary['p_first_action_with']:.2f}")
    text = {
        "helps": (":material/check_circle: Here the bonus **helps coordination**: the extrinsic "
                  "return ends higher than without it."),
        "distorts": (":material/warning: Here the bonus **distorts**: "
                     "i gives up extrinsic return to stay influential."),
        "neutral": ("Here the bonus changes the extrinsic return by less than "
                    f"{influence_lesson.EFFECT_TOLERANCE:g}.")}
    st.markdown(text[influence_lesson.bonus_effect(on, off)])

