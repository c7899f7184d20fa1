"""DIAL: agents learn a 1-bit protocol for the Switch Riddle (Foerster et al. 2016)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app_pages.dial.cnet import cnet_section
from app_pages.dial.dru import dru_section
from app_pages.dial.links import link_value
from toolbox.dial.config import METHODS, DialConfig
from toolbox.dial.evaluate import batchnorm_comparison
from toolbox.dial.protocol import decode_protocol, replay_episode
from toolbox.dial.rollout import rollout_loss
from toolbox.dial.train import DialResult, train, train_seeds
from toolbox.figures import dial as figs
from toolbox.figures.style import COLORS
from toolbox.lessons.dial import precomputed
from toolbox.lessons.dial.precomputed import METHOD_LABELS as LABELS
from toolbox.lessons.dial.precomputed import curve_series, message_runs, stored_seeds
from toolbox.lessons.dial.requests import job_key as make_job_key
from toolbox.lessons.dial.requests import lesson_configs, link_agents, request_cost
from toolbox.provenance import provenance_sentence
from toolbox.serving import RUNNER
from ui.common import lesson_header, page_device, set_query, show_error, submit_job, watch_job
from ui.equations import computed_by
from ui.figures import show_figure
from ui.jobs import show_replayable
from ui.scenes import scene_bar

PAPER = (
    "Foerster, Assael, de Freitas, Whiteson, *Learning to Communicate with Deep Multi-Agent "
    "Reinforcement Learning*, NeurIPS 2016 (Switch Riddle: Section 6.1). The authors' code: "
    "iassael/learning-to-communicate (Lua Torch); the PyTorch code this lesson was compared with, "
    "minqi/learning-to-communicate-pytorch, is an unofficial port."
)


@st.cache_data(show_spinner=False)
def load_results() -> dict:
    return precomputed.load_results()


@st.cache_data(show_spinner=False, max_entries=64)
def live_replay(job_key: str, submitted_at: float, episode: int, _team, _config: DialConfig,
                _device) -> list[dict]:
    """The live team's replay of ``episode``, computed once for every session showing that job.

    The team is shared by the class and a replay plays 1,000 episodes (for BatchNorm's statistics):
    computed per session and per rerun, thirty sessions took 30x the CPU and several hundred MB at
    once. ``job_key`` and ``submitted_at`` name the job (a retrained job gets new entries);
    ``max_entries`` bounds what episode numbers typed by students can store.
    """
    return replay_episode(_team, _config, seed=episode, device=_device)


lesson_header(
    ":material/lightbulb: DIAL: learning to communicate",
    "Three prisoners, one light bulb, one visitor a day: can they learn to announce *\"everyone "
    "has been here\"* without ever meeting? **DIAL** trains their Q-networks together and lets the "
    "listener's TD error flow back through the light bulb into the speaker, so a protocol is "
    "learned by gradient descent; at execution the message is rounded to one bit. Below: the "
    "network that reads mixed inputs by embedding and adding them, the unit that makes messages "
    "discrete, live learning curves, and the protocol the agents invent.",
    PAPER,
)
scene_bar("dial")
data = load_results()
device = page_device()

# ------------------------------------------------------------------ 1. C-Net, 2. DRU
cnet_section(data)
dru_section(data)

# ------------------------------------------------------------------ 3. Learning curves
st.header("3 · Learning curves: DIAL vs RIAL vs no communication")
st.latex(
    r"\mathcal{L} = \sum_{t,a}\Big(r_t + \gamma \max_{u} Q^{-}(\tau^a_{t+1}, u) - Q(\tau^a_t, "
    r"u^a_t)\Big)^2,\qquad \text{DIAL: } \frac{\partial "
    r"\mathcal{L}}{\partial m^{a'}_{t-1}} \text{ flows through the DRU}")
computed_by(rollout_loss)
c1, c2, c3, c4 = st.columns([2, 1, 1, 1])  # the Methods box shows its three chips at 1280
methods = c1.multiselect("Methods", list(METHODS), default=list(METHODS), key="curve_methods",
                         format_func=LABELS.__getitem__)
n_agents = int(c2.number_input("Agents n", value=link_value("n", 3, link_agents, "curve_n"), step=1,
                               key="curve_n"))
sharing = c3.toggle("Parameter sharing", value=True, key="curve_sharing")
input_mode = c4.radio("Input layer", ["sum", "concat"], key="curve_input", horizontal=True)
c5, c6, c7 = st.columns(3)
n_batches = int(c5.number_input("Training batches (32 episodes each)", value=600, step=100,
                                key="curve_batches"))
train_sigma = float(c6.number_input("DRU σ", value=2.0, step=0.5, key="curve_sigma"))
n_seeds = int(c7.number_input("Seeds", value=3, step=1, key="curve_seeds"))
set_query(n=n_agents)

configs = {}
try:
    configs = lesson_configs(methods, n_agents, sharing, input_mode, n_batches, train_sigma,
                             n_seeds)
except ValueError as err:
    show_error(err, "Training settings")
job_key = make_job_key(configs, n_seeds) if configs else None


def render_curves(partial: dict, title: str, key: str | None, replay: bool = False) -> None:
    series = [curve_series(LABELS[m], runs, COLORS[m]) for m, runs in partial.items() if runs]
    if series:  # a finished live training can be replayed slowly, for narrating it
        (show_replayable if replay else show_figure)(figs.learning_curves(series, title), key=key)


def result_dicts(job) -> dict:
    """A finished job's results as plain dicts, converted once for every session watching it."""
    return job.derived(
        "dicts", lambda: {m: [r.to_dict() for r in rs] for m, rs in job.result.items()})


def job_fn(report):
    out: dict[str, list[DialResult]] = {}
    total = len(configs)

    def make_cb(i, m):
        def cb(frac, results):
            snapshot = {k: [r.to_dict() for r in v] for k, v in out.items()}
            snapshot[m] = [r.to_dict() for r in results]
            report((i + frac) / total, snapshot)
        return cb

    for i, (m, cfg) in enumerate(configs.items()):
        out[m] = train_seeds(cfg, list(range(n_seeds)), device, make_cb(i, m),
                             on_batch=lambda frac, i=i: report((i + frac) / total))
    return out


if configs:
    stored = {m: seeds for m, cfg in configs.items() if (seeds := stored_seeds(data, cfg, n_seeds))}
    if stored:
        budget = next(iter(stored.values()))[0]["config"]["n_batches"]
        render_curves(stored, f"Precomputed: n = {n_agents}, {budget} batches, "
                      f"{'shared' if sharing else 'separate'} parameters", "fig_curves_stored")
    else:
        st.info(
            "No precomputed curves for these settings: press **Train now** to watch them learn.")
    cost = request_cost(configs, n_seeds, device)
    st.caption(cost.sentence())
    pressed = st.button("Train now", key="train_now", type="primary")
    job = RUNNER.get(job_key)
    if pressed:
        submitted = submit_job(job_key, job_fn, kind="dial", **cost.job_args())
        if submitted is not None:
            job = submitted
            st.session_state["dial_job"] = job_key
    if job is not None:
        # the live curve is redrawn many times in one run:
        # no key, so no CSV button (ui.figures.show_figure)
        ok = watch_job(job, lambda p: render_curves(p, "Training live…", None),
                       "Training the agents")
        if ok:
            render_curves(result_dicts(job),
                          f"Trained live on {device}: n = {n_agents}", "fig_curves_done",
                          replay=True)
            st.session_state["dial_job"] = job_key
    st.caption(
        "Normalized test reward = reward of the greedy policy in execution mode (bits rounded, no "
        "exploration) divided by the oracle's reward, on 1,000 fresh episodes. BatchNorm uses each "
        "day's test-batch statistics, as the reference's test does (see below).")
    st.caption(provenance_sentence(load_results().get("meta", {})))

# Which trained DIAL team the protocol sections show: the live one if this session trained one.
live, live_job = None, None
live_key = st.session_state.get("dial_job")
if live_key:
    j = RUNNER.get(live_key)
    if j is not None and j.status == "done" and "dial" in j.result:
        live, live_job = (j.result["dial"][0], DialConfig(**j.result["dial"][0].config)), j

st.subheader("Test-time BatchNorm: batch statistics are not decentralised execution")
# two lines (aligned): on one line it overflowed the page at 1280 px
st.latex(
    r"\begin{aligned}\mathrm{BN}(x) &= \frac{x "
    r"- \mu}{\sqrt{\sigma^2_x + \epsilon}}\,\gamma + \beta \\ \mu, \sigma^2_x "
    r"&= \begin{cases}\text{mean, variance of the day's test batch (1{,}000 episodes} \times "
    r"n\text{)} & \text{batch statistics} \\ \text{running averages "
    r"from training} & \text{eval mode}\end{cases}\end{aligned}")
computed_by(batchnorm_comparison)
st.markdown(
    "The curves above test the agents with BatchNorm normalising by the mean and variance of each "
    "day's whole test batch: 1,000 episodes and (with parameter sharing) all agents pooled. Each "
    "agent's output then depends on what every other agent in every other episode computes that "
    "day — information no prisoner has, so this is **not** decentralised execution. Decentralised "
    "execution would use the running averages kept during training (PyTorch's eval mode). The same "
    "trained team, tested both ways on the same 1,000 episodes:"
)
bn_rows = []
if live is not None:
    res, cfg = live
    bn_live = live_job.derived("batchnorm", lambda: batchnorm_comparison(res.policy, cfg, 1000,
                                                                         seed=123, device=device))
    bn_rows.append((f"trained live (n = {cfg.n_agents})", bn_live))
for n, bn in sorted(data.get("batchnorm", {}).items()):
    bn_rows.append((f"precomputed DIAL team (n = {n}, seed 0)", bn))
for label, bn in bn_rows:
    col_label, col_batch, col_running = st.columns([2, 1, 1])
    col_label.markdown(f"**{label}**")
    col_batch.metric("batch statistics", f"{bn['batch']:.3f}")
    col_running.metric("running averages (eval mode)", f"{bn['running']:.3f}",
                       delta=f"{bn['running'] - bn['batch']:+.3f}")
if bn_rows:
    st.caption(
        "Normalized test reward (1 = the oracle). The running averages pool every day of every "
        "training batch, while the hidden features drift from day to day, so the normalisation a "
        "day's features get differs from the one the policy was trained with.")

# ------------------------------------------------------------------ 4. Protocol
st.header("4 · The learned protocol, decoded")
st.latex(r"P(\text{light on} \mid \text{day } t,\ k \text{ distinct visitors}),\qquad "
         r"P(\text{Tell} \mid t, k)")
computed_by(decode_protocol)
proto, replays, proto_cfg = None, None, None
if live is not None:
    res, cfg = live
    try:
        # the whole class shares the trained team, so it
        # is decoded once (on the job), not per session
        proto = live_job.derived("protocol", lambda: decode_protocol(res.policy, cfg, 2000,
                                                                     seed=123, device=device))
        proto_cfg = cfg
        st.caption(
            "Decoded from the team you trained live "
            f"({LABELS[cfg.method]}, n = {cfg.n_agents}, seed 0).")
    except ValueError as err:
        show_error(err, "Protocol")
elif "protocol" in data:
    proto = data["protocol"]
    replays = data.get("replays")
    proto_cfg = DialConfig(**data["runs"][proto["run"]]["config"])
    st.caption("Decoded from the precomputed DIAL team (n = 3, seed 0) on 4,000 greedy episodes.")
if proto is not None:
    a, b = st.columns(2)
    show_figure(figs.protocol_heatmap(proto["p_on"], "P(bit left on) by day and visitors", "P(on)"),
                key="fig_p_on", where=a)
    show_figure(figs.protocol_heatmap(proto["p_tell"], "P(Tell) by day and visitors", "P(Tell)"),
                key="fig_p_tell", where=b)
    show_figure(figs.protocol_marginals(proto["p_on_by_day"], proto["p_on_by_k"], "P(bit left on)"),
                key="fig_on_marg", where=a)
    show_figure(figs.protocol_marginals(proto["p_tell_by_day"], proto["p_tell_by_k"], "P(Tell)"),
                key="fig_tell_marg", where=b)
    light = pd.DataFrame({"distinct visitors k": list(range(1, proto["n_agents"] + 1)),
                          "P(Tell | light off)": proto["p_tell_by_k_light"][0],
                          "P(Tell | light on)": proto["p_tell_by_k_light"][1]})
    st.dataframe(light, hide_index=True)
    st.markdown(
        f"Greedy reward / oracle on these episodes: **{proto['normalized']:.3f}**. Blank cells "
        "never happen (for instance k = 3 on day 1).")

    st.subheader("Replay an episode")
    ep = int(st.number_input("Episode", value=0, step=1, key="replay_episode"))
    days = None
    try:
        if ep < 0:
            raise ValueError("Episode numbers start at 0.")
        if live is not None:
            days = live_replay(live_job.key, live_job.submitted_at, ep, live[0].policy, live[1],
                               device)
        elif replays:
            days = replays[ep % len(replays)]
    except ValueError as err:
        show_error(err, "Replay")
    if days:
        upto = st.slider("Show up to day", 1, len(days), len(days),
                         key="replay_day") if len(days) > 1 else 1
        show_figure(figs.replay_strip(days, proto_cfg.n_agents, upto), key="fig_replay")
        table = pd.DataFrame(days[:upto])[["day", "in_room", "light", "m", "bit_sent", "visited",
                                           "action", "reward"]]
        st.dataframe(table.rename(columns={"in_room": "agent in room", "light": "light received",
                                           "m": "message m", "bit_sent": "bit left",
                                           "visited": "distinct visitors"}),
                     hide_index=True)
        last = days[upto - 1]
        st.markdown(f"Day {last['day']}: agent {last['in_room']} is in the room, sees the light "
                    f"{'on' if last['light'] else 'off'}, leaves it "
                    f"{'on' if last['bit_sent'] else 'off'} "
                    f"and does **{last['action']}**" + (f" → reward {last['reward']:+g}." if last[
                        "action"] == "Tell" else "."))

# ------------------------------------------------------------------ 5. Message learning curve
st.header("5 · How messages separate into two codes")
st.latex(
    r"m^a_t \in \mathbb{R} \;\xrightarrow{\text{training}}\; "
    r"\text{two clusters, } m \ll 0 \text{ and } m \gg 0")
computed_by(train)
msg_sources = {}
if live is not None:
    msg_sources["trained live"] = result_dicts(live_job)["dial"][0]
msg_sources.update(message_runs(data))
if msg_sources:
    which = st.selectbox("Run", list(msg_sources), key="message_run")
    r = msg_sources[which]
    x = [e * r["config"]["batch_size"] for e in r["epochs"]]
    show_figure(figs.message_heatmap(x, r["message_edges"], r["message_hist"]), key="fig_messages")
    st.caption(
        "Each column: the pre-DRU messages sent by the agent in the room on 1,000 test episodes at "
        "that point of training. Early on they sit near 0; with σ > 0 they split towards large "
        "negative and positive values — the two codes the DRU rounds to 0 and 1."
    )
else:
    st.info("Train a DIAL team above to see its messages.")
