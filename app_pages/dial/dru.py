"""Section 2 of the DIAL page: the DRU, its noise and the flip probability."""

from __future__ import annotations

import streamlit as st

from app_pages.dial.links import link_value, precomputed_comparison
from toolbox.dial.dru import dru, flip_probability, message_distribution
from toolbox.figures import dial as figs
from toolbox.figures.style import COLORS
from toolbox.lessons import shared as SK
from toolbox.lessons.dial.requests import link_float
from ui.common import set_query
from ui.equations import computed_by
from ui.figures import show_figure
from ui.scenes import show_part


@st.cache_data(show_spinner=False, max_entries=64)  # σ and m come from any client
def dru_figure_data(sigma: float, m_values: tuple) -> dict:
    import torch

    d = message_distribution(list(m_values), sigma, n_samples=SK.DRU_SAMPLES,
                             generator=torch.Generator().manual_seed(SK.DRU_SEED))
    return {k: v.tolist() for k, v in d.items()}



def dru_section(data: dict) -> None:
    """The DRU's equation, the σ and m controls, the flip probability, the stored comparison."""
    st.header("2 · The DRU: noisy while learning, one bit when acting")
    st.latex(
        r"\mathrm{DRU}(m) = \begin{cases} \sigma_{\text{logistic}}\big(m + \mathcal{N}(0, "
        r"\sigma^2)\big) & \text{centralised training} \\ \mathbb{1}\{m > 0\} & "
        r"\text{decentralised execution}\end{cases}")
    computed_by(dru)
    left, right = st.columns([2, 3])
    with left:
        # no value=: a scene writes these keys before the widgets exist (toolbox.lessons.shared)
        st.session_state.setdefault(
            SK.DRU_SIGMA,
            link_value("sigma", 2.0, lambda v: link_float("sigma", v, 0.0, 5.0), SK.DRU_SIGMA),
        )
        st.session_state.setdefault(SK.DRU_M, 1.0)
        sigma = st.slider("Noise σ", 0.0, 5.0, step=0.25, key=SK.DRU_SIGMA)
        set_query(sigma=sigma)
        m_values = SK.DRU_M_VALUES
        dist = dru_figure_data(sigma, m_values)
        m_shown = st.selectbox("Message m", m_values, key=SK.DRU_M,
                               format_func=lambda m: f"m = {m:g}")
        if show_part("dial", SK.SPOIL_METRICS):
            st.metric(f"Flip probability at m = {m_shown:g}",
                      f"{float(flip_probability([m_shown], sigma)[0]):.1%}",
                      f"sampled: {dist['p_flip'][m_values.index(m_shown)]:.1%} "
                      f"of {SK.DRU_SAMPLES:,} draws",
                      delta_color="off", delta_arrow="off",
                      help="Exact: Φ(−|m|/σ). Sampled: how often the figure's noisy training "
                           "messages land on the other side of ½ than the execution bit.")
        st.latex(r"P(\text{flip}) = \Phi(-|m|/\sigma)")
        computed_by(message_distribution)
        st.markdown(
            "Noise makes a message near 0 unreliable, so the speaker is pushed to send |m| large — "
            "values that survive rounding: in Part 5, with σ = 2 the sent messages split into two "
            "clusters far from 0. With **σ = 0** nothing pushes them apart: in the precomputed "
            "runs they stay within about ±3 of 0, a code of *shades*. On this small riddle it "
            "still survives rounding — most likely because the listener's BatchNorm rescales "
            "whatever spread the messages have; the DRU's point is that robustness to rounding is "
            "trained in rather than left to luck."
        )
    with right:
        show_figure(figs.dru_distribution(dist, m_values, sigma), key="fig_dru")
    precomputed_comparison(
        data,
        [(f"DIAL, σ = {s:g}", dict(input_mode="sum", sigma=s),
          c) for s, c in ((2.0, COLORS["with"]), (0.0, COLORS["without"]))],
        "What σ does to learning (test at execution, n = 3, precomputed)", "fig_dru_curves",
    )
