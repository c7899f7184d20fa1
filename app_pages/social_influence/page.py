"""Social influence: the counterfactual influence reward, live from editable policy tables.

Widgets and layout only: every number comes from ``toolbox.influence``, every figure from
``toolbox.figures.influence``; the editable tables' state lives in
``app_pages.social_influence.tables`` and the learning section in
``app_pages.social_influence.learning``. A bad entry shows an error next to its table and nothing
typed is lost.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import streamlit as st

from app_pages.social_influence import tables as tables
from app_pages.social_influence.learning import WIDGET_KEYS as LEARN_KEYS
from app_pages.social_influence.learning import learning_section
from app_pages.social_influence.tables import (
    K_AI,
    K_EXAMPLE,
    K_NI,
    K_NJ,
    K_NJA,
    K_NORMALIZE,
    K_PHI,
    K_PRESET,
    K_PRIOR,
    K_RECEIVER,
    K_SCHEME,
    K_TABLE_I,
    K_TABLES_J,
)
from toolbox import influence as inf
from toolbox.figures import influence as figs
from toolbox.lessons import influence as influence_lesson
from toolbox.lessons import shared as SK
from ui.common import lesson_header, page_device, query_value, set_query, show_error
from ui.equations import equation
from ui.figures import show_figure
from ui.scenes import scene_bar, show_part

ss = st.session_state
DEVICE = str(page_device())
K_BR, K_STATE, K_SIGNAL, K_MARGINAL, K_SCRIPT = (
    "pa_best_response",
    "pa_state",
    "pa_signal",
    "pa_marginal",
    "inf_script",
)
WIDGET_KEYS = (K_PRESET, K_NI, K_NJA, K_NJ, K_AI, K_EXAMPLE, K_SCHEME, K_BR, K_STATE, K_SIGNAL,
               K_MARGINAL) + LEARN_KEYS
MARGINAL_LABELS = {"state": "given the state: φ(σ′|s)", "prior": "over the prior: p(σ′)"}
tables.restore_widgets()
tables.init_influence(query_value)


def _nats(x: float) -> str:
    return "∞" if math.isinf(x) else f"{x:.4f}"


lesson_header(
    ":material/handshake: Social influence",
    "Jaques et al. reward an agent for **changing what other agents do**. Agent i's influence "
    "reward is the KL divergence between agent j's policy given the action i actually took and j's "
    "*counterfactual marginal*: what j would do on average had i acted from its own policy. On "
    "average this is the mutual information between the two agents' actions. Edit the tables below "
    "and watch the reward respond; then see the same KL adapted to a sender who designs a "
    "signalling scheme, and what happens when agents learn with the bonus.",
    "Jaques et al., *Social Influence as Intrinsic Motivation for Multi-Agent Deep RL*, ICML 2019 "
    "(the influence reward) · Kamenica & Gentzkow, *Bayesian Persuasion*, AER 2011 (the persuasion "
    "setting of section 2) · Lin et al., *Information Design in Multi-Agent Reinforcement "
    "Learning*, NeurIPS 2023 (the recommendation-letter example)",
)

# before the widgets: a scene sets them, then the tables reload from its preset
scene_bar("social_influence", on_apply=tables.load_preset)

# ============================== 1. editable tables ============================================
st.header("1 · The influence reward from two policy tables")
equation(
    r"r^i_t=\sum_{j\neq i}\mathrm{KL}\big[\pi^j(a^j\mid s,a^i_t)\,\big\|\,p(a^j\mid s)\big],\qquad "
    r"p(a^j\mid s)=\sum_{a'}\pi^j(a^j\mid s,a')\,\pi^i(a'\mid s)",
    inf.influence_rewards, inf.counterfactual_marginal)
left, right = st.columns([1, 1.15], gap="large")
with left:
    st.selectbox("Preset", influence_lesson.INFLUENCE_PRESETS, key=K_PRESET,
                 on_change=tables.load_preset)
    if show_part("social_influence", SK.SPOIL_NOTE):  # a preset's note can state a scene's answer
        st.info(ss["inf_note"], icon=":material/lightbulb:")
    c1, c2, c3 = st.columns(3)
    c1.number_input("Actions of i, $A_i$", 2, inf.MAX_ACTIONS, key=K_NI,
                    on_change=tables.resize_tables)
    c2.number_input("Actions of j, $A_j$", 2, inf.MAX_ACTIONS, key=K_NJA,
                    on_change=tables.resize_tables)
    c3.number_input("Influencees", 1, inf.MAX_INFLUENCEES, key=K_NJ, on_change=tables.resize_tables)
    base = tables.influence_base()
    names_i, names_j = base["names_i"], base["names_j"]
    row_names = [f"aⁱ={a} ({n})" for a, n in enumerate(names_i)]
    st.markdown(r"$\pi^i(a^i\mid s)$: agent i's policy")
    raw_i = tables.editor(pd.DataFrame([base["pi_i"]], index=["πⁱ"], columns=list(names_i)),
                          K_TABLE_I)[0]
    pi_i = None
    try:
        pi_i = inf.check_distribution_rows(raw_i, "π^i (agent i's policy)", 1, device=DEVICE)
    except ValueError as err:
        show_error(err, "π^i")
    raw_j, valid_j, labels = [], [], []
    for k in range(base["pi_j"].shape[0]):
        st.markdown(rf"$\pi^j(a^j\mid s,a^i)$ of influencee {k + 1} (one row per action of i)")
        raw = tables.editor(pd.DataFrame(base["pi_j"][k], index=row_names, columns=list(names_j)),
                            K_TABLES_J[k])
        raw_j.append(raw)
        try:
            valid_j.append(inf.check_distribution_rows(raw, f"π^j(·|a^i) of influencee {k + 1}", 2,
                                                       row_names=[
                                                           f"row a^i={a}" for a in range(
                                                               len(names_i))],
                                                       device=DEVICE))
            labels.append(f"influencee {k + 1}")
        except ValueError as err:
            show_error(err, f"influencee {k + 1}")
    tables.remember_influence(raw_i, raw_j)
    st.button("Normalize rows", key=K_NORMALIZE, on_click=tables.normalize_tables,
              help="Divide every row of every table by its sum.")
    normalize_error = tables.pop_normalize_error()
    if normalize_error:
        st.error(f"**Normalize rows**: {normalize_error}", icon=":material/warning:")

with right:
    a_i = st.selectbox("Action i took, $a^i_t$", range(len(names_i)), key=K_AI,
                       format_func=[f"{a}: {name}" for a, name in enumerate(names_i)].__getitem__)
    if pi_i is None or not valid_j:
        st.info("Fix the table marked in red on the left: the influence reward needs valid tables.",
                icon=":material/back_hand:")
    elif show_part("social_influence", SK.SPOIL_RESULTS):
        if len(valid_j) < base["pi_j"].shape[0]:
            st.caption(f"Only {', '.join(labels)} counted until the other tables are fixed.")
        stack = np.stack([t.cpu().numpy() for t in valid_j])
        marg = inf.counterfactual_marginal(pi_i, stack, device=DEVICE).cpu().numpy()
        rewards = inf.influence_rewards(pi_i, stack, device=DEVICE).cpu().numpy()  # (A_i, n_j)
        r_total = inf.influence_reward(pi_i, stack, a_i, device=DEVICE)
        show_figure(figs.marginal_vs_conditional(marg, stack[:, a_i, :], names_j, labels,
                                                 names_i[a_i], rewards[a_i]), key="inf_fig_bars")
        st.caption("KL per influencee: " + " · ".join(
            f"{lab}: {_nats(r)} nats" for lab, r in zip(labels, rewards[a_i])))
        m1, m2 = st.columns(2)
        m1.metric("Influence reward $r^i$ (nats)", _nats(r_total),
                  help=(r"$\sum_j \mathrm{KL}[\pi^j(\cdot\mid "
                        r"a^i)\,\|\,p(a^j)]$ for the chosen action $a^i$."))
        m2.metric(r"$\pi^i(a^i)$", f"{float(pi_i[a_i]):.3f}", help="How often i takes this action.")
        if math.isinf(r_total):
            st.warning(
                r"**Why ∞?** i never plays this action ($\pi^i(a^i) = 0$), so the counterfactual "
                r"marginal gives "
                "probability 0 to a move that j would make after it. Seeing that move would be "
                "infinitely surprising, so the KL is infinite. It never happens, so it adds "
                "nothing to the expectation below.",
                icon=":material/all_inclusive:",
            )
        show_figure(figs.reward_per_action(rewards, pi_i.cpu().numpy(), names_i, labels, a_i),
                    key="inf_fig_all")
        expected = inf.expected_influence(pi_i, stack, device=DEVICE)
        mi = inf.mutual_information(pi_i, stack, device=DEVICE).cpu().numpy()
        equation(r"\mathbb{E}_{a^i\sim\pi^i}\big[r^i\big]=\sum_j I(a^i;a^j)",
                 inf.expected_influence)
        equation(r"I(a^i;a^j)=H(a^j)-H(a^j\mid a^i)", inf.mutual_information)
        e1, e2 = st.columns(2)
        e1.metric(r"$\sum_a \pi^i(a)\, r^i(a)$ (nats)", f"{expected:.4f}",
                  help="The expected influence reward, from the KLs.")
        e2.metric(r"$\sum_j H(a^j) - H(a^j\mid a^i)$ (nats)", f"{float(mi.sum()):.4f}",
                  help="The mutual information, from the entropies of the joint: no KL involved.")
        st.download_button(
            ":material/download: Run it yourself: download "
            "a NumPy script that prints these numbers",
            influence_lesson.influence_script(pi_i.cpu().numpy(), stack, a_i, names_i),
            file_name="influence_reward.py", mime="text/x-python", key=K_SCRIPT)

st.subheader("Why KL to the counterfactual marginal, not to a fixed policy?")
st.markdown(
    "A KL to a fixed reference (say, j's uniform policy) would reward i whenever j "
    "is *predictable*, even if j ignores i completely: j always going left is far from uniform "
    "whatever i does. The "
    r"counterfactual marginal $p(a^j\mid s)$ is what j would do in the same state **had i acted "
    r"from its "
    "own policy**, so everything j does regardless of i cancels out: the reward is zero exactly "
    "when "
    r"j's behaviour does not depend on $a^i$ (try *j ignores i*), and it is large when i's actual "
    r"action "
    "moves j away from what it would have done otherwise. Its expectation is the mutual "
    "information "
    r"$I(a^i; a^j)$, which is zero exactly when the two actions are independent and does not "
    r"change when "
    "either agent's actions are relabelled. Jaques et al. compute it by sampling counterfactual "
    "actions $a'$ and querying j's (or a learned model of j's) "
    "policy, which is what the sum over $a'$ above does exactly."
)

# ============================== 2. signalling =================================================
st.header("2 · The same KL for a sender who designs a signalling scheme")
tables.init_persuasion(query_value)
st.markdown(
    "An adaptation of Jaques et al.'s influence reward to the persuasion setting of Kamenica & "
    "Gentzkow: i (the sender) sees the state s and sends a signal σ from its scheme φ(σ | s); j "
    "(the receiver) acts on the signal. Neither paper defines this reward: it is Jaques et al.'s "
    "KL with the signal in place of i's action. Which counterfactual "
    "marginal it compares with decides what it measures."
)
ss.setdefault(K_MARGINAL, query_value("marginal", "state", str, inf.MARGINALS))
marginal = st.radio("Counterfactual marginal", inf.MARGINALS, key=K_MARGINAL, horizontal=True,
                    format_func=MARGINAL_LABELS.get)
weights_tex = (
    r"\varphi(\sigma'\mid s)"
    if marginal == "state"
    else r"p(\sigma')=\sum_{s'}\mu_0(s')\varphi(\sigma'\mid s')"
)
equation(r"r^i(s,\sigma)=\mathrm{KL}\big[\pi^j(\cdot\mid\sigma)\,\big\|\,\textstyle\sum_{\sigma'}w(\sigma')\,"
         rf"\pi^j(\cdot\mid\sigma')\big],\qquad w(\sigma')={weights_tex}",
         inf.evaluate_scheme, inf.principal_influence)
st.caption(f"Its expectation is {inf.MARGINAL_MEANINGS[marginal]}")
left2, right2 = st.columns([1, 1.15], gap="large")
with left2:
    st.selectbox("Example", inf.PERSUASION_PRESETS, key=K_EXAMPLE, on_change=tables.load_persuasion)
    st.radio(r"Scheme $\varphi(\sigma\mid s)$", inf.SCHEME_NAMES, key=K_SCHEME,
             on_change=tables.load_persuasion, horizontal=True)
    pb = tables.persuasion_base()
    g = pb["game"]
    st.caption(g.story)
    st.markdown(r"Prior $\mu_0(s)$")
    prior_raw = tables.editor(pd.DataFrame([pb["prior"]], index=["μ₀"],
                                           columns=list(g.state_names)), K_PRIOR)[0]
    st.markdown(r"Scheme $\varphi(\sigma\mid s)$: one row per state")
    phi_raw = tables.editor(pd.DataFrame(pb["phi"], index=list(g.state_names),
                                         columns=list(g.signal_names)), K_PHI)
    tables.remember_persuasion(prior=prior_raw, phi=phi_raw)
    pa_ok = True
    for raw, label, ndim, rows in ((prior_raw, "the prior μ0(s)", 1, None),
                                   (phi_raw, "the scheme φ(σ|s)", 2,
                                    [f"row s={n}" for n in g.state_names])):
        try:
            inf.check_distribution_rows(raw, label, ndim, row_names=rows, device=DEVICE)
        except ValueError as err:
            show_error(err, label)
            pa_ok = False
    if pa_ok:
        st.caption("Prior: " + ", ".join(f"μ₀({n}) = {p}" for n, p in
                                         zip(g.state_names, inf.distribution_labels(prior_raw))))
    ss.setdefault(K_BR, True)
    best = st.toggle("Receiver best-responds (Bayesian, ties to the sender)", key=K_BR)
    receiver = None
    if best:
        if pa_ok:
            receiver = inf.receiver_best_response(prior_raw, phi_raw, g.u_sender, g.u_receiver,
                                                  device=DEVICE).cpu().numpy()
            st.markdown(r"Receiver $\pi^j(a\mid\sigma)$ (computed best response)")
            st.dataframe(pd.DataFrame(receiver, index=list(g.signal_names),
                                      columns=list(g.action_names)))
    else:
        st.markdown(r"Receiver $\pi^j(a\mid\sigma)$: one row per signal")
        rec_raw = tables.editor(pd.DataFrame(pb["receiver"], index=list(g.signal_names),
                                             columns=list(g.action_names)),
                                K_RECEIVER)
        tables.remember_persuasion(receiver=rec_raw)
        try:
            receiver = inf.check_distribution_rows(rec_raw, "the receiver's table π^j(a|σ)", 2,
                                                   row_names=[f"row σ={n}" for n in g.signal_names],
                                                   device=DEVICE).cpu().numpy()
        except ValueError as err:
            show_error(err, "receiver")
    with st.expander("Utilities u(s, a)"):
        st.dataframe(pd.DataFrame(np.concatenate([g.u_sender, g.u_receiver], 1),
                                  index=list(g.state_names),
                                  columns=[f"sender: {a}" for a in g.action_names] + [
                                      f"receiver: {a}" for a in g.action_names]))

with right2:
    if not pa_ok or receiver is None:
        st.info("Fix the table marked in red on the left to evaluate the scheme.",
                icon=":material/back_hand:")
    else:
        rep = inf.evaluate_scheme(prior_raw, phi_raw, receiver, g.u_sender, g.u_receiver,
                                  device=DEVICE, marginal=marginal)
        n1, n2, n3, n4 = st.columns(4)
        n1.metric(f"P({g.action_names[0]})", f"{rep.action_probs[0]:.3f}")
        n2.metric("Sender's $E[u^i]$", f"{rep.sender_utility:.3f}")
        n3.metric("Receiver's $E[u^j]$", f"{rep.receiver_utility:.3f}")
        n4.metric(r"$I(\sigma;a\mid s)$ (nats)" if marginal == "state" else r"$I(\sigma;a)$ (nats)",
                  f"{rep.mutual_information:.3f}", help=r"$\mathbb{E}_{s,\sigma}[r^i(s,\sigma)]$")
        if rep.obedient:
            st.success(
                "Obedience holds: after every signal that is sent, the receiver's action is a best "
                       "response to its posterior belief, so following the scheme is rational.",
                       icon=":material/check_circle:")
        else:
            worst = int(np.argmax(rep.obedience_gap))
            st.error(f"Obedience fails: after σ = {g.signal_names[worst]} the receiver could gain "
                     f"{rep.obedience_gap[worst]:.3f} in expectation by deviating.",
                     icon=":material/cancel:")
        show_figure(figs.influence_heatmap(rep.influence, g.state_names, g.signal_names),
                    key="pa_fig_heat")
        s1, s2 = st.columns(2)
        s = s1.selectbox("State s", range(len(g.state_names)),
                         format_func=g.state_names.__getitem__, key=K_STATE)
        sig = s2.selectbox("Signal σ", range(len(g.signal_names)),
                           format_func=g.signal_names.__getitem__, key=K_SIGNAL)
        weights = (inf.check_distribution_rows(phi_raw, "the scheme φ(σ|s)", 2,
                                               device=DEVICE)[s] if marginal == "state"
                   else inf.signal_marginal(prior_raw, phi_raw, device=DEVICE))
        r_sig = inf.principal_influence(weights, receiver, sig, device=DEVICE)
        st.metric(f"$r^i$(s={g.state_names[s]}, σ={g.signal_names[sig]}) (nats)",
                  f"{r_sig:.4f}" if not math.isinf(r_sig) else
                  "∞ (never sent in this state)" if marginal == "state" else "∞ (never sent)")
        st.dataframe(pd.DataFrame(
            np.concatenate([rep.p_sigma[:, None], rep.posterior], 1), index=list(g.signal_names),
            columns=["p(σ)"] + [f"μ({n} | σ)" for n in g.state_names]), key="pa_posteriors")
        st.caption(inf.scheme_caption(g, phi_raw, rep))

# ============================== 3. learning ==================================================
learning_section(DEVICE)

tables.keep_widgets(WIDGET_KEYS)
set_query(preset=ss[K_PRESET], ai=ss[K_AI], example=ss[K_EXAMPLE], scheme=ss[K_SCHEME],
          marginal=ss[K_MARGINAL], game=ss["learn_game"], beta=ss["learn_beta"])
