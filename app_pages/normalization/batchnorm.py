"""⑤ BatchNorm in the DIAL C-Net: a drifting message through BatchNorm (train and eval
mode) and LayerNorm."""

from __future__ import annotations

import streamlit as st

from app_pages.normalization.widgets import device_key, init_panel, mirror_panel, widget
from toolbox.figures import normalization as FN
from toolbox.lessons import normalization as N
from ui.common import show_error
from ui.equations import equation
from ui.figures import show_figure


@st.cache_data(show_spinner=False, max_entries=32)
def message_demo(
    bits: int,
    batch: int,
    steps: int,
    sigma: float,
    momentum: float,
    dru: bool,
    seed: int,
    device: str,
):
    demo = N.message_norm_demo(
        bits, batch, steps, sigma, momentum, dru=dru, seed=seed, device=device
    )
    seps = {
        name: N.message_separation(getattr(demo, name), demo.bits)
        for name in ("raw", "bn_train", "bn_eval", "layer_norm")
    }
    return demo, seps


def batchnorm_panel() -> None:
    init_panel("batchnorm")
    left, right = st.columns([2, 3], gap="large")
    with left:
        c1, c2 = st.columns(2)
        bits = c1.slider("message bits c", **widget("nz_bn_bits"))
        bn_batch = c2.slider("batch (episodes × agents)", **widget("nz_bn_batch"))
        c3, c4 = st.columns(2)
        momentum = c3.number_input(
            "BatchNorm momentum m", step=0.05, format="%.3f", **widget("nz_bn_momentum")
        )
        sigma = c4.number_input("DRU noise σ", step=0.5, **widget("nz_bn_sigma"))
        dru = st.toggle("receiver gets the DRU output σ(logit + noise)", **widget("nz_bn_dru"))
        mirror_panel("batchnorm")
        equation(
            [
                (
                    r"\text{train: } y = \gamma\,\frac{x-\mu_{\mathcal B}}{\sqrt{\sigma_{\mathcal "
                    r"B}^2+\epsilon}}+\beta"
                ),
                r"\hat\mu \leftarrow (1-m)\,\hat\mu + m\,\mu_{\mathcal B}",
                (
                    r"\hat\sigma^2 \leftarrow (1-m)\,\hat\sigma^2 + "
                    r"m\,\tfrac{n}{n-1}\,\sigma_{\mathcal B}^2"
                ),
                r"\text{eval: } y = \gamma\,\frac{x-\hat\mu}{\sqrt{\hat\sigma^2+\epsilon}}+\beta",
                (
                    r"\text{LayerNorm: } y = "
                    r"\frac{x-\operatorname{mean}_c(x)}{\sqrt{\operatorname{var}_c(x)+\epsilon}}"
                ),
            ],
            N.message_norm_demo,
        )
        st.caption(
            "DIAL's C-Net reads the incoming message through `BatchNorm1d → Linear → ReLU`. The "
            "message is the sender's output, so its scale drifts as the sender learns (here its "
            "logit grows from ±0.1 to ±10). In **train** mode BatchNorm uses the batch's own "
            "statistics: the next layer always sees unit scale. In **eval** mode it uses running "
            "averages (momentum m), which lag behind a drifting input. **LayerNorm** normalizes "
            "each sample over its c channels — with DIAL's single message bit (c = 1) that "
            "subtracts the message from itself and erases it. Source: Ioffe & Szegedy 2015; "
            "Ba, Kiros & Hinton 2016; Foerster et al. 2016."
        )
    with right:
        try:
            demo, seps = message_demo(
                bits, bn_batch, 200, float(sigma), float(momentum), bool(dru), 0, device_key()
            )
        except ValueError as err:
            show_error(err, "BatchNorm demo")
        else:
            step_bn = st.slider("training step", 0, demo.scale.shape[0] - 1, 120, key="nz_bn_step")
            show_figure(FN.message_norm_figure(demo, step_bn), key="nz_fig_bn")
            show_figure(FN.message_histogram_figure(demo, step_bn), key="nz_fig_bn_hist")
            m = st.columns(4)
            m[0].metric("sender logit scale", f"±{float(demo.scale[step_bn]):.3g}")
            m[1].metric("bit separation d′ raw", f"{float(seps['raw'][step_bn]):.3g}")
            m[2].metric("d′ after BatchNorm (train)", f"{float(seps['bn_train'][step_bn]):.3g}")
            m[3].metric("d′ after LayerNorm", f"{float(seps['layer_norm'][step_bn]):.3g}")
            st.caption(
                f"BatchNorm module: {demo.source}. Mean |message_mlp output in train − eval mode| "
                "at "
                f"this step: {float(N.message_mlp_gap(demo, step_bn)):.3g}. d′ = difference of the "
                "two bits' means "
                "in units of their pooled std (channel 0): BatchNorm is affine per batch, so it "
                "keeps "
                "the bit readable; LayerNorm over one channel sets it to 0."
            )
