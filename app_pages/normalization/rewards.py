"""③ Reward scaling: the reward divided by the running std of the backward discounted
return, and how the scale of the value targets depends on γ."""

from __future__ import annotations

import streamlit as st

from app_pages.normalization.widgets import device_key, init_panel, mirror_panel, widget
from toolbox.figures import normalization as FN
from toolbox.lessons import normalization as N
from toolbox.lessons import shared as K
from toolbox.reward_scaling import reward_scaling_scan
from ui.common import show_error
from ui.equations import equation
from ui.figures import show_figure
from ui.scenes import show_part


@st.cache_data(show_spinner=False, max_entries=64)
def rewards(
    kind: str,
    num_envs: int,
    steps: int,
    length: float,
    gamma: float,
    reward_clip,
    seed: int,
    device: str,
):
    r, d = N.reward_stream(kind, num_envs, steps, length, seed, device=device)
    trace = N.reward_scaling_trace(r, d, gamma, reward_clip=reward_clip)
    return r, d, trace


@st.cache_data(show_spinner=False, max_entries=64)
def scales(
    kind: str, num_envs: int, steps: int, length: float, reward_clip, seed: int, device: str
):
    r, d = N.reward_stream(kind, num_envs, steps, length, seed, device=device)
    return N.return_scales(r, d, N.GAMMA_SWEEP, reward_clip=reward_clip)


def rewards_panel() -> None:
    init_panel("rewards")
    left, right = st.columns([2, 3], gap="large")
    with left:
        kind_r = st.selectbox(
            "reward",
            **widget("nz_rew_kind"),
        )
        st.caption(N.REWARD_DESCRIPTIONS[kind_r])  # under the menu, whose one line would cut it
        c1, c2 = st.columns(2)
        gamma = c1.number_input("discount γ", step=0.005, format="%.4f", **widget("nz_rew_gamma"))
        length = c2.slider("mean episode length", **widget("nz_rew_len"))
        c3, c4 = st.columns(2)
        reward_clip = c3.number_input(
            "clip scaled reward (0 = off)", step=1.0, **widget("nz_rew_clip")
        )
        rseed = c4.number_input("seed", step=1, **widget("nz_rew_seed"))
        mirror_panel("rewards")
        equation(
            [
                r"G_t = \gamma\,(1-d_t)\,G_{t-1} + r_t",
                (
                    r"\tilde r_t = "
                    r"\operatorname{clip}\Big(\frac{r_t}"
                    r"{\sqrt{\operatorname{Var}[G]+\varepsilon}},\,-c,\,c\Big)"
                ),
            ],
            reward_scaling_scan,
            N.reward_scaling_trace,
        )
        st.caption(
            "The reward is divided by the running standard deviation of the **discounted return** "
            "G, not of the reward: a constant +1 reward has zero std, but its returns grow to "
            "1/(1−γ). Gymnasium's G looks **backward**: it is the discounted sum of the rewards "
            "received so far in the episode, G_t = r_t + γ r_{t−1} + γ² r_{t−2} + …, not the "
            "return-to-go a value function predicts. It resets on the terminal step (d_t = 1 drops "
            "the earlier rewards, so G there is r_t alone). Where the next episode starts depends "
            "on the autoreset mode: here, as with Gymnasium's same-step autoreset, G is zeroed and "
            "the next episode starts from 0; under Gymnasium's default next-step autoreset the "
            "reset step is skipped and the next episode starts from γ r_t. "
            "The reward is not centred (a shift would change which episodes are worth prolonging). "
            "This keeps the value targets — sums of "
            "~1/(1−γ) scaled rewards — within a few units whatever the task's reward scale or γ, "
            "so the value loss and its gradient stay in a trainable range. Early on the statistic "
            "has seen almost nothing (σ ≈ 0 after one constant step) and blows the first rewards "
            "up: that is why CleanRL clips the scaled reward to ±10. Source: "
            "`gymnasium.wrappers.vector.NormalizeReward`; Huang et al. 2022 (reward scaling and "
            "clipping)."
        )
    with right:
        if not show_part("normalization", K.SPOIL_FIGURES, K.SPOIL_METRICS):
            return
        clip_r = float(reward_clip) if reward_clip != 0 else None
        try:
            r, d, rtrace = rewards(
                kind_r,
                K.NZ_REWARD_ENVS,
                K.NZ_REWARD_STEPS,
                float(length),
                float(gamma),
                clip_r,
                int(rseed),
                device_key(),
            )
        except ValueError as err:
            show_error(err, "reward scaling")
        else:
            show_figure(FN.reward_trace_figure(r, rtrace, 0, d), key="nz_fig_reward")
            m = st.columns(3)
            m[0].metric("running std of G (end)", f"{float(rtrace.return_std[-1]):.3g}")
            m[1].metric("effective horizon 1/(1−γ)", f"{1 / (1 - float(gamma)):.4g}")
            m[2].metric("scaled reward (last, env 0)", f"{float(rtrace.scaled[-1, 0]):.3g}")
        try:
            sc = scales(
                kind_r,
                K.NZ_REWARD_ENVS,
                K.NZ_REWARD_STEPS,
                float(length),
                clip_r,
                int(rseed),
                device_key(),
            )
        except ValueError as err:
            show_error(err, "return scales")
        else:
            show_figure(FN.return_scales_figure(sc), key="nz_fig_scales")
            # short headers (the long ones as hover help): all five columns fit at 1280 × 800
            st.dataframe(
                {
                    "γ": [f"{g:g}" for g in sc.gammas.tolist()],
                    "1/(1−γ)": [f"{h:.4g}" for h in sc.horizon.tolist()],
                    "std of G": [f"{v:.3g}" for v in sc.return_std.tolist()],
                    "raw |target|": [f"{v:.3g}" for v in sc.raw_target_abs_max.tolist()],
                    "scaled |target|": [f"{v:.3g}" for v in sc.scaled_target_abs_max.tolist()],
                },
                hide_index=True,
                key="nz_scales_table",
                column_config={
                    "1/(1−γ)": st.column_config.Column(help="horizon 1/(1−γ)"),
                    "std of G": st.column_config.Column(help="std of the return G: the divisor"),
                    "raw |target|": st.column_config.Column(help="max |value target|, raw rewards"),
                    "scaled |target|": st.column_config.Column(
                        help="max |value target|, scaled rewards"
                    ),
                },
            )
