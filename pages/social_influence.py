"""Social influence: the counterfactual influence reward, live from editable policy tables.

Widgets and layout only: every number comes from ``toolbox.influence``, every figure from
``toolbox.figures.influence``. Tables the student edits are kept in ``st.session_state`` so a bad
entry shows an error next to its table and nothing typed is lost.
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from toolbox import influence as inf
from toolbox.figures import influence as figs
from toolbox.figures.style import COLORS
from toolbox.jobs import RUNNER
from ui.common import lesson_header, page_device, query_value, set_query, show_error, watch_job

ss = st.session_state
DEVICE = str(page_device())
RESULTS = Path(__file__).resolve().parent.parent / "results" / "influence_learning.json"

# widget keys (tests drive them)
K_PRESET, K_NI, K_NJA, K_NJ = "inf_preset", "inf_n_actions_i", "inf_n_actions_j", "inf_n_influencees"
K_TABLE_I = "inf_pi_i_table"
K_TABLES_J = tuple(f"inf_pi_j_table_{k}" for k in range(inf.MAX_INFLUENCEES))
K_NORMALIZE, K_AI = "inf_normalize", "a_i"  # "a_i": the main control tests/e2e moves
K_EXAMPLE, K_SCHEME, K_BR = "pa_example", "pa_scheme", "pa_best_response"
K_PRIOR, K_PHI, K_RECEIVER, K_STATE, K_SIGNAL = "pa_prior_table", "pa_phi_table", "pa_receiver_table", "pa_state", "pa_signal"
K_GAME, K_BETA, K_SEEDS, K_UPDATES = "learn_game", "learn_beta", "learn_seeds", "learn_updates"
DEFAULT_PRESET = "signal changes a move (paper)"
DEFAULTS = inf.InfluenceTrainConfig()
WIDGET_KEYS = (K_PRESET, K_NI, K_NJA, K_NJ, K_AI, K_EXAMPLE, K_SCHEME, K_BR, K_STATE, K_SIGNAL,
               K_GAME, K_BETA, K_SEEDS, K_UPDATES)
KEPT = "inf_kept_widgets"

# Streamlit drops a widget's state while another page runs; put back what the student had set
# (the tables come back from "inf_current" / "pa_current" below).
for _key, _value in ss.get(KEPT, {}).items():
    if _key not in ss:
        ss[_key] = _value


def _generic(names, n: int, prefix: str) -> tuple[str, ...]:
    names = tuple(names)[:n]
    return names + tuple(f"{prefix}{k}" for k in range(len(names), n))


# ---- part 1 state: base tables (what the editors start from) and the last edited values ------


def _clear_editors(keys) -> None:
    for key in keys:
        ss.pop(key, None)


def load_preset() -> None:
    p = inf.influence_preset(ss[K_PRESET], ss.get(K_NJ, 1))
    ss["inf_base"] = dict(pi_i=p.pi_i, pi_j=p.pi_j_given_ai, names_i=p.action_names_i, names_j=p.action_names_j)
    ss["inf_current"] = dict(pi_i=p.pi_i, pi_j=list(p.pi_j_given_ai))
    ss[K_NI], ss[K_NJA] = len(p.pi_i), p.pi_j_given_ai.shape[2]
    ss["inf_note"] = p.explanation
    ss[K_AI] = min(ss.get(K_AI, 0), len(p.pi_i) - 1)
    ss["inf_normalize_error"] = None
    _clear_editors((K_TABLE_I,) + K_TABLES_J)


def resize_tables() -> None:
    cur, base = ss["inf_current"], ss["inf_base"]
    a_i, a_j, n_j = int(ss[K_NI]), int(ss[K_NJA]), int(ss[K_NJ])
    tables = [inf.resize_rows(t, (a_i, a_j)) for t in cur["pi_j"]]
    # a new influencee starts as a copy of the last one, so adding one visibly adds its KL
    pi_j = np.stack((tables + [tables[-1]] * n_j)[:n_j])
    pi_i = inf.resize_rows(np.asarray(cur["pi_i"])[None], (1, a_i))[0]
    ss["inf_base"] = dict(pi_i=pi_i, pi_j=pi_j, names_i=_generic(base["names_i"], a_i, "a"),
                          names_j=_generic(base["names_j"], a_j, "b"))
    ss["inf_current"] = dict(pi_i=pi_i, pi_j=list(pi_j))
    ss[K_AI] = min(ss.get(K_AI, 0), a_i - 1)
    _clear_editors((K_TABLE_I,) + K_TABLES_J)


def normalize_tables() -> None:
    cur, base = ss["inf_current"], ss["inf_base"]
    try:
        pi_i = inf.normalize_rows(cur["pi_i"], "π^i", device="cpu").numpy()
        pi_j = np.stack([inf.normalize_rows(t, f"π^j(·|a^i) of influencee {k + 1}", device="cpu").numpy()
                         for k, t in enumerate(cur["pi_j"])])
    except ValueError as err:
        ss["inf_normalize_error"] = str(err)
        return
    ss["inf_normalize_error"] = None
    ss["inf_base"] = dict(base, pi_i=pi_i, pi_j=pi_j)
    ss["inf_current"] = dict(pi_i=pi_i, pi_j=list(pi_j))
    _clear_editors((K_TABLE_I,) + K_TABLES_J)


if "inf_base" not in ss:
    ss[K_PRESET] = query_value("preset", DEFAULT_PRESET, str, inf.INFLUENCE_PRESETS)
    ss[K_NJ] = 1
    load_preset()
    ss[K_AI] = query_value("ai", 1, int, lambda v: 0 <= v < len(ss["inf_base"]["pi_i"]))


def _editor(df: pd.DataFrame, key: str) -> np.ndarray:
    cfg = {c: st.column_config.NumberColumn(c, format="%.3f", step=0.001) for c in df.columns}
    edited = st.data_editor(df, key=key, num_rows="fixed", column_config=cfg, width="stretch")
    return edited.to_numpy(dtype=float, na_value=np.nan)


# ---- page ------------------------------------------------------------------------------------

lesson_header(
    "🤝 Social influence",
    "Jaques et al. reward an agent for **changing what other agents do**. Agent i's influence reward "
    "is the KL divergence between agent j's policy given the action i actually took and j's "
    "*counterfactual marginal*: what j would do on average had i acted from its own policy. On "
    "average this is the mutual information between the two agents' actions. Edit the tables below "
    "and watch the reward respond; then see the same quantity when i is a sender who designs a "
    "signalling scheme, and what happens when agents learn with the bonus.",
    "Jaques et al., *Social Influence as Intrinsic Motivation for Multi-Agent Deep RL*, ICML 2019 · "
    "Kamenica & Gentzkow, *Bayesian Persuasion*, AER 2011 · Lin et al., *Information Design in "
    "Multi-Agent Reinforcement Learning*, NeurIPS 2023",
)

# ============================== 1. editable tables ============================================
st.header("1 · The influence reward from two policy tables")
st.latex(r"r^i_t=\sum_{j\neq i}\mathrm{KL}\big[\pi^j(a^j\mid s,a^i_t)\,\big\|\,p(a^j\mid s)\big],\qquad "
         r"p(a^j\mid s)=\sum_{a'}\pi^j(a^j\mid s,a')\,\pi^i(a'\mid s)")
left, right = st.columns([1, 1.15], gap="large")
with left:
    st.selectbox("Preset", inf.INFLUENCE_PRESETS, key=K_PRESET, on_change=load_preset)
    st.info(ss["inf_note"], icon="💡")
    c1, c2, c3 = st.columns(3)
    c1.number_input("Actions of i, A_i", 2, inf.MAX_ACTIONS, key=K_NI, on_change=resize_tables)
    c2.number_input("Actions of j, A_j", 2, inf.MAX_ACTIONS, key=K_NJA, on_change=resize_tables)
    c3.number_input("Influencees", 1, inf.MAX_INFLUENCEES, key=K_NJ, on_change=resize_tables)

    if "inf_current" in ss and not all(k in ss for k in (K_TABLE_I,) + K_TABLES_J[: ss["inf_base"]["pi_j"].shape[0]]):
        # an editor lost its edits (a visit to another page): start it from what was typed
        cur = ss["inf_current"]
        ss["inf_base"] = dict(ss["inf_base"], pi_i=np.asarray(cur["pi_i"]), pi_j=np.stack(cur["pi_j"]))
    base = ss["inf_base"]
    names_i, names_j = base["names_i"], base["names_j"]
    row_names = [f"a^i={a} ({n})" for a, n in enumerate(names_i)]
    st.markdown("**π^i(a^i | s)**: agent i's policy")
    raw_i = _editor(pd.DataFrame([base["pi_i"]], index=["π^i"], columns=list(names_i)), K_TABLE_I)[0]
    pi_i = None
    try:
        pi_i = inf.check_distribution_rows(raw_i, "π^i (agent i's policy)", 1, device=DEVICE)
    except ValueError as err:
        show_error(err, "π^i")
    raw_j, valid_j, labels = [], [], []
    for k in range(base["pi_j"].shape[0]):
        st.markdown(f"**π^j(a^j | s, a^i)** of influencee {k + 1} (one row per action of i)")
        df = pd.DataFrame(base["pi_j"][k], index=row_names, columns=list(names_j))
        raw = _editor(df, K_TABLES_J[k])
        raw_j.append(raw)
        try:
            valid_j.append(inf.check_distribution_rows(raw, f"π^j(·|a^i) of influencee {k + 1}", 2,
                                                       row_names=[f"row {r}" for r in row_names], device=DEVICE))
            labels.append(f"influencee {k + 1}")
        except ValueError as err:
            show_error(err, f"influencee {k + 1}")
    ss["inf_current"] = dict(pi_i=raw_i, pi_j=raw_j)
    st.button("Normalize rows", key=K_NORMALIZE, on_click=normalize_tables,
              help="Divide every row of every table by its sum.")
    normalize_error = ss.pop("inf_normalize_error", None)  # shown once, right after the click
    if normalize_error:
        st.error(f"**Normalize rows**: {normalize_error}", icon="⚠️")

with right:
    a_i = st.selectbox("Action i took, a^i_t", range(len(names_i)), key=K_AI,
                       format_func=lambda a: f"{a}: {names_i[a]}")
    if pi_i is None or not valid_j:
        st.info("Fix the table marked in red on the left: the influence reward needs valid tables.", icon="✋")
    else:
        if len(valid_j) < base["pi_j"].shape[0]:
            st.caption(f"Only {', '.join(labels)} counted until the other tables are fixed.")
        stack = np.stack([t.cpu().numpy() for t in valid_j])
        marg = inf.counterfactual_marginal(pi_i, stack, device=DEVICE).cpu().numpy()
        rewards = inf.influence_rewards(pi_i, stack, device=DEVICE).cpu().numpy()  # (A_i, n_j)
        r_total = inf.influence_reward(pi_i, stack, a_i, device=DEVICE)
        st.plotly_chart(figs.marginal_vs_conditional(marg, stack[:, a_i, :], names_j, labels, names_i[a_i],
                                                     rewards[a_i]), key="inf_fig_bars")
        st.caption("KL per influencee: " + " · ".join(
            f"{lab}: {'∞' if math.isinf(r) else f'{r:.4f}'} nats" for lab, r in zip(labels, rewards[a_i])))
        m1, m2 = st.columns(2)
        m1.metric("Influence reward r^i (nats)", "∞" if math.isinf(r_total) else f"{r_total:.4f}",
                  help="Σ_j KL[π^j(·|a^i) ‖ p(a^j)] for the chosen action a^i.")
        m2.metric("π^i(a^i)", f"{float(pi_i[a_i]):.3f}", help="How often i takes this action.")
        if math.isinf(r_total):
            st.warning(
                "**Why ∞?** i never plays this action (π^i(a^i) = 0), so the counterfactual marginal gives "
                "probability 0 to a move that j would make after it. Seeing that move would be infinitely "
                "surprising, so the KL is infinite. It never happens, so it adds nothing to the expectation below.",
                icon="♾️",
            )
        st.plotly_chart(figs.reward_per_action(rewards, pi_i.cpu().numpy(), names_i, labels, a_i), key="inf_fig_all")
        expected = inf.expected_influence(pi_i, stack, device=DEVICE)
        mi = inf.mutual_information(pi_i, stack, device=DEVICE).cpu().numpy()
        st.latex(r"\mathbb{E}_{a^i\sim\pi^i}\big[r^i\big]=\sum_j I(a^i;a^j)")
        st.latex(r"I(a^i;a^j)=H(a^j)-H(a^j\mid a^i)")
        e1, e2 = st.columns(2)
        e1.metric("Σ_a π^i(a) r^i(a) (nats)", f"{expected:.4f}", help="The expected influence reward, from the KLs.")
        e2.metric("Σ_j H(a^j) − H(a^j|a^i) (nats)", f"{float(mi.sum()):.4f}",
                  help="The mutual information, from the entropies of the joint π^i(a^i) π^j(a^j|a^i): no KL involved.")

st.subheader("Why KL to the counterfactual marginal, not to a fixed policy?")
st.markdown(
    "A KL to a fixed reference (say, j's uniform policy) would reward i whenever j is *predictable*, "
    "even if j ignores i completely: j always going left is far from uniform whatever i does. The "
    "counterfactual marginal p(a^j | s) is what j would do in the same state **had i acted from its "
    "own policy**, so everything j does regardless of i cancels out: the reward is zero exactly when "
    "j's behaviour does not depend on a^i (try *j ignores i*), and it is large when i's actual action "
    "moves j away from what it would have done otherwise. Its expectation is the mutual information "
    "I(a^i; a^j), which is zero exactly when the two actions are independent and does not change when "
    "either agent's actions are relabelled. Jaques et al. compute it by sampling counterfactual actions a' and querying j's (or a learned "
    "model of j's) policy, which is what the sum over a' above does exactly."
)

# ============================== 2. principal–agent ============================================
st.header("2 · Principal–agent form: a sender designs a signalling scheme")


def load_persuasion() -> None:
    g = inf.persuasion_preset(ss[K_EXAMPLE], ss[K_SCHEME])
    table = inf.receiver_best_response(g.prior, g.phi, g.u_sender, g.u_receiver, device="cpu").numpy()
    ss["pa_base"] = dict(game=g, prior=g.prior, phi=g.phi, receiver=table)
    ss["pa_current"] = dict(prior=g.prior, phi=g.phi, receiver=table)
    _clear_editors((K_PRIOR, K_PHI, K_RECEIVER))


if "pa_base" not in ss:
    ss[K_EXAMPLE] = query_value("example", inf.PERSUASION_PRESETS[0], str, inf.PERSUASION_PRESETS)
    ss[K_SCHEME] = query_value("scheme", "optimal", str, inf.SCHEME_NAMES)
    load_persuasion()

st.latex(r"r^i(s,\sigma)=\mathrm{KL}\big[\pi^j(\cdot\mid\sigma)\,\big\|\,p(\cdot\mid s)\big],\qquad "
         r"p(a\mid s)=\sum_{\sigma'}\varphi(\sigma'\mid s)\,\pi^j(a\mid\sigma')")
left2, right2 = st.columns([1, 1.15], gap="large")
with left2:
    st.selectbox("Example", inf.PERSUASION_PRESETS, key=K_EXAMPLE, on_change=load_persuasion)
    st.radio("Scheme φ(σ|s)", inf.SCHEME_NAMES, key=K_SCHEME, on_change=load_persuasion, horizontal=True)
    if "pa_current" in ss and not all(k in ss for k in (K_PRIOR, K_PHI)):
        ss["pa_base"] = dict(ss["pa_base"], **{k: v for k, v in ss["pa_current"].items() if k in ("prior", "phi")})
    if "pa_current" in ss and "receiver" in ss["pa_current"] and K_RECEIVER not in ss:
        ss["pa_base"] = dict(ss["pa_base"], receiver=ss["pa_current"]["receiver"])
    pb = ss["pa_base"]
    g = pb["game"]
    st.caption(g.story)
    st.markdown("**Prior μ0(s)**")
    prior_raw = _editor(pd.DataFrame([pb["prior"]], index=["μ0"], columns=list(g.state_names)), K_PRIOR)[0]
    st.markdown("**Scheme φ(σ | s)**: one row per state")
    phi_raw = _editor(pd.DataFrame(pb["phi"], index=list(g.state_names), columns=list(g.signal_names)), K_PHI)
    ss["pa_current"] = dict(prior=prior_raw, phi=phi_raw)
    pa_ok = True
    for raw, label, ndim, rows in ((prior_raw, "the prior μ0(s)", 1, None),
                                   (phi_raw, "the scheme φ(σ|s)", 2, [f"row s={n}" for n in g.state_names])):
        try:
            inf.check_distribution_rows(raw, label, ndim, row_names=rows, device=DEVICE)
        except ValueError as err:
            show_error(err, label)
            pa_ok = False
    ss.setdefault(K_BR, True)
    best = st.toggle("Receiver best-responds (Bayesian, ties to the sender)", key=K_BR)
    receiver = None
    if best:
        if pa_ok:
            receiver = inf.receiver_best_response(prior_raw, phi_raw, g.u_sender, g.u_receiver, device=DEVICE).cpu().numpy()
            st.markdown("**Receiver π^j(a | σ)** (computed best response)")
            st.dataframe(pd.DataFrame(receiver, index=list(g.signal_names), columns=list(g.action_names)))
    else:
        st.markdown("**Receiver π^j(a | σ)**: one row per signal")
        rec_raw = _editor(pd.DataFrame(pb["receiver"], index=list(g.signal_names), columns=list(g.action_names)), K_RECEIVER)
        ss["pa_current"]["receiver"] = rec_raw
        try:
            receiver = inf.check_distribution_rows(rec_raw, "the receiver's table π^j(a|σ)", 2,
                                                   row_names=[f"row σ={n}" for n in g.signal_names], device=DEVICE).cpu().numpy()
        except ValueError as err:
            show_error(err, "receiver")
    with st.expander("Utilities u(s, a)"):
        st.dataframe(pd.DataFrame(np.concatenate([g.u_sender, g.u_receiver], 1), index=list(g.state_names),
                                  columns=[f"sender: {a}" for a in g.action_names] + [f"receiver: {a}" for a in g.action_names]))

with right2:
    if not pa_ok or receiver is None:
        st.info("Fix the table marked in red on the left to evaluate the scheme.", icon="✋")
    else:
        rep = inf.evaluate_scheme(prior_raw, phi_raw, receiver, g.u_sender, g.u_receiver, device=DEVICE)
        n1, n2, n3 = st.columns(3)
        n1.metric(f"P({g.action_names[0]})", f"{rep.action_probs[0]:.3f}")
        n2.metric("Sender's E[u^i]", f"{rep.sender_utility:.3f}")
        n3.metric("Receiver's E[u^j]", f"{rep.receiver_utility:.3f}")
        if rep.obedient:
            st.success("Obedience holds: after every signal that is sent, the receiver's action is a best "
                       "response to its posterior belief, so following the scheme is rational.", icon="✅")
        else:
            worst = int(np.argmax(rep.obedience_gap))
            st.error(f"Obedience fails: after σ = {g.signal_names[worst]} the receiver could gain "
                     f"{rep.obedience_gap[worst]:.3f} in expectation by deviating.", icon="❌")
        st.plotly_chart(figs.influence_heatmap(rep.influence, g.state_names, g.signal_names), key="pa_fig_heat")
        s1, s2 = st.columns(2)
        s = s1.selectbox("State s", range(len(g.state_names)), format_func=lambda k: g.state_names[k], key=K_STATE)
        sig = s2.selectbox("Signal σ", range(len(g.signal_names)), format_func=lambda k: g.signal_names[k], key=K_SIGNAL)
        phi_s = inf.check_distribution_rows(phi_raw, "the scheme φ(σ|s)", 2, device=DEVICE)[s]
        r_sig = inf.principal_influence(phi_s, receiver, sig, device=DEVICE)
        st.metric(f"r^i(s={g.state_names[s]}, σ={g.signal_names[sig]}) (nats)", "∞ (never sent in this state)"
                  if math.isinf(r_sig) else f"{r_sig:.4f}")
        st.dataframe(pd.DataFrame(
            np.concatenate([rep.p_sigma[:, None], rep.posterior], 1), index=list(g.signal_names),
            columns=["p(σ)"] + [f"μ({n} | σ)" for n in g.state_names]), key="pa_posteriors")
        st.caption(
            "The optimal scheme makes the receiver exactly indifferent after the favourable signal (posterior "
            "1/2) and breaks the tie for the sender: Kamenica & Gentzkow's concavification. The sender gains, "
            "the receiver gets no more than with no information, and the influence reward is positive only in "
            "the state where the scheme mixes its signals: information design pays for *credible* influence. "
            "∞ marks a signal the scheme never sends in that state: were it sent, j would act in a way the "
            "state's marginal gives probability 0."
        )

# ============================== 3. learning ==================================================
st.header("3 · Learning with an influence bonus")


@st.cache_resource(show_spinner=False)
def precomputed() -> dict:
    return inf.load_precomputed(str(RESULTS))


def _init(key, value):
    if key not in ss:
        ss[key] = value


_init(K_GAME, query_value("game", DEFAULTS.game, str, list(inf.GAMES)))
_init(K_BETA, query_value("beta", DEFAULTS.beta, float, lambda v: v in inf.BETA_GRID))
_init(K_SEEDS, DEFAULTS.n_seeds)
_init(K_UPDATES, DEFAULTS.iterations)

st.latex(r"r^i=R^i(a^i,a^j)+\beta\,\mathrm{KL}\big[\pi^j(\cdot\mid a^i)\,\big\|\,p(a^j)\big],\qquad "
         r"\theta\leftarrow\theta+\alpha\,(r-\bar r)\,\nabla_\theta\log\pi_\theta(a)")
left3, right3 = st.columns([1, 1.15], gap="large")
with left3:
    game = st.selectbox("Game", list(inf.GAMES), key=K_GAME)
    beta = st.select_slider("Influence weight β", options=list(inf.BETA_GRID), key=K_BETA)
    c1, c2 = st.columns(2)
    c1.number_input("Seeds", 1, inf.MAX_SEEDS, key=K_SEEDS)
    c2.number_input("Updates", 100, inf.MAX_ITERATIONS, step=100, key=K_UPDATES)
with right3:
    st.markdown("Two tabular softmax policies learn by REINFORCE on a sequential matrix game: i moves, j "
                "sees a^i and moves, both are paid. i's reward includes β × its influence on j. All seeds "
                "train together as one batched computation.")
    gm = inf.GAMES[game]
    st.dataframe(pd.DataFrame(
        [[f"{ri:g}, {rj:g}" for ri, rj in zip(row_i, row_j)] for row_i, row_j in zip(gm.r_i, gm.r_j)],
        index=[f"i: {n}" for n in gm.action_names_i], columns=[f"j: {n}" for n in gm.action_names_j]),
        key="learn_payoffs")
    st.caption("Payoffs (R^i, R^j). " + gm.lesson)

cfg = replace(DEFAULTS, game=game, beta=float(beta), n_seeds=int(ss[K_SEEDS]), iterations=int(ss[K_UPDATES]))
cfg_off = replace(cfg, beta=0.0)
try:
    cfg.validate()
except ValueError as err:
    show_error(err, "training settings")
    cfg = None
if cfg is not None:
    label_on, label_off = f"β = {cfg.beta:g} (with bonus)", "β = 0 (no bonus)"
    colors = {label_on: COLORS["with"], label_off: COLORS["without"]}
    store = precomputed()
    runs = None
    if cfg.key() in store and cfg_off.key() in store:
        runs = (store[cfg.key()], store[cfg_off.key()])
        st.caption("Precomputed for these settings (results/influence_learning.json); other seeds or update "
                   "counts train live.")
    else:
        def train(report, cfg=cfg, cfg_off=cfg_off):
            on = inf.train_influence_game(cfg, report=lambda f, p: report(0.5 * f, p), device=DEVICE)
            off = inf.train_influence_game(cfg_off, report=lambda f, p: report(0.5 + 0.5 * f, None), device=DEVICE)
            return on, off

        job = RUNNER.submit(cfg.key() + "|with-baseline", train)

        def render_partial(partial):
            st.plotly_chart(figs.learning_curves(partial.steps, {label_on: (partial.extrinsic_i, partial.mutual_information)},
                                                 colors), key=f"learn_partial_{partial.steps.shape[0]}")

        if (job.done or watch_job(job, render_partial, "Training")) and job.status == "done":
            runs = job.result
    if runs is not None:
        on, off = runs
        st.plotly_chart(figs.learning_curves(on.steps, {label_on: (on.extrinsic_i, on.mutual_information),
                                                        label_off: (off.extrinsic_i, off.mutual_information)}, colors),
                        key="learn_fig")
        summary = inf.final_summary(on, off)
        f1, f2, f3 = st.columns(3)
        f1.metric("Final extrinsic return, with bonus", f"{summary['extrinsic_with']:.3f}",
                  delta=f"{summary['extrinsic_gain']:+.3f} vs β = 0")
        f2.metric("Final I(a^i; a^j), with bonus (nats)", f"{summary['mi_with']:.3f}",
                  help=f"Without the bonus: {summary['mi_without']:.3f} nats.")
        f3.metric(f"Final π^i({gm.action_names_i[0]}), with bonus", f"{summary['p_first_action_with']:.2f}")
        verdict = inf.bonus_effect(on, off)
        text = {"helps": "✅ Here the bonus **helps coordination**: the extrinsic return ends higher than without it.",
                "distorts": "⚠️ Here the bonus **distorts**: i gives up extrinsic return to stay influential.",
                "neutral": "Here the bonus changes the extrinsic return by less than 0.05."}[verdict]
        st.markdown(text)

ss[KEPT] = {k: ss[k] for k in WIDGET_KEYS if k in ss}
set_query(preset=ss[K_PRESET], ai=ss[K_AI], example=ss[K_EXAMPLE], scheme=ss[K_SCHEME], game=ss[K_GAME], beta=ss[K_BETA])
