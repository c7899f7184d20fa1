"""PPO implementation details: every detail a toggle, ablations over seeds on CartPole, trained live."""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from toolbox.figures.ppo import learning_curves, score_differences
from toolbox.jobs import RUNNER
from toolbox.ppo import analysis
from toolbox.ppo import details as D
from toolbox.ppo import precomputed
from toolbox.ppo.config import (
    BUDGETS, DEFAULT_BUDGET, DEFAULT_SEEDS, DEFAULT_VARIANTS, VARIANT_IDS, PPOConfig, variant_config,
)
from toolbox.ppo.details import CHECKLIST, DETAILS
from toolbox.ppo.script import script_filename, standalone_script
from toolbox.ppo.batching import PPORequest
from toolbox.ppo.compiled import choose_backend
from toolbox.ppo.train import check_inputs
from ui.common import lesson_header, page_device, query_value, set_query, show_error, submit_ppo, watch_job
from ui.figures import show_figure
from ui.scenes import scene_bar

NUMBER_WIDGETS = {  # field: (label, widget key, step, format)
    "num_minibatches": ("minibatches", "ppo_minibatches", 1, None),
    "ent_coef": ("c₂", "ppo_ent_coef", 0.01, "%.3f"),
}

lesson_header(
    "PPO implementation details",
    "PPO's paper gives one objective; the code that makes it work has dozens of details "
    "(Huang et al. counted 37). Here every core detail of CleanRL's `ppo.py` is a toggle. Pick variants — "
    "all on, or one detail off at a time — and train them **all at once** over several seeds on CartPole-v1 "
    "(on a CPU every run is one compiled loop, seconds for CleanRL's 500k steps; on a GPU the runs are slices of "
    "one batched computation), so you see the mean return and its 95% confidence band per variant as they "
    "learn. The page opens on CleanRL's core ablation — all on and each of 11 details off, 10 seeds, 500k steps "
    "each — trained in advance.",
    "Schulman et al. 2017 (PPO); Huang et al. 2022, *The 37 Implementation Details of PPO*; CleanRL `ppo.py`",
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


url_variants = query_value("v", list(DEFAULT_VARIANTS), _ids)
url_seeds = query_value("seeds", DEFAULT_SEEDS, int, lambda n: 1 <= n <= 10)
url_budget = query_value("budget", DEFAULT_BUDGET, int, BUDGETS)
url_custom = query_value("custom", set(), D.parse_flips)

# ---------------------------------------------------------------------------------------------
# the details, each with its equation, the reference's lines and a control
# ---------------------------------------------------------------------------------------------

st.header("The details")
st.caption(
    "Each toggle flips one detail of *your variant* (added to the comparison as “your toggles” when it "
    "differs from CleanRL's defaults). The ablation picker below has each detail off in turn ready-made. "
    "The code under each detail is the readable PPO's own lines (toolbox/ppo/reference.py), read from the "
    "source as the app runs."
)
controls: dict = {}
show_debug = True
for d in DETAILS:
    with st.container(border=True):
        left, right = st.columns([4, 1])
        with left:
            st.markdown(f"**{d.name}** · _{d.number}_ — {d.sentence}")
            if d.latex:
                st.latex(d.latex)
            st.code(D.card_code(d), language="python", wrap_lines=True)  # readable at 1280 px, no sideways scroll
        with right:
            kind = D.control_kind(d)
            if kind == "toggle":
                controls[d.field] = st.toggle(D.toggle_label(d), value=D.initial_toggle(d, url_custom),
                                              key=f"ppo_t_{d.field}")
            elif kind == "number":
                label, key, step, fmt = NUMBER_WIDGETS[d.field]
                controls[d.field] = st.number_input(label, value=D.default_number(d), step=step, format=fmt,
                                                    key=key, help=D.number_help(d))
            else:  # debug variables: no learning change, a display toggle
                show_debug = st.toggle("show", value=True, key="ppo_t_debug")
custom_changes = D.config_changes(controls)

with st.expander(D.other_details_title()):
    st.dataframe(
        pd.DataFrame(CHECKLIST, columns=["detail", "name", "where (CleanRL / Baselines)", "why not on CartPole"]),
        hide_index=True, width="stretch",
    )

# ---------------------------------------------------------------------------------------------
# the ablation
# ---------------------------------------------------------------------------------------------

st.header("Ablation")
# the variants get a row of their own: 12 chips in a 3/5 column were clipped at 1280 px
chosen = st.multiselect(
    "variants", list(VARIANT_IDS), default=url_variants, format_func=VARIANT_IDS.get, key="ppo_variants",
)
c2, c3 = st.columns(2)
with c2:
    n_seeds = st.slider("seeds", 1, 10, url_seeds, key="ppo_seeds")
with c3:
    budget = st.select_slider("steps per run", BUDGETS, value=url_budget, key="ppo_budget",
                              format_func=lambda b: f"{b // 1000}k")

settings_error = None
configs, names = [], []
try:
    for vid in chosen:
        configs.append(variant_config(vid, budget))
        names.append(VARIANT_IDS[vid])
    if custom_changes:
        custom = PPOConfig(total_timesteps=budget).replace(**custom_changes)
        if custom not in configs:
            configs.append(custom)
            names.append("your toggles")
    seeds = list(range(n_seeds))
    check_inputs(configs, seeds)
except ValueError as err:
    settings_error = err
    show_error(err, "Settings")

set_query(v=",".join(chosen), seeds=n_seeds, budget=budget, custom=D.url_flips(custom_changes))



# cache_resource: one shared, read-only copy of the stored grid for every session (cache_data would
# unpickle a fresh copy of it on every rerun of every session)
@st.cache_resource(show_spinner=False, max_entries=2)
def _stored_payload(mtime: float) -> dict | None:
    return precomputed.load() if mtime else None


payload = _stored_payload(precomputed.DEFAULT_FILE.stat().st_mtime if precomputed.DEFAULT_FILE.is_file() else 0.0)
stored = None if settings_error is not None else precomputed.lookup(payload, configs, names, seeds)
key = "ppo:" + json.dumps(
    {"configs": [c.to_dict() for c in configs], "names": names, "seeds": n_seeds, "budget": budget}, sort_keys=True
)
runs = len(configs) * n_seeds
st.caption(
    f"{len(configs)} variant(s) × {n_seeds} seed(s) = {runs} runs of {budget:,} steps"
    + (", all precomputed: shown below without retraining." if stored is not None else
       (", trained by the compiled CPU path (one compiled loop per run)." if choose_backend("auto", page_device())
        == "compiled" else f", trained as one batched computation on {page_device()}."))
)
train_clicked = st.button("Train", type="primary", key="ppo_train", disabled=settings_error is not None or stored is not None)

st.subheader("Run it yourself")
if settings_error is None:
    pick = st.selectbox("variant", names, key="ppo_script_variant",
                        help="The script trains this variant; its settings are the defaults of its Args.")
    st.download_button(
        "Download it as one Python script", standalone_script(configs[names.index(pick)], pick),
        file_name=script_filename(pick), mime="text/x-python", key="ppo_script",
    )
    st.caption(
        "One file, CleanRL-shaped (Args, Agent with layer_init, get_value, get_action_and_value, the same loss "
        "names), every detail a named `if` on its setting. It needs only torch, numpy and gymnasium: "
        "`pip install torch numpy gymnasium`, then `python <file> --total-timesteps 50000`. It trains on "
        "Gymnasium's own CartPole-v1 with its own random draws, so its curve is like the page's runs, not equal to them."
    )
else:
    st.caption("Fix the settings above to download them as a script.")


def _render(payload: dict, final: bool) -> None:
    grid = payload["grid"]
    aggs = {name: analysis.aggregate(s, grid) for name, s in payload["runs"].items()}
    if not final and "progress" in payload:
        st.caption(payload["progress"])
    show_figure(learning_curves(aggs), key=None if not final else "ppo_curves", width="stretch")
    if not final:
        return
    st.subheader("Final scores")
    st.dataframe(pd.DataFrame(analysis.score_rows(aggs)), hide_index=True, width="stretch")
    if "all on" in aggs and min(a["runs"] for a in aggs.values()) >= 2 and len(aggs) >= 2:
        rows = analysis.compare_to_baseline(payload["runs"])
        st.subheader("What it shows")
        st.info(analysis.explain_comparison(rows, aggs["all on"], payload["budget"]))
        show_figure(score_differences(rows), key="ppo_differences", width="stretch")
    elif "all on" not in aggs:
        st.caption("Add “all on” to the variants to see which details separate from CleanRL's defaults.")
    else:
        st.caption("With 2 or more seeds the page says which variants separate from “all on”.")
    if show_debug:
        st.subheader("Debug variables (mean over the last 10% of training)")
        st.dataframe(
            pd.DataFrame([{"variant": n, **{k: float(f"{v:.3g}") for k, v in a["debug"].items()}} for n, a in aggs.items()]),
            hide_index=True, width="stretch",
        )
    st.download_button(
        "Download curves (CSV)", analysis.curves_csv(payload["runs"], grid), file_name="ppo_ablation_curves.csv",
        mime="text/csv", key="ppo_csv",
    )


def _summarizer(names, seeds, budget):
    grid = analysis.step_grid(budget)

    def summarize(runs, fraction, elapsed_s):
        if fraction is None:  # the request's finished runs
            return {"grid": grid.tolist(), "runs": analysis.summarize(runs, names, seeds, grid), "budget": budget}
        return analysis.live_payload(runs, names, seeds, grid, fraction, elapsed_s)

    return summarize


job = RUNNER.get(key)
if train_clicked and settings_error is None and stored is None:
    # PPO requests queued while the server is busy train together in one batched computation
    job = submit_ppo(key, PPORequest.make(configs, seeds, _summarizer(names, seeds, budget), page_device())) or job

st.header("Results")
if stored is not None:
    st.caption(precomputed.describe(payload, runs))
    _render(stored, final=True)
elif job is not None:
    if watch_job(job, lambda p: _render(p, final=False), f"Training {runs} runs"):
        _render(job.result, final=True)
else:
    st.info("Press **Train** to run these settings (a classroom pressing it together trains once and all watch it).")
