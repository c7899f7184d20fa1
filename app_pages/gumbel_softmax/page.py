"""Gumbel-Softmax: sampling categories with Gumbel noise, temperature, and gradient estimators.

Widgets and layout only: every number comes from ``toolbox.gumbel``, every figure from
``toolbox.figures.gumbel``.
"""

from __future__ import annotations

import streamlit as st

from app_pages.gumbel_softmax import callbacks
from app_pages.gumbel_softmax.calls import (
    N_RELAXED,
    curve,
    gaussian,
    graph,
    gumbel_max,
    jacobian,
    relaxed,
)
from app_pages.gumbel_softmax.estimators import estimators_panel, fmt
from toolbox import gumbel as G
from toolbox.figures import gumbel as FG
from toolbox.lessons import gumbel as gumbel_lesson
from toolbox.lessons import shared as SK
from toolbox.lessons.gumbel import lesson_text as T
from ui.common import lesson_header, page_device, query_value, set_query, show_error
from ui.equations import equation
from ui.figures import show_figure
from ui.graphs import graph_downloads
from ui.scenes import concealed, scene_bar, show_part

TAU_OPTIONS = [float(f"{t:.3g}") for t in G.log_grid(0.01, 100.0, 81, device="cpu").tolist()]
N_MAX = 100_000
N_SHOWN = 5          # relaxed samples drawn as bars
N_TERNARY = 400      # of which this many are drawn on the simplex
GRAPHS = ("gumbel_softmax", "gaussian")
TABS = {
    "sampling": "① Gumbel-max sampling", "temperature": "② Temperature",
    "reparameterization": "③ Reparameterization", "estimators": "④ Gradient estimators",
    "rl": "⑤ In RL · references",
}

DEVICE = str(page_device())


def graph_slot(which: str, hard: bool) -> int:
    """A distinct position for each (graph, straight-through) pair: see the graph below."""
    return 2 * GRAPHS.index(which) + int(hard)


# ---- page ------------------------------------------------------------------------------------

lesson_header(
    ":material/casino: Gumbel-Softmax",
    "Adding Gumbel noise to log-probabilities and taking the **argmax** draws an exact sample of a "
    "categorical distribution (the Gumbel-max trick). Replacing the argmax by a **softmax with "
    "temperature τ** gives a sample on the simplex that is a differentiable function of the "
    "logits: the randomness sits in the noise, so gradients flow through the sample "
    "(reparameterization). The price is a bias that vanishes only as τ → 0, where the variance "
    "grows — compare it live with REINFORCE (with and "
    "without a baseline) and two straight-through estimators.",
    "Gumbel 1954; Jang, Gu & Poole 2017 (Gumbel-Softmax); Maddison, Mnih & Teh 2017 (Concrete)",
)

# before the widgets
scene_bar("gumbel_softmax", tab_key=SK.GS_TAB, tab_labels=TABS, on_apply=callbacks.refill_values)

# URL → initial widget state (only on the first run of a session)
DEFAULTS = {
    SK.GS_K: query_value("K", 4, int, range(G.K_MIN, G.K_MAX + 1)),
    SK.GS_PRESET: query_value("preset", "decreasing", str, G.PRESETS),
    SK.GS_MODE: query_value("mode", "probabilities", str, G.MODES),
    SK.GS_TAU: query_value("tau", 1.0, float, TAU_OPTIONS),
    SK.GS_N: query_value("N", 10_000, int, range(100, N_MAX + 1)),
    SK.GS_SEED: query_value("seed", 0, int, range(2**31)),
}
if "values" in st.query_params and "gs_values" not in st.session_state:
    st.session_state["gs_values"] = st.query_params["values"]
for key, value in DEFAULTS.items():
    st.session_state.setdefault(key, value)
# Widgets in a closed tab are not drawn, and Streamlit then cleans their values up. Re-assigning a
# value through the Session State API exempts it, so a tab reopens as it was left (None: the page
# fills the value in itself).
INNER = {"gs_n": DEFAULTS["gs_n"], "gs_mu": 0.0, "gs_sigma": 1.0, "gs_hard": False,
         "gs_graph": "gumbel_softmax", "gs_f": None, "gs_downstream": "linear", "gs_n_est": 1000}
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
        K = c1.slider("categories K", G.K_MIN, G.K_MAX, key=SK.GS_K)
        preset = c2.selectbox("preset", G.PRESETS, key=SK.GS_PRESET)
        mode = c3.radio("type as", G.MODES, key=SK.GS_MODE, horizontal=True)
        signature = (K, preset, mode)
        # a new K / preset / mode refills the text; the first run keeps a value from the URL, and a
        # return from another page (Streamlit then has dropped this widget's state) starts afresh
        changed = st.session_state.get("gs_signature", signature) != signature
        if changed or "gs_values" not in st.session_state:
            st.session_state["gs_values"] = fmt(G.preset_values(preset, K, mode))
        st.session_state["gs_signature"] = signature
        values_text = st.text_input(
            f"{mode} (comma-separated, one per category)", key=SK.GS_VALUES,
            help=("Edit freely: probabilities must be positive "
                  "and sum to 1; logits any finite numbers."),
        )
        values = None
        try:
            parsed = G.parse_numbers(values_text, mode)
            if len(parsed) != K:
                raise ValueError(
                    f"You typed {len(parsed)} value(s) but "
                    f"K = {K}: type {K} values or move the K slider."
                )
            G.distribution_logits(parsed, mode, device="cpu")
            values = tuple(parsed)
        except ValueError as err:
            show_error(err, "Distribution")
        if values is None:
            values = tuple(G.preset_values(preset, K, mode))
            st.caption(f"Showing the *{preset}* preset until the values above are fixed.")
        equation(
            r"\pi_k = \frac{e^{\theta_k}}{\sum_{j=1}^{K} "
            r"e^{\theta_j}}, \qquad \theta_k = \log \pi_k",
            G.distribution_logits)
    with right:
        st.markdown("**Temperature τ**")
        tau = st.select_slider("temperature τ (log scale)", options=TAU_OPTIONS, key=SK.GS_TAU,
                               format_func="{:g}".format)
        equation(r"y = \operatorname{softmax}\!\Big(\frac{\theta + g}{\tau}\Big)",
                 G.gumbel_softmax_from_noise)
        equation(r"g_k \sim \mathrm{Gumbel}(0,1)", G.sample_gumbel)
        seed = st.number_input("random seed", min_value=0, max_value=2**31 - 1, step=1,
                               key=SK.GS_SEED,
                               help="Same seed, same samples: a shared link shows the same draws.")

set_query(K=K, preset=preset, mode=mode, values=values_text, tau=tau, N=st.session_state["gs_n"],
          seed=seed)

# lazy tabs: only the open one runs, so a slider move recomputes and redraws one part of the lesson
tab = query_value("tab", "sampling", str, TABS)
st.session_state.setdefault("gs_tab", TABS[tab])
tab1, tab2, tab3, tab4, tab5 = st.tabs(list(TABS.values()), key=SK.GS_TAB, on_change="rerun")
tab = {label: name for name, label in TABS.items()}.get(st.session_state.get("gs_tab"), tab)
set_query(tab=tab)

# ---- 1. Gumbel-max ---------------------------------------------------------------------------
with tab1:
    if tab1.open:  # lazy: only the open tab computes
        c1, c2 = st.columns([2, 3], gap="large")  # the left column holds the equations at 1280 px
        with c1:
            n = st.slider("number of samples N", 100, N_MAX, step=100, key=SK.GS_N)
            equation(r"z = \arg\max_k \big(\theta_k + g_k\big)", G.gumbel_max_sample)
            # one per line: fits at 1280
            equation([r"g_k = -\log(-\log u_k)", r"u_k \sim U(0,1)"], G.sample_gumbel)
            equation(r"\Pr[z = k] = \pi_k", G.gumbel_max_experiment)
            try:
                ex = gumbel_max(values, mode, n, seed, DEVICE)
                chi = ex.chi_square
                if show_part("gumbel_softmax", SK.SPOIL_METRICS):
                    m1, m2 = st.columns(2)
                    m1.metric("X² (chi-square)", f"{chi.statistic:.2f}",
                              help=f"{chi.dof} degrees of freedom")
                    m2.metric("p-value",
                              f"{chi.p_value:.3f}" if chi.p_value >= 1e-3 else f"{chi.p_value:.1e}")
                equation([r"X^2 = \sum_k \frac{(O_k - N\pi_k)^2}{N\pi_k}",
                          r"p = Q\Big(\tfrac{K-1}{2}, \tfrac{X^2}{2}\Big)"],
                         G.chi_square_test)
                st.caption(
                    "A correct sampler gives p-values spread evenly between 0 and 1 as you change "
                    "the seed; only a p-value that is tiny again and "
                    "again would mean the samples do not follow π."
                )
            except ValueError as err:
                show_error(err, "Sampling")
                ex = None
        with c2:
            if ex is not None and show_part("gumbel_softmax", SK.SPOIL_FIGURES):
                show_figure(FG.frequency_figure(ex.probs, ex.freqs, n), key="gs_fig_freq")

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
            # a scene asks about these averages
            hidden = concealed("gumbel_softmax", SK.SPOIL_FIGURES)
            more = (
                ""
                if hidden
                else (
                    " Small τ: each sample is almost one-hot and their average approaches "
                    "π. Large τ: every sample flattens towards the uniform vector."
                )
            )
            st.markdown(f"Move **τ** (top right, now **{tau:g}**)." + more)
            show_figure(FG.relaxed_samples_figure(rx.samples[:N_SHOWN], tau), key="gs_fig_samples")
            c1, c2 = st.columns(2)
            with c1:
                if show_part("gumbel_softmax", SK.SPOIL_FIGURES):
                    mean = f"mean of {N_RELAXED:,} samples y"
                    show_figure(FG.compare_bars_figure(
                        {"target π": rx.probs, mean: rx.mean_sample,
                         "frequency of argmax y": rx.argmax_freqs},
                        {"target π": FG.COLORS["target"], mean: FG.COLORS["empirical"],
                         "frequency of argmax y": FG.COLORS["current"]},
                        f"E[y] at τ = {tau:g} vs π", "probability", legend_below=True),
                                key="gs_fig_mean")
                    st.caption(
                        "argmax y is a Gumbel-max sample at every "
                        "τ; only the *soft* values depend on τ.")
            with c2:
                if K == 3:
                    show_figure(FG.ternary_figure(rx.samples[:N_TERNARY], rx.probs, tau),
                                key="gs_fig_ternary")
                else:
                    st.info("Set K = 3 to see the samples on the probability simplex (a triangle).",
                            icon=":material/change_history:")
            if not hidden:
                show_figure(FG.temperature_curve_figure(sw.taus, sw.mean_entropy, sw.mean_max, tau,
                                                        K),
                            key="gs_fig_curve")
            equation(r"H(y) = -\sum_k y_k \log y_k \;\in [0, \log K]", G.sample_entropy)

# ---- 3. reparameterization -------------------------------------------------------------------
with tab3:
    if tab3.open:  # lazy: only the open tab computes
        st.markdown(
            "**The reparameterization trick.** Write the sample as a deterministic function of the "
            "parameters and of noise that does not depend on "
            "them; autograd then differentiates the sample."
        )
        c1, c2 = st.columns(2, gap="large")
        with c1:
            st.subheader("Gaussian: z = μ + σ ε")
            a, b = st.columns(2)
            mu = a.number_input("μ", step=0.5, key="gs_mu")
            sigma = b.number_input("σ", step=0.25, key="gs_sigma")
            equation([r"z = \mu + \sigma\varepsilon,\quad \varepsilon\sim\mathcal N(0,1)",
                      r"\frac{\partial z}{\partial \mu} = 1,\quad "
                      r"\frac{\partial z}{\partial \sigma} = \varepsilon"],
                     G.gaussian_reparameterization)
            try:
                gr = gaussian(float(mu), float(sigma), seed, DEVICE)
                rows = "\n".join(f"| {e:.4f} | {z:.4f} | {a:g} | {b:.4f} |"
                                 for e, z, a, b in zip(gr.eps, gr.z, gr.dz_dmu, gr.dz_dsigma))
                st.markdown("| ε | z | ∂z/∂μ | ∂z/∂σ |\n|---:|---:|---:|---:|\n" + rows)
                st.caption(
                    "∂z/∂μ and ∂z/∂σ computed by autograd: ∂z/∂σ = ε exactly, because the noise is "
                    "an input, not a parameter.")
            except ValueError as err:
                show_error(err, "Gaussian")
        with c2:
            st.subheader("Gumbel-Softmax: y = softmax((θ + g)/τ)")
            hard = st.toggle("straight-through Gumbel-Softmax (hard one-hot forward)",
                             key="gs_hard")
            equation(
                r"\frac{\partial y_i}{\partial "
                r"\theta_j} = \frac{1}{\tau}\big(y_i\,\delta_{ij} - y_i y_j\big)",
                G.relaxed_sample_jacobian)
            try:
                jac = jacobian(values, mode, tau, hard, seed, DEVICE)
                st.markdown("sample y = " + ", ".join(f"`{v:.3f}`" for v in jac.y.tolist()) +
                            " with noise g = " + ", ".join(f"`{v:.2f}`" for v in jac.g.tolist()))
                show_figure(FG.jacobian_figure(jac.jacobian, tau, hard), key="gs_fig_jac")
                trend = (
                    "so a smaller τ makes these entries larger (up to about 1/(4τ) at an exact tie)"
                    if jac.grows_as_tau_shrinks
                    else "so one category clearly wins: the sample is nearly one-hot and a smaller "
                    "τ makes these entries *smaller* (they fall like e^(−gap/τ)/τ)")
                st.caption(
                    "\"Smaller τ, larger gradients\" holds only near ties. In this draw the two "
                    f"largest θ_k + g_k differ by {jac.top_gap:.3g} = {jac.top_gap / tau:.3g} τ "
                    f"and the largest entry is {jac.max_abs:.2g}, {trend}. Colours are relative to "
                    "that largest entry. The straight-through Gumbel "
                    "sample is one-hot, yet its Jacobian is the soft one."
                )
            except ValueError as err:
                show_error(err, "Gumbel-Softmax sample")
        # one graphviz chart on the page: the browser's
        # graphviz (wasm) can drop charts drawn at once
        st.markdown(
            "**The computation graph** (torchviz `make_dot`): parameters are the blue leaves; the "
            "noise enters as a constant, so no gradient has to flow into it.")
        which = st.radio("draw the graph of", GRAPHS, key="gs_graph", horizontal=True,
                         format_func={"gaussian": "z = μ + σ ε",
                                      "gumbel_softmax": "y = softmax((θ + g)/τ)" + (
                                          " → straight-through" if hard else "")}.__getitem__)
        # The browser keeps a graphviz chart by its position and redraws it in place; in place it
        # has been seen to keep the previous graph. Each (graph, straight-through) pair gets its own
        # position (empty placeholders before it), so a toggle draws a new chart from scratch.
        slot = st.container()
        for _ in range(graph_slot(which, bool(hard))):
            slot.empty()
        slot.graphviz_chart(graph(which, K, bool(hard)))
        graph_downloads(graph(which, K, bool(hard)),
                        f"autograd_{which}_K{K}{'_hard' if hard else ''}")
        st.caption(f"computed by `{gumbel_lesson.qualified_name(G.computation_graph_dot)}`")

# ---- 4. gradient estimators ------------------------------------------------------------------
with tab4:
    if tab4.open:  # lazy: only the open tab computes
        estimators_panel(values, mode, K, tau, seed, DEVICE)

# ---- 5. RL and references --------------------------------------------------------------------
with tab5:
    if tab5.open:  # lazy: only the open tab computes
        st.subheader("When do I use this in RL?")
        st.markdown(T.RL_USES)
        st.subheader("References")
        st.markdown(T.REFERENCES)
