"""PPO implementation details: every detail a toggle, ablations over seeds on CartPole, trained
live."""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from app_pages.ppo_details import callbacks
from toolbox.figures.ppo import learning_curves, score_differences
from toolbox.lessons import shared as SK
from toolbox.lessons.ppo import analysis, precomputed
from toolbox.lessons.ppo import details as D
from toolbox.lessons.ppo import plan as P
from toolbox.lessons.ppo.details import CHECKLIST, DETAILS
from toolbox.lessons.ppo.script import load_check, script_advice, script_filename, standalone_script
from toolbox.lessons.ppo.variants import (
    BUDGETS,
    DEFAULT_BUDGET,
    DEFAULT_SEEDS,
    DEFAULT_VARIANTS,
    VARIANT_IDS,
    variant_config,
)
from toolbox.ppo.compiled import choose_backend
from toolbox.ppo.config import PPOConfig
from toolbox.serving import RUNNER
from toolbox.serving.ppo_batching import PPORequest
from ui.common import (
    lesson_header,
    page_device,
    query_value,
    set_query,
    show_error,
    submit_ppo,
    watch_job,
)
from ui.figures import show_figure
from ui.jobs import show_replayable
from ui.scenes import scene_bar, show_part

NUMBER_WIDGETS = {  # field: (label, widget key, step, format)
    "num_minibatches": ("minibatches", "ppo_minibatches", 1, None),
    "ent_coef": ("c₂", "ppo_ent_coef", 0.01, "%.3f"),
}

lesson_header(
    "PPO implementation details",
    "PPO's paper gives one objective; the code that makes it work has dozens of details "
    "(Huang et al. counted 37). Here every core detail of CleanRL's `ppo.py` is a toggle. Pick "
    "variants — all on, or one detail off at a time — and train them **all at once** over several "
    "seeds on CartPole-v1 (on a CPU every run is one compiled loop, seconds for CleanRL's 500k "
    "steps; on a GPU the runs are slices of one batched computation), so you see the mean return "
    "and its 95% confidence band per variant as they learn. The page opens on CleanRL's core "
    "ablation — all on and each of 11 details off, 10 seeds, 500k steps each — trained in advance.",
    "Schulman et al. 2017 (PPO); Huang et al. 2022, *The "
    "37 Implementation Details of PPO*; CleanRL `ppo.py`",
)

scene_bar("ppo_details")  # before the widgets: a scene sets them

# ---------------------------------------------------------------------------------------------
# settings from the URL
# ---------------------------------------------------------------------------------------------


def _ids(text: str) -> list[str]:
    ids = [t for t in text.split(",") if t]
    if not ids or any(t not in VARIANT_IDS for t in ids):
        raise ValueError(text)
    return ids


url_variants = query_value("v", list(DEFAULT_VARIANTS), _ids,
                           allowed="variant ids separated by commas: " + ", ".join(VARIANT_IDS))
url_seeds = query_value("seeds", DEFAULT_SEEDS, int, range(1, 11))
url_budget = query_value("budget", DEFAULT_BUDGET, int, BUDGETS)
url_custom = query_value("custom", set(), D.parse_flips,
                         allowed="details separated by commas: " + ", ".join(sorted(D.URL_FLIPS)))

# ---------------------------------------------------------------------------------------------
# the details, each with its equation, the reference's lines and a control
# ---------------------------------------------------------------------------------------------

st.header("The details")
st.caption(
    "Each toggle flips one detail of *your variant* (added to the comparison as “your toggles” "
    "when it differs from CleanRL's defaults). The ablation picker below has each detail off in "
    "turn ready-made. The code under each detail is the readable PPO's own lines "
    "(toolbox/ppo/reference.py), read from the source as the app runs."
)
controls: dict = {}
error_slots: dict = {}  # field -> the place under its input where its error shows
show_debug = True
for d in DETAILS:
    with st.container(border=True):
        left, right = st.columns([4, 1])
        with left:
            st.markdown(f"**{d.name}** · _{d.number}_ — {d.sentence}")
            if d.latex:
                st.latex(d.latex)
            # readable at 1280 px, no sideways scroll
            st.code(D.card_code(d), language="python", wrap_lines=True)
        with right:
            kind = D.control_kind(d)
            if kind == "toggle":
                controls[d.field] = st.toggle(
                    D.toggle_label(d), value=D.initial_toggle(d, url_custom), key=f"ppo_t_{d.field}"
                )
            elif kind == "number":
                label, key, step, fmt = NUMBER_WIDGETS[d.field]
                controls[d.field] = st.number_input(label, value=D.default_number(d), step=step,
                                                    format=fmt, key=key, help=D.number_help(d))
            else:  # debug variables: no learning change, a display toggle
                show_debug = st.toggle("show", value=True, key="ppo_t_debug")
        if kind == "number":
            error_slots[d.field] = st.empty()
field_errors = D.field_errors(controls)  # each at its input; the rest of the page keeps working
for field, message in field_errors.items():
    if field in error_slots:
        with error_slots[field].container():
            show_error(ValueError(message), NUMBER_WIDGETS[field][0])
custom_changes = D.config_changes(controls)

with st.expander(D.other_details_title()):
    st.dataframe(
        pd.DataFrame(CHECKLIST, columns=["detail", "name", "where (CleanRL / Baselines)",
                                         "why not on CartPole"]),
        hide_index=True, width="stretch", height="content",  # every row, no scroll inside the table
    )

# ---------------------------------------------------------------------------------------------
# the ablation
# ---------------------------------------------------------------------------------------------

st.header("Ablation")
# the variants get a row of their own: 12 chips in a 3/5 column were clipped at 1280 px
chosen = st.multiselect(
    "variants", list(VARIANT_IDS), default=url_variants, format_func=VARIANT_IDS.get,
    key="ppo_variants",
)
c2, c3 = st.columns(2)
with c2:
    n_seeds = st.slider("seeds", 1, 10, url_seeds, key="ppo_seeds")
with c3:
    budget = st.select_slider("steps per run", BUDGETS, value=url_budget, key="ppo_budget",
                              format_func={b: f"{b // 1000}k" for b in BUDGETS}.__getitem__)

configs = [variant_config(vid, budget) for vid in chosen]
names = [VARIANT_IDS[vid] for vid in chosen]
if custom_changes and not field_errors:
    custom = PPOConfig(total_timesteps=budget).replace(**custom_changes)
    if custom not in configs:
        configs.append(custom)
        names.append("your toggles")
elif field_errors:
    where = ", ".join(f"“{NUMBER_WIDGETS[f][0]}”" for f in field_errors if f in NUMBER_WIDGETS)
    if where:
        st.caption(f"“your toggles” is left out until the error at {where} (its card above) "
                   "is fixed.")
    if "" in field_errors:
        show_error(ValueError(field_errors[""]), "Your toggles")

set_query(v=",".join(chosen), seeds=n_seeds, budget=budget, custom=D.url_flips(custom_changes))


# cache_resource: one shared, read-only copy of the stored grid for every session (cache_data would
# unpickle a fresh copy of it on every rerun of every session)
@st.cache_resource(show_spinner=False, max_entries=2)
def _stored_payload(mtime: float) -> dict | None:
    return precomputed.load() if mtime else None


payload = _stored_payload(
    precomputed.DEFAULT_FILE.stat().st_mtime if precomputed.DEFAULT_FILE.is_file() else 0.0)
plan, cap_problem = None, None
try:
    plan = P.plan_request(payload, configs, names, list(range(n_seeds)))
except ValueError as err:
    show_error(err, "Variants")
if plan is not None:
    cap_problem = plan.cap_problem()
    to_train = plan.runs_to_train
    st.caption(
        f"{len(configs)} variant(s) × {n_seeds} seed(s) = {len(configs) * n_seeds} runs of "
        f"{budget:,} steps"
        + (", all precomputed: shown below without retraining." if not to_train else
           f": {len(plan.stored)} variant(s) precomputed (shown below), {to_train} run(s) to train"
           + (", by the compiled CPU path (one compiled loop per run)."
              if choose_backend("auto", page_device()) == "compiled"
              else f", as one batched computation on {page_device()}."))
    )
if cap_problem:  # an offer, next to the inputs it changes; the stored results stay shown below
    st.warning(cap_problem + " To train, take one of these:", icon=":material/tune:")
    fix = P.cap_fixes(len(plan.train_index), n_seeds)
    f1, f2 = st.columns(2)
    if fix["seeds"]:
        f1.button(f"Use {fix['seeds']} seeds ({fix['seeds'] * len(plan.train_index)} runs)",
                  key="ppo_fix_seeds", on_click=callbacks.set_seeds, args=(fix["seeds"],))
    droppable = [v for v in chosen if VARIANT_IDS[v] in plan.train_names]
    if droppable:
        with f2:
            drop = st.selectbox(f"or drop {fix['drop']} variant(s), one at a time", droppable,
                                index=len(droppable) - 1, format_func=VARIANT_IDS.get,
                                key="ppo_fix_variant")
            st.button("Drop it", key="ppo_fix_drop", on_click=callbacks.drop_variant,
                      args=(drop, list(chosen)))
can_train = plan is not None and plan.runs_to_train > 0 and not cap_problem
train_clicked = st.button("Train", type="primary", key="ppo_train", disabled=not can_train)

st.subheader("Run it yourself")
if configs:
    pick = st.selectbox(
        "variant",
        names,
        key="ppo_script_variant",
        help="The script trains this variant; its settings are the defaults of its Args.",
    )
    config = configs[names.index(pick)]
    st.download_button(
        "Download it as one Python script", standalone_script(config, pick),
        file_name=script_filename(pick), mime="text/x-python", key="ppo_script",
    )
    st.caption(script_advice(config, pick, load_check()))
else:
    st.caption("Choose a variant above to download it as a script.")


def _render(payload: dict, final: bool, live: bool = False) -> None:
    grid = payload["grid"]
    aggs = {name: analysis.aggregate(s, grid) for name, s in payload["runs"].items()}
    if not final and "progress" in payload:
        st.caption(payload["progress"])
    compared = "all on" in aggs and min(a["runs"] for a in aggs.values()) >= 2 and len(aggs) >= 2
    rows = analysis.compare_to_baseline(payload["runs"]) if compared else None
    if final:
        others = [n for n in aggs if n != "all on"]
        highlight = st.multiselect(
            "highlight against “all on”", others,
            default=analysis.default_highlight(list(aggs), rows), key="ppo_highlight",
            help="These variants are drawn in colour with their 95% bands, “all on” in black; the "
            "others stay as thin grey lines.",
        )
    else:
        highlight = None if len(aggs) <= 4 else analysis.default_highlight(list(aggs), None)
    if final and not show_part("ppo_details", SK.SPOIL_RESULTS):  # a scene's answer, until revealed
        return
    fig = learning_curves(aggs, highlight=highlight)
    if final and live:  # a live comparison ends in seconds: replay it slowly to narrate it
        show_replayable(fig, key="ppo_curves")
    else:
        show_figure(fig, key=None if not final else "ppo_curves", width="stretch")
    if not final:
        return
    st.subheader("Final scores")
    st.dataframe(pd.DataFrame(analysis.score_rows(aggs)), hide_index=True, width="stretch",
                 height="content")  # every row: no scroll inside the table hides one
    if rows is not None:
        st.subheader("What it shows")
        st.info(analysis.explain_comparison(rows, aggs["all on"], payload["budget"]))
        show_figure(score_differences(rows), key="ppo_differences", width="stretch")
    elif "all on" not in aggs:
        st.caption(
            "Add “all on” to the variants to see which details separate from CleanRL's defaults.")
    else:
        st.caption("With 2 or more seeds the page says which variants separate from “all on”.")
    if show_debug:
        st.subheader("Debug variables (mean over the last 10% of training)")
        st.dataframe(pd.DataFrame(analysis.debug_rows(aggs)), hide_index=True, width="stretch",
                     height="content")
    st.download_button(
        # written when clicked, not on every load
        "Download curves (CSV)", lambda: analysis.curves_csv(payload["runs"], grid),
        file_name="ppo_ablation_curves.csv", mime="text/csv", key="ppo_csv", on_click="ignore",
    )


def _summarizer(names, seeds, budget):
    grid = analysis.step_grid(budget)

    def summarize(runs, fraction, elapsed_s):
        if fraction is None:  # the request's finished runs
            return {"grid": grid.tolist(), "runs": analysis.summarize(runs, names, seeds, grid),
                    "budget": budget}
        return analysis.live_payload(runs, names, seeds, grid, fraction, elapsed_s)

    return summarize


st.header("Results")
if plan is None:
    st.info("Choose at least one variant above.")
else:
    seeds, grid = list(plan.seeds), analysis.step_grid(budget)
    key = "ppo:" + json.dumps({"configs": [c.to_dict() for c in plan.train_configs],
                               "names": plan.train_names, "seeds": n_seeds, "budget": budget},
                              sort_keys=True)
    job = RUNNER.get(key) if plan.train_index else None
    if train_clicked and can_train:
        # PPO requests queued while the server is busy train together in one batched computation
        request = PPORequest.make(plan.train_configs, seeds,
                                  _summarizer(plan.train_names, seeds, budget), page_device())
        job = submit_ppo(key, request) or job
    if plan.stored:
        st.caption(precomputed.describe(payload, len(plan.stored) * n_seeds))
    done = None
    def _partial(p):  # the stored variants beside the runs trained so far
        _render(P.merged_payload(plan, grid, budget, p), final=False)

    if job is not None and watch_job(job, _partial, f"Training {plan.runs_to_train} runs"):
        done = job.result
    shown = P.merged_payload(plan, grid, budget, done)
    if plan.train_index and done is None and job is None:
        waiting = ", ".join(f"“{n}”" for n in plan.train_names)
        st.info(f"Press Train to run {waiting} (a classroom pressing it together trains once "
                "and all watch it)."
                + (" The stored variants are shown meanwhile." if shown else ""))
    if shown is not None:
        _render(shown, final=True, live=done is not None)
