"""DIAL: agents learn a 1-bit protocol for the Switch Riddle (Foerster et al. 2016)."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import pandas as pd
import streamlit as st

from toolbox.dial.cnet import CNet, graph_source
from toolbox.dial.dru import message_distribution
from toolbox.dial.protocol import decode_protocol, replay_episode
from toolbox.dial.train import METHODS, DialConfig, DialResult, run_key, summarize_seeds, train_seeds
from toolbox.figures import dial as figs
from toolbox.figures.style import COLORS, PALETTE
from toolbox.jobs import RUNNER
from ui.common import lesson_header, page_device, query_value, set_query, show_error, watch_job

RESULTS = Path(__file__).resolve().parent.parent / "results"
RESULT_FILES = ("dial_default.json", "dial_n4.json")  # written by benchmarks/dial_precompute.py
PAPER = ("Foerster, Assael, de Freitas, Whiteson, *Learning to Communicate with Deep Multi-Agent "
         "Reinforcement Learning*, NeurIPS 2016 (Switch Riddle: Section 6.1); reference code: "
         "minqi/learning-to-communicate-pytorch")
LABELS = {"dial": "DIAL", "rial": "RIAL", "nocomm": "No communication"}


@st.cache_data(show_spinner=False)
def load_results() -> dict:
    data: dict = {"runs": {}}
    for name in RESULT_FILES:
        path = RESULTS / name
        if path.exists():
            part = json.loads(path.read_text())
            data["runs"].update(part.pop("runs", {}))
            data.update(part)
    return data


@st.cache_data(show_spinner=False)
def cnet_graph(mode: str) -> str:
    return graph_source(mode)


@st.cache_data(show_spinner=False)
def dru_figure_data(sigma: float, m_values: tuple) -> dict:
    import torch

    d = message_distribution(list(m_values), sigma, n_samples=20_000, generator=torch.Generator().manual_seed(0))
    return {k: v.tolist() for k, v in d.items()}


def curve_series(label: str, runs: list[dict], color: str | None) -> dict:
    """Turn stored/live runs of one variant into a figure series (mean and band from the toolbox)."""
    curves = [r["test_normalized_reward"] for r in runs]
    summary = summarize_seeds(curves)
    k = len(summary["mean"])
    bs = runs[0]["config"]["batch_size"]
    return {"label": f"{label} ({len(runs)} seed{'s' if len(runs) > 1 else ''})",
            "x": [e * bs for e in runs[0]["epochs"][:k]], "color": color, "seeds": curves, **summary}


def matching_runs(data: dict, **want) -> dict:
    """Stored runs whose config has all the given values (budget may differ)."""
    out = {}
    for key, run in data["runs"].items():
        cfg = run["config"]
        if all(cfg.get(k) == v for k, v in want.items()):
            out[key] = run
    return out


def precomputed_comparison(variants: list[tuple[str, dict, str]], title: str, key: str) -> None:
    """Plot stored n = 3 DIAL runs side by side: one (label, config values, colour) per variant."""
    series = []
    for label, want, color in variants:
        runs = matching_runs(data, n_agents=3, method="dial", param_sharing=True, **want)
        if runs:
            series.append(curve_series(label, next(iter(runs.values()))["seeds"], color))
    if series:
        st.plotly_chart(figs.learning_curves(series, title), key=key)


lesson_header(
    "💡 DIAL: learning to communicate",
    "Three prisoners, one light bulb, one visitor a day: can they learn to announce *\"everyone has "
    "been here\"* without ever meeting? **DIAL** trains their Q-networks together and lets the "
    "listener's TD error flow back through the light bulb into the speaker, so a protocol is learned "
    "by gradient descent; at execution the message is rounded to one bit. Below: the network that "
    "reads mixed inputs by embedding and adding them, the unit that makes messages discrete, live "
    "learning curves, and the protocol the agents invent.",
    PAPER,
)
data = load_results()
device = page_device()

# ------------------------------------------------------------------ 1. C-Net
st.header("1 · The C-Net: embed every input, then add")
st.latex(r"z^a_t = \mathrm{Emb}_{\text{agent}}(a) + \mathrm{Emb}_{\text{obs}}(o^a_t) + "
         r"\mathrm{Emb}_{\text{act}}(u^a_{t-1}) + \mathrm{MLP}\big(m_{t-1}\big)")
st.latex(r"h^a_t = \mathrm{GRU}_2(z^a_t, h^a_{t-1}),\quad [Q(\tau^a_t,\cdot),\, m^a_t] = "
         r"\mathrm{Lin}\!\circ\!\mathrm{ReLU}\!\circ\!\mathrm{BN}\!\circ\!\mathrm{Lin}(h^a_t)")
left, right = st.columns([2, 3])
with left:
    mode = st.radio("Input layer", ["sum", "concat"], key="cnet_mode", horizontal=True,
                    index=["sum", "concat"].index(query_value("mode", "sum", str, ["sum", "concat"])),
                    format_func=lambda m: {"sum": "embeddings added (paper)", "concat": "raw inputs concatenated"}[m])
    set_query(mode=mode)
    st.markdown(
        "The agent index, the observation and the previous action are *categories*: a lookup table "
        "gives each a learned vector. The message is a *real number*, so it gets BatchNorm → Linear → "
        "ReLU. All land in the same space ℝ¹²⁸ and are **added** — a Linear layer on concatenated "
        "one-hot codes would compute exactly this sum. Concatenating the *raw* numbers instead (agent "
        "0, 1, 2 as a magnitude) forces one weight per input to serve every category."
    )
    net = CNet(n_agents=3, input_mode=mode)
    shapes = pd.DataFrame([{"stage": s, "shape (96 rows = 32 episodes × 3 agents)": str(tuple(sh))}
                           for s, sh in net.stage_shapes(96)])
    st.table(shapes.set_index("stage"))
    n_params = sum(p.numel() for p in net.parameters())
    st.caption(f"{n_params:,} parameters. One forward pass serves every agent of every episode (parameter sharing).")
with right:
    st.graphviz_chart(cnet_graph(mode), width="stretch")
    st.caption("Autograd graph of one C-Net step (torchviz): blue boxes are parameters, named as in the code.")
precomputed_comparison(
    [(f"DIAL, {m}", dict(input_mode=m, sigma=2.0), c) for m, c in (("sum", COLORS["with"]), ("concat", COLORS["without"]))],
    "Embedding-sum vs raw concatenation (n = 3, precomputed)", "fig_cnet_compare",
)

# ------------------------------------------------------------------ 2. DRU
st.header("2 · The DRU: noisy while learning, one bit when acting")
st.latex(r"\mathrm{DRU}(m) = \begin{cases} \sigma_{\text{logistic}}\big(m + \mathcal{N}(0, \sigma^2)\big) "
         r"& \text{centralised training} \\ \mathbb{1}\{m > 0\} & \text{decentralised execution}\end{cases}")
left, right = st.columns([2, 3])
with left:
    sigma = st.slider("Noise σ", 0.0, 5.0, float(query_value("sigma", 2.0, float, lambda v: 0 <= v <= 5)),
                      0.25, key="dru_sigma")
    set_query(sigma=sigma)
    m_values = (-4.0, -1.0, 0.5, 1.0, 4.0)
    dist = dru_figure_data(sigma, m_values)
    st.metric("Flip probability at m = 1", f"{dist['p_flip'][3]:.1%}",
              help="P(the noisy training message lands on the other side of ½ than the execution bit)")
    st.latex(r"P(\text{flip}) = \Phi(-|m|/\sigma)")
    st.markdown(
        "Noise makes a message near 0 unreliable, so the speaker is pushed to send |m| large — "
        "values that survive rounding: in Part 5, with σ = 2 the sent messages split into two "
        "clusters far from 0. With **σ = 0** nothing pushes them apart: in the precomputed runs they "
        "stay within about ±2 of 0, a code of *shades*. On this small riddle it still survives "
        "rounding — most likely because the listener's BatchNorm rescales whatever spread the messages have; the "
        "DRU's point is that robustness to rounding is trained in rather than left to luck."
    )
with right:
    st.plotly_chart(figs.dru_distribution(dist, m_values, sigma), key="fig_dru")
precomputed_comparison(
    [(f"DIAL, σ = {s:g}", dict(input_mode="sum", sigma=s), c) for s, c in ((2.0, COLORS["with"]), (0.0, COLORS["without"]))],
    "What σ does to learning (test at execution, n = 3, precomputed)", "fig_dru_curves",
)

# ------------------------------------------------------------------ 3. Learning curves
st.header("3 · Learning curves: DIAL vs RIAL vs no communication")
st.latex(r"\mathcal{L} = \sum_{t,a}\Big(r_t + \gamma \max_{u} Q^{-}(\tau^a_{t+1}, u) - Q(\tau^a_t, u^a_t)\Big)^2"
         r",\qquad \text{DIAL: } \frac{\partial \mathcal{L}}{\partial m^{a'}_{t-1}} \text{ flows through the DRU}")
c1, c2, c3, c4 = st.columns(4)
methods = c1.multiselect("Methods", list(METHODS), default=list(METHODS), key="curve_methods",
                         format_func=lambda m: LABELS[m])
n_agents = int(c2.number_input("Agents n", value=int(query_value("n", 3, int)), step=1, key="curve_n"))
sharing = c3.toggle("Parameter sharing", value=True, key="curve_sharing")
input_mode = c4.radio("Input layer", ["sum", "concat"], key="curve_input", horizontal=True)
c5, c6, c7 = st.columns(3)
n_batches = int(c5.number_input("Training batches (32 episodes each)", value=600, step=100, key="curve_batches"))
train_sigma = float(c6.number_input("DRU σ", value=2.0, step=0.5, key="curve_sigma"))
n_seeds = int(c7.number_input("Seeds", value=3, step=1, key="curve_seeds"))
set_query(n=n_agents)

configs, problem = {}, None
try:
    if not methods:
        raise ValueError("Choose at least one method.")
    if n_seeds < 1 or n_seeds > 8:
        raise ValueError(f"Choose between 1 and 8 seeds; got {n_seeds}.")
    for m in methods:
        cfg = DialConfig(n_agents=n_agents, method=m, param_sharing=sharing, input_mode=input_mode,
                         n_batches=n_batches, sigma=train_sigma, test_every=20 if n_agents == 3 else 50)
        cfg.validate()
        configs[m] = cfg
except ValueError as err:
    problem = err
    show_error(err, "Training settings")

job_key = None
if configs:
    job_key = "dial:" + json.dumps({m: asdict(c) for m, c in configs.items()} | {"seeds": n_seeds}, sort_keys=True)


def render_curves(partial: dict, title: str, key: str) -> None:
    series = [curve_series(LABELS[m], runs, COLORS[m]) for m, runs in partial.items() if runs]
    if series:
        st.plotly_chart(figs.learning_curves(series, title), key=key)


def result_dicts(job) -> dict:
    """A finished job's results as plain dicts, converted once for every session watching it."""
    return job.derived("dicts", lambda: {m: [r.to_dict() for r in rs] for m, rs in job.result.items()})


def job_fn(report):
    out: dict[str, list[DialResult]] = {}
    total = len(configs)

    def make_cb(i, m):
        def cb(results, frac):
            snapshot = {k: [r.to_dict() for r in v] for k, v in out.items()}
            snapshot[m] = [r.to_dict() for r in results]
            report((i + frac) / total, snapshot)
        return cb

    for i, (m, cfg) in enumerate(configs.items()):
        out[m] = train_seeds(cfg, list(range(n_seeds)), device, make_cb(i, m))
    return out


if configs:
    stored = {}
    for m, cfg in configs.items():
        found = matching_runs(data, n_agents=n_agents, method=m, param_sharing=sharing, input_mode=input_mode,
                              sigma=train_sigma)
        if found:
            stored[m] = next(iter(found.values()))["seeds"][:n_seeds]
    if stored:
        budget = next(iter(stored.values()))[0]["config"]["n_batches"]
        render_curves(stored, f"Precomputed: n = {n_agents}, {budget} batches, "
                      f"{'shared' if sharing else 'separate'} parameters", "fig_curves_stored")
    else:
        st.info("No precomputed curves for these settings: press **Train now** to watch them learn.")
    pressed = st.button("Train now", key="train_now", type="primary")
    job = RUNNER.get(job_key)
    if pressed:
        job = RUNNER.submit(job_key, job_fn)
        st.session_state["dial_job"] = job_key
    if job is not None:
        ok = watch_job(job, lambda p: render_curves(p, "Training live…", "fig_curves_live"), "Training the agents")
        if ok:
            render_curves(result_dicts(job),
                          f"Trained live on {device}: n = {n_agents}", "fig_curves_done")
            st.session_state["dial_job"] = job_key
    st.caption("Normalized test reward = reward of the greedy policy in execution mode (bits rounded, "
               "BatchNorm on each day's test-batch statistics, as the reference) divided by the oracle's reward, on 1,000 fresh episodes.")

# Which trained DIAL team the protocol sections show: the live one if this session trained one.
live, live_job = None, None
live_key = st.session_state.get("dial_job")
if live_key:
    j = RUNNER.get(live_key)
    if j is not None and j.status == "done" and "dial" in j.result:
        live, live_job = (j.result["dial"][0], DialConfig(**j.result["dial"][0].config)), j

# ------------------------------------------------------------------ 4. Protocol
st.header("4 · The learned protocol, decoded")
st.latex(r"P(\text{light on} \mid \text{day } t,\ k \text{ distinct visitors}),\qquad "
         r"P(\text{Tell} \mid t, k)")
proto, replays, proto_cfg = None, None, None
if live is not None:
    res, cfg = live
    try:
        # the whole class shares the trained team, so it is decoded once (on the job), not per session
        proto = live_job.derived("protocol", lambda: decode_protocol(res.policy, cfg, 2000, seed=123, device=device))
        proto_cfg = cfg
        st.caption(f"Decoded from the team you trained live ({LABELS[cfg.method]}, n = {cfg.n_agents}, seed 0).")
    except ValueError as err:
        show_error(err, "Protocol")
elif "protocol" in data:
    proto = data["protocol"]
    replays = data.get("replays")
    proto_cfg = DialConfig(**data["runs"][proto["run"]]["config"])
    st.caption("Decoded from the precomputed DIAL team (n = 3, seed 0) on 4,000 greedy episodes.")
if proto is not None:
    a, b = st.columns(2)
    a.plotly_chart(figs.protocol_heatmap(proto["p_on"], "P(bit left on) by day and visitors", "P(on)"),
                   key="fig_p_on")
    b.plotly_chart(figs.protocol_heatmap(proto["p_tell"], "P(Tell) by day and visitors", "P(Tell)"),
                   key="fig_p_tell")
    a.plotly_chart(figs.protocol_marginals(proto["p_on_by_day"], proto["p_on_by_k"], "P(bit left on)"),
                   key="fig_on_marg")
    b.plotly_chart(figs.protocol_marginals(proto["p_tell_by_day"], proto["p_tell_by_k"], "P(Tell)"),
                   key="fig_tell_marg")
    light = pd.DataFrame({"distinct visitors k": list(range(1, proto["n_agents"] + 1)),
                          "P(Tell | light off)": proto["p_tell_by_k_light"][0],
                          "P(Tell | light on)": proto["p_tell_by_k_light"][1]})
    st.dataframe(light, hide_index=True)
    st.markdown(f"Greedy reward / oracle on these episodes: **{proto['normalized']:.3f}**. Blank cells never "
                "happen (for instance k = 3 on day 1).")

    st.subheader("Replay an episode")
    ep = int(st.number_input("Episode", value=0, step=1, key="replay_episode"))
    days = None
    try:
        if ep < 0:
            raise ValueError("Episode numbers start at 0.")
        if live is not None:
            days = replay_episode(live[0].policy, live[1], seed=ep, device=device)
        elif replays:
            days = replays[ep % len(replays)]
    except ValueError as err:
        show_error(err, "Replay")
    if days:
        upto = st.slider("Show up to day", 1, len(days), len(days), key="replay_day") if len(days) > 1 else 1
        st.plotly_chart(figs.replay_strip(days, proto_cfg.n_agents, upto), key="fig_replay")
        table = pd.DataFrame(days[:upto])[["day", "in_room", "light", "m", "bit_sent", "visited", "action", "reward"]]
        st.dataframe(table.rename(columns={"in_room": "agent in room", "light": "light received",
                                           "m": "message m", "bit_sent": "bit left", "visited": "distinct visitors"}),
                     hide_index=True)
        last = days[upto - 1]
        st.markdown(f"Day {last['day']}: agent {last['in_room']} is in the room, sees the light "
                    f"{'on' if last['light'] else 'off'}, leaves it {'on' if last['bit_sent'] else 'off'} and "
                    f"does **{last['action']}**" + (f" → reward {last['reward']:+g}." if last["action"] == "Tell" else "."))

# ------------------------------------------------------------------ 5. Message learning curve
st.header("5 · How messages separate into two codes")
st.latex(r"m^a_t \in \mathbb{R} \;\xrightarrow{\text{training}}\; \text{two clusters, } m \ll 0 \text{ and } m \gg 0")
msg_sources = {}
if live is not None:
    msg_sources["trained live"] = result_dicts(live_job)["dial"][0]
for key, run in data["runs"].items():
    cfg = run["config"]
    if cfg["method"] == "dial":
        msg_sources[f"precomputed: n = {cfg['n_agents']}, σ = {cfg['sigma']:g}, {cfg['input_mode']}, "
                    f"{'shared' if cfg['param_sharing'] else 'separate'}"] = run["seeds"][0]
if msg_sources:
    which = st.selectbox("Run", list(msg_sources), key="message_run")
    r = msg_sources[which]
    x = [e * r["config"]["batch_size"] for e in r["epochs"]]
    st.plotly_chart(figs.message_heatmap(x, r["message_edges"], r["message_hist"]), key="fig_messages")
    st.caption("Each column: the pre-DRU messages sent by the agent in the room on 1,000 test episodes at "
               "that point of training. Early on they sit near 0; with σ > 0 they split towards large "
               "negative and positive values — the two codes the DRU rounds to 0 and 1.")
else:
    st.info("Train a DIAL team above to see its messages.")
