"""④ Advantage normalization per minibatch: each minibatch's own mean and std, and how
the minibatch size changes them."""

from __future__ import annotations

import streamlit as st

from app_pages.normalization.settings import MINIBATCH_SIZES
from app_pages.normalization.widgets import device_key, init_panel, mirror_panel, widget
from toolbox.figures import normalization as FN
from toolbox.lessons import normalization as N
from toolbox.running_stats import normalize_advantages
from ui.common import show_error
from ui.equations import equation
from ui.figures import show_figure


@st.cache_data(show_spinner="Collecting a PPO batch…", max_entries=8)
def ppo_batch(seed: int, device: str):
    return N.ppo_batch(seed, 0, device=device)


@st.cache_data(show_spinner=False, max_entries=64)
def minibatches(advantages, num_minibatches: int, seed: int):
    return N.minibatch_advantages(advantages, num_minibatches, seed)


@st.cache_data(show_spinner=False, max_entries=16)
def size_effect(advantages, seed: int):
    return N.minibatch_size_effect(advantages, MINIBATCH_SIZES, seed)


def advantages_panel() -> None:
    init_panel("advantages")
    left, right = st.columns([2, 3], gap="large")
    with left:
        c1, c2 = st.columns(2)
        n_mb = c1.number_input("number of minibatches", step=1, **widget("nz_adv_mb"))
        aseed = c2.number_input("seed", step=1, **widget("nz_adv_seed"))
        mirror_panel("advantages")
        equation(
            r"\hat A_i = \frac{A_i - \operatorname{mean}_{\mathcal "
            r"B}(A)}{\operatorname{std}_{\mathcal B}(A) + \varepsilon},"
            r"\;\; i \in \mathcal B",
            normalize_advantages,
            N.minibatch_advantages,
        )
        st.caption(
            "PPO normalizes the advantages of each minibatch just before the policy loss "
            "(CleanRL's `norm_adv`): the policy gradient's scale no longer depends on the "
            "reward scale, and about half the actions are pushed up, half down. "
            "**Minibatch size matters**: a minibatch's mean and std are estimates; with few "
            "samples they are noisy, so the same advantage gets a different normalized value "
            "(even a different sign) in a different minibatch, and a minibatch of 1 has no std at "
            "all. CleanRL's CartPole default is 4 minibatches of 128. This batch comes from the "
            "untrained agent: its value function predicts ≈ 0, so the raw advantages are large and "
            "nearly all positive. The policy gradient is unbiased even so — every sampled action "
            "is pushed up, those with larger advantages by more, and on average this moves "
            "probability toward the better actions — but it is noisy. Subtracting the mean "
            "acts as a **baseline** and cuts the variance, but the minibatch mean includes the "
            "sample itself: A_i − mean = (1 − 1/n)(A_i − mean of the other n − 1), so the "
            "expected gradient is (1 − 1/n) times the true one, an O(1/n) bias that a "
            "leave-one-out mean avoids (1/128 at CleanRL's minibatch size). Dividing by the "
            "std fixes the step's scale. Source: Huang et al. 2022 "
            "(detail: normalization of advantages)."
        )
    with right:
        try:
            batch, source = ppo_batch(int(aseed), device_key())
            adv = batch["advantages"].cpu().numpy()
            mb = minibatches(adv, int(n_mb), int(aseed))
        except ValueError as err:
            show_error(err, "advantage normalization")
            return
        idx = st.slider("minibatch shown", 0, int(n_mb) - 1, 0, key="nz_adv_idx") if n_mb > 1 else 0
        show_figure(
            FN.advantage_histogram_figure(mb.raw[idx], mb.normalized[idx], idx), key="nz_fig_adv"
        )
        m = st.columns(3)
        m[0].metric("minibatch size", f"{mb.raw.shape[1]}")
        m[1].metric("minibatch mean", f"{float(mb.mean[idx]):.3g}")
        m[2].metric("minibatch std", f"{float(mb.std[idx]):.3g}")
        m = st.columns(3)
        m[0].metric(
            "signs flipped",
            f"{float(mb.sign_flips[idx]):.0%}",
            help="advantages whose sign changes when the minibatch mean is subtracted",
        )
        m[1].metric(
            "vs whole-batch normalization",
            f"{float(mb.deviation[idx]):.3g}",
            help="mean |per-minibatch normalized − whole-batch normalized|",
        )
        show_figure(FN.minibatch_stats_figure(mb), key="nz_fig_mbstats")
        show_figure(FN.minibatch_size_figure(size_effect(adv, int(aseed))), key="nz_fig_mbsize")
        st.caption(
            f"Batch: {tuple(batch['advantages'].shape)} advantages (steps × environments) from "
            f"{source}."
        )
