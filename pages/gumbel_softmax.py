"""Gumbel-Softmax: sampling categories with Gumbel noise, temperature, and gradient estimators.

Widgets and layout only: every number comes from ``toolbox.gumbel``, every figure from
``toolbox.figures.gumbel``.
"""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import streamlit as st
import torch

from toolbox import gumbel as G
from toolbox.figures import gumbel as FG
from ui.common import lesson_header, page_device, query_value, set_query, show_error

TAU_OPTIONS = [float(f"{t:.3g}") for t in G.log_grid(0.01, 100.0, 81, device="cpu").tolist()]
SWEEP_TAUS = tuple(G.log_grid(0.01, 100.0, 41, device="cpu").tolist())
N_MAX = 100_000
N_SHOWN = 5          # relaxed samples drawn as bars
N_RELAXED = 2_000    # relaxed samples behind the mean, the simplex and the argmax check
N_TERNARY = 400      # of which this many are drawn on the simplex
N_CURVE = 2_000      # samples per τ for the entropy / max-coordinate curves
TABS = {
    "sampling": "① Gumbel-max sampling", "temperature": "② Temperature", "reparameterization": "③ Reparameterization",
    "estimators": "④ Gradient estimators", "rl": "⑤ In RL · references",
}

DEVICE = str(page_device())


def fmt(values) -> str:
    return ", ".join(f"{v:.4g}" for v in values)


def generator(seed: int, salt: int) -> torch.Generator:
    # one stream per part of the page, so moving one control does not reshuffle the others
    return torch.Generator(device=DEVICE).manual_seed(int(seed) * 16 + salt)


def plain(obj):
    """Backend results as numpy: cached values are pickled, and numpy pickles far faster than tensors."""
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu().numpy()
    if isinstance(obj, dict):
        return {k: plain(v) for k, v in obj.items()}
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return SimpleNamespace(**{f.name: plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)})
    return obj


# ---- cached backend calls (keyed on every input; results are small numpy arrays) --------------


@st.cache_data(show_spinner=False, max_entries=256)
def gumbel_max(values: tuple, mode: str, n: int, seed: int, device: str):
    logits = G.distribution_logits(list(values), mode, device=device)
    return plain(G.gumbel_max_experiment(logits, n, generator(seed, 1)))


@st.cache_data(show_spinner=False, max_entries=256)
def relaxed(values: tuple, mode: str, tau: float, seed: int, device: str):
    logits = G.distribution_logits(list(values), mode, device=device)
    return plain(G.relaxed_experiment(logits, tau, N_RELAXED, generator(seed, 2)))


@st.cache_data(show_spinner=False, max_entries=64)
def curve(values: tuple, mode: str, seed: int, device: str):
    logits = G.distribution_logits(list(values), mode, device=device)
    return plain(G.temperature_sweep(logits, list(SWEEP_TAUS), N_CURVE, generator(seed, 3)))


@st.cache_data(show_spinner=False, max_entries=256)
def gaussian(mu: float, sigma: float, seed: int, device: str):
    return plain(G.gaussian_reparameterization(mu, sigma, 5, generator(seed, 4), device=device))


@st.cache_data(show_spinner=False, max_entries=256)
def jacobian(values: tuple, mode: str, tau: float, hard: bool, seed: int, device: str):
    logits = G.distribution_logits(list(values), mode, device=device)
    return plain(G.relaxed_sample_jacobian(logits, tau, hard=hard, generator=generator(seed, 5)))


@st.cache_data(show_spinner=False, max_entries=32)
def graph(kind: str, K: int, hard: bool) -> str:
    return G.computation_graph_dot(kind, K=K, hard=hard)


@st.cache_data(show_spinner=False, max_entries=256)
def estimates_at(values: tuple, mode: str, f: tuple, downstream: str, tau: float, n: int, seed: int, device: str):
    logits = G.distribution_logits(list(values), mode, device=device)
    every = G.estimate_all_gradients(logits, list(f), tau, n, generator(seed, 6), downstream=downstream)
    summaries = {name: plain(G.summarize_estimates(est)) for name, est in every.items()}
    return plain(G.exact_gradient(logits, list(f), downstream)), summaries


@st.cache_data(show_spinner=False, max_entries=64)
def sweep(values: tuple, mode: str, f: tuple, downstream: str, n: int, seed: int, device: str):
    logits = G.distribution_logits(list(values), mode, device=device)
    return plain(G.estimator_sweep(logits, list(f), list(SWEEP_TAUS), n, generator(seed, 7), downstream=downstream))


# ---- page ------------------------------------------------------------------------------------

lesson_header(
    "🎲 Gumbel-Softmax",
    "Adding Gumbel noise to log-probabilities and taking the **argmax** draws an exact sample of a "
    "categorical distribution (the Gumbel-max trick). Replacing the argmax by a **softmax with "
    "temperature τ** gives a sample on the simplex that is a differentiable function of the logits: "
    "the randomness sits in the noise, so gradients flow through the sample (reparameterization). "
    "The price is a bias that vanishes only as τ → 0, where the variance grows — compare it live "
    "with REINFORCE and the straight-through trick.",
    "Gumbel 1954; Jang, Gu & Poole 2017 (Gumbel-Softmax); Maddison, Mnih & Teh 2017 (Concrete)",
)

# URL → initial widget state (only on the first run of a session)
DEFAULTS = {
    "gs_K": query_value("K", 4, int, range(G.K_MIN, G.K_MAX + 1)),
    "gs_preset": query_value("preset", "decreasing", str, G.PRESETS),
    "gs_mode": query_value("mode", "probabilities", str, G.MODES),
    "gs_tau": query_value("tau", 1.0, float, TAU_OPTIONS),
    "gs_n": query_value("N", 10_000, int, lambda v: 100 <= v <= N_MAX),
    "gs_seed": query_value("seed", 0, int, lambda v: 0 <= v < 2**31),
}
if "values" in st.query_params and "gs_values" not in st.session_state:
    st.session_state["gs_values"] = st.query_params["values"]
for key, value in DEFAULTS.items():
    st.session_state.setdefault(key, value)
# Widgets in a closed tab are not drawn, and Streamlit then cleans their values up. Re-assigning a
# value through the Session State API exempts it, so a tab reopens as it was left (None: the page
# fills the value in itself).
INNER = {"gs_n": DEFAULTS["gs_n"], "gs_mu": 0.0, "gs_sigma": 1.0, "gs_hard": False, "gs_graph": "gumbel_softmax",
         "gs_f": None, "gs_downstream": "linear", "gs_n_est": 1000}
for key, default in INNER.items():
    if key in st.session_state:
        st.session_state[key] = st.session_state[key]
    elif default is not None:
        st.session_state[key] = default

with st.container(border=True):
    left, right = st.columns([3, 2], gap="large")
    with left:
        st.markdown("**The categorical distribution π**")
        c1, c2, c3 = st.columns([2, 2, 2])
        K = c1.slider("categories K", G.K_MIN, G.K_MAX, key="gs_K")
        preset = c2.selectbox("preset", G.PRESETS, key="gs_preset")
        mode = c3.radio("type as", G.MODES, key="gs_mode", horizontal=True)
        signature = (K, preset, mode)
        # a new K / preset / mode refills the text; the first run keeps a value from the URL, and a
        # return from another page (Streamlit then has dropped this widget's state) starts afresh
        changed = st.session_state.get("gs_signature", signature) != signature
        if changed or "gs_values" not in st.session_state:
            st.session_state["gs_values"] = fmt(G.preset_values(preset, K, mode))
        st.session_state["gs_signature"] = signature
        values_text = st.text_input(
            f"{mode} (comma-separated, one per category)", key="gs_values",
            help="Edit freely: probabilities must be positive and sum to 1; logits any finite numbers.",
        )
        values = None
        try:
            parsed = G.parse_numbers(values_text, mode)
            if len(parsed) != K:
                raise ValueError(
                    f"You typed {len(parsed)} value(s) but K = {K}: type {K} values or move the K slider."
                )
            G.distribution_logits(parsed, mode, device="cpu")
            values = tuple(parsed)
        except ValueError as err:
            show_error(err, "Distribution")
        if values is None:
            values = tuple(G.preset_values(preset, K, mode))
            st.caption(f"Showing the *{preset}* preset until the values above are fixed.")
        st.latex(r"\pi_k = \frac{e^{\theta_k}}{\sum_{j=1}^{K} e^{\theta_j}}, \qquad \theta_k = \log \pi_k")
    with right:
        st.markdown("**Temperature τ**")
        tau = st.select_slider("temperature τ (log scale)", options=TAU_OPTIONS, key="gs_tau",
                               format_func=lambda t: f"{t:g}")
        st.latex(r"y = \operatorname{softmax}\!\Big(\frac{\theta + g}{\tau}\Big)")
        st.latex(r"g_k \sim \mathrm{Gumbel}(0,1)")
        seed = st.number_input("random seed", min_value=0, max_value=2**31 - 1, step=1, key="gs_seed",
                               help="Same seed, same samples: a shared link shows the same draws.")

set_query(K=K, preset=preset, mode=mode, values=values_text, tau=tau, N=st.session_state["gs_n"], seed=seed)

# lazy tabs: only the open one runs, so a slider move recomputes and redraws one part of the lesson
tab = query_value("tab", "sampling", str, TABS)
st.session_state.setdefault("gs_tab", TABS[tab])
tab1, tab2, tab3, tab4, tab5 = st.tabs(list(TABS.values()), key="gs_tab", on_change="rerun")
tab = {label: name for name, label in TABS.items()}.get(st.session_state.get("gs_tab"), tab)
set_query(tab=tab)

# ---- 1. Gumbel-max ---------------------------------------------------------------------------
with tab1:
    if tab1.open:  # lazy: only the open tab computes
        c1, c2 = st.columns([1, 2], gap="large")
        with c1:
            n = st.slider("number of samples N", 100, N_MAX, step=100, key="gs_n")
            st.latex(r"z = \arg\max_k \big(\theta_k + g_k\big)")
            st.latex(r"g_k = -\log(-\log u_k)")
            st.latex(r"u_k \sim U(0,1)")
            st.latex(r"\Pr[z = k] = \pi_k")
            try:
                ex = gumbel_max(values, mode, n, seed, DEVICE)
                chi = ex.chi_square
                m1, m2 = st.columns(2)
                m1.metric("X² (chi-square)", f"{chi.statistic:.2f}", help=f"{chi.dof} degrees of freedom")
                m2.metric("p-value", f"{chi.p_value:.3f}" if chi.p_value >= 1e-3 else f"{chi.p_value:.1e}")
                st.latex(r"X^2 = \sum_k \frac{(O_k - N\pi_k)^2}{N\pi_k}")
                st.latex(r"p = Q\Big(\tfrac{K-1}{2}, \tfrac{X^2}{2}\Big)")
                st.caption(
                    "A correct sampler gives p-values spread evenly between 0 and 1 as you change the seed; "
                    "only a p-value that is tiny again and again would mean the samples do not follow π."
                )
            except ValueError as err:
                show_error(err, "Sampling")
                ex = None
        with c2:
            if ex is not None:
                st.plotly_chart(FG.frequency_figure(ex.probs, ex.freqs, n), key="gs_fig_freq")

# ---- 2. temperature --------------------------------------------------------------------------
with tab2:
    if tab2.open:  # lazy: only the open tab computes
        try:
            rx = relaxed(values, mode, tau, seed, DEVICE)
            sw = curve(values, mode, seed, DEVICE)
        except ValueError as err:
            show_error(err, "Temperature")
            rx = sw = None
        if rx is not None:
            st.markdown(
                f"Move **τ** (top right, now **{tau:g}**). Small τ: each sample is almost one-hot and "
                "their average approaches π. Large τ: every sample flattens towards the uniform vector."
            )
            st.plotly_chart(FG.relaxed_samples_figure(rx.samples[:N_SHOWN], tau), key="gs_fig_samples")
            c1, c2 = st.columns(2)
            with c1:
                st.plotly_chart(FG.compare_bars_figure(
                    {"target π": rx.probs, f"mean of {N_RELAXED:,} samples y": rx.mean_sample,
                     "frequency of argmax y": rx.argmax_freqs},
                    {"target π": FG.COLORS["target"], f"mean of {N_RELAXED:,} samples y": FG.COLORS["empirical"],
                     "frequency of argmax y": FG.COLORS["current"]},
                    f"E[y] at τ = {tau:g} vs π", "probability", legend_below=True), key="gs_fig_mean")
                st.caption("argmax y is a Gumbel-max sample at every τ; only the *soft* values depend on τ.")
            with c2:
                if K == 3:
                    st.plotly_chart(FG.ternary_figure(rx.samples[:N_TERNARY], rx.probs, tau), key="gs_fig_ternary")
                else:
                    st.info("Set K = 3 to see the samples on the probability simplex (a triangle).", icon="🔺")
            st.plotly_chart(FG.temperature_curve_figure(sw.taus, sw.mean_entropy, sw.mean_max, tau, K),
                            key="gs_fig_curve")
            st.latex(r"H(y) = -\sum_k y_k \log y_k \;\in [0, \log K]")

# ---- 3. reparameterization -------------------------------------------------------------------
with tab3:
    if tab3.open:  # lazy: only the open tab computes
        st.markdown(
            "**The reparameterization trick.** Write the sample as a deterministic function of the "
            "parameters and of noise that does not depend on them; autograd then differentiates the sample."
        )
        c1, c2 = st.columns(2, gap="large")
        with c1:
            st.subheader("Gaussian: z = μ + σ ε")
            a, b = st.columns(2)
            mu = a.number_input("μ", step=0.5, key="gs_mu")
            sigma = b.number_input("σ", step=0.25, key="gs_sigma")
            st.latex(r"z = \mu + \sigma\varepsilon,\quad \varepsilon\sim\mathcal N(0,1)")
            st.latex(r"\frac{\partial z}{\partial \mu} = 1,\qquad \frac{\partial z}{\partial \sigma} = \varepsilon")
            try:
                gr = gaussian(float(mu), float(sigma), seed, DEVICE)
                rows = "\n".join(f"| {e:.4f} | {z:.4f} | {a:g} | {b:.4f} |"
                                 for e, z, a, b in zip(gr.eps, gr.z, gr.dz_dmu, gr.dz_dsigma))
                st.markdown("| ε | z | ∂z/∂μ | ∂z/∂σ |\n|---:|---:|---:|---:|\n" + rows)
                st.caption("∂z/∂μ and ∂z/∂σ computed by autograd: ∂z/∂σ = ε exactly, because the noise is an "
                           "input, not a parameter.")
            except ValueError as err:
                show_error(err, "Gaussian")
        with c2:
            st.subheader("Gumbel-Softmax: y = softmax((θ + g)/τ)")
            hard = st.toggle("straight-through (hard one-hot forward)", key="gs_hard")
            st.latex(r"\frac{\partial y_i}{\partial \theta_j} = \frac{1}{\tau}\big(y_i\,\delta_{ij} - y_i y_j\big)")
            try:
                jac = jacobian(values, mode, tau, hard, seed, DEVICE)
                st.markdown("sample y = " + ", ".join(f"`{v:.3f}`" for v in jac.y.tolist()) +
                            f" with noise g = " + ", ".join(f"`{v:.2f}`" for v in jac.g.tolist()))
                st.plotly_chart(FG.jacobian_figure(jac.jacobian, tau, hard), key="gs_fig_jac")
                st.caption("Smaller τ: larger gradients, concentrated where two categories nearly tie. "
                           "The straight-through sample is one-hot, yet its Jacobian is the soft one.")
            except ValueError as err:
                show_error(err, "Gumbel-Softmax sample")
        # one graphviz chart on the page: the browser's graphviz (wasm) can drop charts drawn at once
        st.markdown("**The computation graph** (torchviz `make_dot`): parameters are the blue leaves; the "
                    "noise enters as a constant, so no gradient has to flow into it.")
        which = st.radio("draw the graph of", ("gumbel_softmax", "gaussian"), key="gs_graph", horizontal=True,
                         format_func=lambda g: {"gaussian": "z = μ + σ ε",
                                                "gumbel_softmax": "y = softmax((θ + g)/τ)" + (" → straight-through" if hard else "")}[g])
        st.graphviz_chart(graph(which, K, bool(hard)))

# ---- 4. gradient estimators ------------------------------------------------------------------
with tab4:
    if tab4.open:  # lazy: only the open tab computes
        st.markdown(
            "Objective: the expected value of a category, $J(\\theta) = \\mathbb{E}_{z\\sim\\mathrm{Cat}(\\pi)}[h(f_z)]$. "
            "Edit f(k); compare "
            "the exact gradient with the per-sample estimators. The lesson: REINFORCE is unbiased but noisy; "
            "the relaxation trades a bias (vanishing as τ → 0) for variance (growing as τ → 0)."
        )
        c1, c2 = st.columns([2, 3], gap="large")
        with c1:
            if st.session_state.get("gs_f_K") != K or "gs_f" not in st.session_state:
                st.session_state["gs_f"] = fmt(G.default_f(K))
                st.session_state["gs_f_K"] = K
            f_text = st.text_input("values f(k), one per category", key="gs_f")
            try:
                f_vals = G.parse_numbers(f_text, "values f(k)")
                f = tuple(G.check_f_values(f_vals, K))
            except ValueError as err:
                show_error(err, "f(k)")
                f = tuple(G.default_f(K))
                st.caption("Using f(k) = k until the values above are fixed.")
            downstream = st.radio("objective reads the sample as", G.DOWNSTREAM, key="gs_downstream", horizontal=True,
                                  format_func=lambda d: {"linear": "f·y (linear)", "square": "(f·y)² (nonlinear)"}[d])
            n_est = st.select_slider("samples per estimate", [250, 500, 1000, 2000, 4000, 8000], key="gs_n_est")
            st.latex(r"J(\theta)=\sum_k \pi_k\, h(f_k)")
            st.latex(r"\frac{\partial J}{\partial\theta_j}=\pi_j\big(h(f_j)-J\big)")
            st.latex(r"\hat g_{\text{REINFORCE}} = h(f_z)\,\nabla_\theta \log \pi_z")
            st.latex(r"\hat g_{\text{GS}} = \nabla_\theta\, h(f\cdot y)")
            st.latex(r"\hat g_{\text{ST}} = h'(f\cdot y_{\text{hard}})\, f^\top \tfrac{\partial y}{\partial\theta}")
        with c2:
            try:
                exact, summaries = estimates_at(values, mode, f, downstream, tau, n_est, seed, DEVICE)
                st.plotly_chart(FG.gradient_bars_figure(exact, {k: v.mean for k, v in summaries.items()},
                                                        {k: v.se for k, v in summaries.items()}, tau), key="gs_fig_grad")
                es = sweep(values, mode, f, downstream, n_est, seed, DEVICE)
                st.plotly_chart(FG.estimator_sweep_figure(es.taus, es.bias, es.std, es.mc_error, tau), key="gs_fig_sweep")
            except ValueError as err:
                show_error(err, "Estimators")
        st.markdown(
            "- **REINFORCE** (score function) is flat in τ: it never relaxes anything, so it is unbiased, "
            "and its noise does not depend on τ.\n"
            "- **Gumbel-Softmax** is biased at large τ (the relaxed sample is far from one-hot, the gradient "
            "vanishes) and noisy at small τ (gradients ∝ 1/τ concentrated on near-ties).\n"
            "- **Straight-through** uses the one-hot sample forward. With a *linear* objective its gradient "
            "equals the Gumbel-Softmax one sample for sample (the dashed line lies on the solid one); "
            "choose the nonlinear objective to see them part.\n"
            "- Below the dotted *Monte Carlo noise level* a measured bias is sampling noise: more samples lower it."
        )

# ---- 5. RL and references --------------------------------------------------------------------
with tab5:
    if tab5.open:  # lazy: only the open tab computes
        st.subheader("When do I use this in RL?")
        st.markdown(
            "- **Learned communication between agents** (e.g. DIAL, Foerster et al. 2016; Lowe et al. 2017 "
            "MADDPG with discrete messages): a discrete message must be sent, yet the listener's loss should "
            "train the speaker. Straight-through Gumbel sends a one-hot message forward and a soft gradient back.\n"
            "- **Discrete actions inside a differentiable pipeline**: deterministic policy gradients or "
            "model-based rollouts through a learned model need ∂(action)/∂θ; Gumbel-Softmax supplies it "
            "(MADDPG's discrete-action variant, SAC-discrete style relaxations).\n"
            "- **Discrete latent variables** in world models and option discovery (categorical latents in "
            "DreamerV2 use straight-through gradients).\n"
            "- **Not needed** for ordinary policy-gradient methods (PPO, A2C): they use the score function "
            "(REINFORCE) with baselines and never differentiate through the sampled action."
        )
        st.subheader("References")
        st.markdown(
            "- E. J. Gumbel (1954). *Statistical Theory of Extreme Values and Some Practical Applications*. "
            "National Bureau of Standards, Applied Mathematics Series 33.\n"
            "- E. Jang, S. Gu, B. Poole (2017). *Categorical Reparameterization with Gumbel-Softmax*. ICLR. "
            "arXiv:1611.01144.\n"
            "- C. J. Maddison, A. Mnih, Y. W. Teh (2017). *The Concrete Distribution: A Continuous Relaxation "
            "of Discrete Random Variables*. ICLR. arXiv:1611.00712.\n"
            "- R. J. Williams (1992). *Simple statistical gradient-following algorithms for connectionist "
            "reinforcement learning* (REINFORCE). Machine Learning 8.\n"
            "- Y. Bengio, N. Léonard, A. Courville (2013). *Estimating or Propagating Gradients Through "
            "Stochastic Neurons* (straight-through). arXiv:1308.3432."
        )
