"""PPO on continuous control: the nine continuous-action details on Pendulum-v1, where they
separate."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from toolbox.figures.ppo import learning_curves, score_differences
from toolbox.lessons import shared as SK
from toolbox.lessons.ppo_continuous import data as C
from toolbox.lessons.ppo_continuous.script import (
    load_check,
    script_filename,
    script_note,
    standalone_script,
)
from toolbox.ppo.continuous.train import train_variants
from toolbox.provenance import provenance_sentence
from toolbox.serving import RUNNER
from ui.common import lesson_header, query_value, set_query, show_error, submit_job, watch_job
from ui.figures import show_figure
from ui.scenes import scene_bar, show_part

SLUG = "ppo_continuous"

lesson_header(
    "PPO on continuous control",
    "On CartPole almost every detail of PPO can be switched off without a visible cost. On a "
    "continuous-control task the details separate. Here PPO drives Pendulum-v1 (swing a pendulum "
    "up and hold it; the action is a torque in [−2, 2]) with the nine continuous-action details "
    "of Huang et al. as toggles — a Gaussian policy with a learned, state-independent standard "
    "deviation, action clipping with the unclipped action stored, observation normalization and "
    "clipping, reward scaling and clipping — plus the core details. The page opens on a grid "
    f"trained in advance: “all on” and each detail off, over {C.GRID_SEEDS} seeds, compared by "
    "Welch's test "
    "with a multiple-comparison correction. Then train any detail against “all on” live.",
    "Huang et al. 2022, *The 37 Implementation Details of PPO* (continuous-action details); "
    "Schulman et al. 2017 (PPO); Andrychowicz et al. 2021, *What Matters in On-Policy RL*; "
    "CleanRL `ppo_continuous_action.py`",
)

scene_bar(SLUG)

# ---------------------------------------------------------------------------------------------
# the stored grid
# ---------------------------------------------------------------------------------------------

try:
    grid = C.load_grid()
    aggs = C.aggregates(grid["runs"], grid["budget"])
    rows = C.comparison(aggs)
except ValueError as err:
    show_error(err, "precomputed grid")
    grid, aggs, rows = None, {}, []

st.header("Which details matter here")
if grid is not None:
    st.caption(f"Precomputed: {len(aggs)} variants × {len(grid['seeds'])} seeds × "
               f"{grid['budget']:,} steps (results/ppo_continuous_grid.json). "
               + provenance_sentence(grid["meta"]))
    if show_part(SLUG, SK.SPOIL_RESULTS):
        st.markdown(C.finding(aggs, rows, grid["budget"]))
        show_figure(score_differences(rows, C.BASELINE, episodes=C.WINDOW), key="pc_differences")
        st.caption("Each point: the variant's final score minus “all on”'s, with its 95% Welch "
                   "interval. Colours are the verdicts after the Holm–Bonferroni correction over "
                   "all the variants (family-wise α = 0.05).")

# ---------------------------------------------------------------------------------------------
# one detail: its mathematics and its curves
# ---------------------------------------------------------------------------------------------

st.header("One detail against all on")
fields = list(C.DETAILS)
url_detail = query_value("detail", "norm_obs", str, fields)
if SK.PC_DETAIL not in st.session_state:
    st.session_state[SK.PC_DETAIL] = url_detail
# full width: the detail names are long, and a narrow column cut them off at 150 % zoom
detail = st.selectbox("Detail", fields, key=SK.PC_DETAIL,
                      format_func={f: f"{C.DETAILS[f].name} ({f})" for f in fields}.__getitem__)
left, right = st.columns([1, 2], gap="large")
with left:
    d = C.DETAILS[detail]
    st.latex(d.latex)
    st.caption(f"Off: {d.off}. Field `{detail}` of `toolbox.ppo.continuous.args.Args`.")
set_query(detail=detail)
with right:
    shown = {n: aggs[n] for n in (C.BASELINE, C.label(detail)) if n in aggs}
    if len(shown) == 2 and show_part(SLUG, SK.SPOIL_FIGURES):
        fig = learning_curves(shown, title=f"Mean return (last {C.WINDOW} episodes) vs steps",
                              solved=None, y_range=None)
        show_figure(fig, key="pc_curves")

if rows and show_part(SLUG, SK.SPOIL_RESULTS):
    table = pd.DataFrame([{
        "variant": r["variant"], "difference": f"{r['difference']:+.0f} ± {r['half_width']:.0f}",
        "p (Welch)": f"{r['p_value']:.3g}", "p (Holm-adjusted)": f"{r['p_adjusted']:.3g}",
        "verdict": r["verdict"]} for r in rows])
    with st.expander("Every variant's comparison with “all on”"):
        st.dataframe(table, hide_index=True, width="stretch", height="content")

st.subheader("Run it yourself")
off = st.radio("Script of", (False, True), horizontal=True, key="pc_script_variant",
               format_func={False: C.label(None), True: C.label(detail)}.__getitem__,
               help="The script trains this variant; its settings are the defaults of its Args.")
script_name, script_args = C.label(detail if off else None), C.variant_args(detail if off else None)
st.download_button("Download it as one Python script",
                   standalone_script(script_args, script_name),
                   file_name=script_filename(script_name), mime="text/x-python", key="pc_script")
st.caption(script_note(script_args, script_name, load_check()))

# ---------------------------------------------------------------------------------------------
# live: all on against the chosen detail off
# ---------------------------------------------------------------------------------------------

st.header("Train it live")
c1, c2 = st.columns(2)
n_seeds = c1.slider("Seeds", 1, C.MAX_LIVE_SEEDS, 2, key=SK.PC_SEEDS)
budget = c2.select_slider("Steps per run", C.LIVE_BUDGETS, C.LIVE_BUDGETS[-1], key=SK.PC_BUDGET,
                          format_func="{:,}".format)
try:
    names, variants, seeds, key = C.live_request(detail, int(n_seeds), int(budget))
except ValueError as err:
    show_error(err, "live training")
    names = None
if names is not None:
    st.caption(f"Trains “all on” and “{names[1]}”, {len(seeds)} seed(s) each, "
               f"{variants[0].total_timesteps:,} steps per run"
               + (" — the budget of the grid above." if budget == C.LIVE_BUDGETS[-1] else "."))
    started = st.session_state.setdefault("pc_started", [])
    if st.button("Train", key="pc_train", type="primary"):
        def run(report, variants=variants, seeds=seeds):
            return train_variants(variants, seeds, report=report)

        job = submit_job(key, run, work=C.live_work(variants, seeds), kind=SLUG)
        if job is not None and key not in started:
            started.append(key)
    job = RUNNER.get(key) if key in started else None
    if job is not None:
        def render(partial):
            live = C.live_aggregates(names, partial, variants[0].total_timesteps)
            if live:
                show_figure(learning_curves(live, title="Trained live", solved=None,
                                            y_range=None), None)

        if (job.done or watch_job(job, render, "Training")) and job.status == "done":
            render(job.result)
