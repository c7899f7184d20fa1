"""The Normalization lesson's five panels (Streamlit widgets and layout only).

``pages/normalization.py`` is the page; it calls one function here per panel. The panels live in
an imported module so that Streamlit compiles them once per process: a page script is
re-parsed (and its ``st.cache_data`` decorators re-created) on every rerun, which for a page this
size costs tens of milliseconds of the 100 ms budget. Every number comes from
``toolbox.lessons.normalization``, every figure from ``toolbox.figures.normalization``.

Every setting that a link can carry is one row of :data:`SETTINGS` (``ui.settings.Setting``:
widget key, URL parameter, default, bounds): the row gives the widget its initial value from the
link, its bounds or options, and mirrors its value back into the URL.
"""

from __future__ import annotations

import time

import streamlit as st

from toolbox.figures import normalization as FN
from toolbox.lessons import normalization as N
from toolbox.lessons import shared as K
from toolbox.reward_scaling import reward_scaling_scan
from toolbox.running_stats import ObsNormalizer, merge_moments, normalize_advantages, prefix_moments
from ui.common import page_device, show_error
from ui.equations import equation
from ui.figures import show_figure
from ui.normalization_settings import MINIBATCH_SIZES, SETTINGS
from ui.scenes import show_part
from ui.settings import init_settings, mirror_settings

_BY_KEY = {s.key: s for settings in SETTINGS.values() for s in settings}


def _init(panel: str) -> None:
    init_settings(SETTINGS[panel])


def _mirror(panel: str) -> None:
    mirror_settings(SETTINGS[panel])


def _widget(key: str) -> dict:
    """``key=`` and the bounds or options of the setting ``key`` (see ``ui.settings.Setting.widget``)."""
    return _BY_KEY[key].widget()


def _dev() -> str:
    return str(page_device())


# ---- cached backend calls (keyed on every input) --------------------------------------------


@st.cache_data(show_spinner=False, max_entries=64)
def stream_and_trace(kind: str, n_batches: int, batch_size: int, seed: int, clip, epsilon: float, device: str):
    stream = N.sample_stream(kind, n_batches, batch_size, seed, device=device)
    trace = N.running_trace(stream.x, clip=clip, epsilon=epsilon)
    mean, var = N.cumulative_moments(stream.x)
    return stream, trace, mean, var


@st.cache_data(show_spinner=False, max_entries=32)
def observations(num_envs: int, steps: int, seed: int, clip, device: str):
    sample = N.observation_sample(num_envs, steps, seed, clip, device=device)
    return sample, N.summary_stats(sample.obs), N.summary_stats(sample.normalized)


@st.cache_data(show_spinner=False, max_entries=64)
def rewards(kind: str, num_envs: int, steps: int, length: float, gamma: float, reward_clip, seed: int, device: str):
    r, d = N.reward_stream(kind, num_envs, steps, length, seed, device=device)
    trace = N.reward_scaling_trace(r, d, gamma, reward_clip=reward_clip)
    return r, d, trace


@st.cache_data(show_spinner=False, max_entries=64)
def scales(kind: str, num_envs: int, steps: int, length: float, reward_clip, seed: int, device: str):
    r, d = N.reward_stream(kind, num_envs, steps, length, seed, device=device)
    return N.return_scales(r, d, N.GAMMA_SWEEP, reward_clip=reward_clip)


@st.cache_data(show_spinner="Collecting a PPO batch…", max_entries=8)
def ppo_batch(seed: int, device: str):
    return N.ppo_batch(seed, 0, device=device)


@st.cache_data(show_spinner=False, max_entries=64)
def minibatches(advantages, num_minibatches: int, seed: int):
    return N.minibatch_advantages(advantages, num_minibatches, seed)


@st.cache_data(show_spinner=False, max_entries=16)
def size_effect(advantages, seed: int):
    return N.minibatch_size_effect(advantages, MINIBATCH_SIZES, seed)


@st.cache_data(show_spinner=False, max_entries=32)
def message_demo(bits: int, batch: int, steps: int, sigma: float, momentum: float, dru: bool, seed: int, device: str):
    demo = N.message_norm_demo(bits, batch, steps, sigma, momentum, dru=dru, seed=seed, device=device)
    seps = {name: N.message_separation(getattr(demo, name), demo.bits)
            for name in ("raw", "bn_train", "bn_eval", "layer_norm")}
    return demo, seps


# ---- ① running mean and variance ------------------------------------------------------------


def running_panel() -> None:
    _init("running")
    left, right = st.columns([2, 3], gap="large")
    with left:
        kind = st.selectbox("distribution of the stream", **_widget("nz_kind"),
                            format_func=lambda k: f"{k}: {N.STREAM_DESCRIPTIONS[k]}")
        c1, c2 = st.columns(2)
        batch = c1.select_slider("batch size B", **_widget("stream_batch_size"))
        n_batches = c2.slider("number of batches", step=10, **_widget("nz_batches"))
        c3, c4, c5 = st.columns(3)
        clip = c3.number_input("clip c (0 = off)", step=1.0, **_widget("nz_clip"))
        eps = c4.number_input("ε", format="%.1e", step=1e-8, **_widget("nz_eps"))
        seed = c5.number_input("seed", step=1, **_widget("nz_seed"))
        _mirror("running")
        equation([r"\delta = \bar x_B - \mu_A,\qquad n = n_A + n_B",
                  r"\mu \leftarrow \mu_A + \delta\,\frac{n_B}{n}",
                  r"\sigma^2 \leftarrow \frac{n_A\sigma_A^2 + n_B\sigma_B^2 + \delta^2\,\frac{n_A n_B}{n}}{n}"],
                 merge_moments, prefix_moments)
        equation(r"\hat o = \operatorname{clip}\!\Big(\frac{o-\mu}{\sqrt{\sigma^2+\varepsilon}},\,-c,\,c\Big)",
                 N.running_trace)
        st.caption(
            "Chan, Golub & LeVeque's parallel update merges the batch's mean and variance with the "
            "running ones in O(1) memory — exactly, whatever the batch sizes or their order (it is "
            "what Gymnasium's `RunningMeanStd` does; the count starts at 10⁻⁴ with μ = 0, σ² = 1). "
            "**ε** keeps the division finite when a dimension never varies (σ² = 0, e.g. a constant "
            "sensor). **Clipping at ±10** bounds the damage of an outlier the statistics have not "
            "seen yet: early in training, or in a heavy-tailed stream. "
            "Source: Gymnasium `wrappers.utils.RunningMeanStd`; Huang et al. 2022 (detail: "
            "observation normalization and clipping)."
        )
    with right:
        try:
            stream, trace, cum_mean, cum_var = stream_and_trace(
                kind, n_batches, batch, int(seed), float(clip) if clip != 0 else None, float(eps), _dev())
        except ValueError as err:
            show_error(err, "running statistics")
        else:
            c6, c7 = st.columns([3, 1])
            ss = st.session_state  # the batch shown: a scene sets it (toolbox.lessons.shared.NZ_STEP)
            ss[K.NZ_STEP] = min(ss.get(K.NZ_STEP, n_batches), n_batches)
            step = c6.slider("batches seen", 1, n_batches, key=K.NZ_STEP)
            speed = c7.slider("speed (batches/s)", 1, 100, value=25, key="nz_speed")
            play = st.button("▶ Play the stream", key="nz_play")
            if not show_part("normalization", K.SPOIL_FIGURES, K.SPOIL_METRICS):
                return
            chart = st.empty()
            hist = st.empty()
            metrics = st.empty()

            def draw(k: int) -> None:
                show_figure(FN.running_estimate_figure(stream, trace, k), f"nz_fig_rms_{k}", chart)
                show_figure(FN.batch_histogram_figure(stream.x[k - 1], trace.normalized[k - 1],
                                                      float(clip) if clip else None), f"nz_fig_batch_{k}", hist)
                with metrics.container():
                    m = st.columns(4)
                    m[0].metric("running mean", f"{float(trace.mean[k - 1]):.4g}",
                                f"truth {float(stream.true_mean[k - 1]):.4g}", delta_color="off", delta_arrow="off")
                    m[1].metric("running std", f"{float(trace.var[k - 1]) ** 0.5:.4g}",
                                f"truth {float(stream.true_std[k - 1]):.4g}", delta_color="off", delta_arrow="off")
                    m[2].metric("largest |z| in batch", f"{float(trace.max_abs_z[k - 1]):.3g}")
                    m[3].metric("clipped in batch", f"{float(trace.clipped_fraction[k - 1]):.1%}")
                    gap = max(abs(float(trace.mean[k - 1] - cum_mean[k - 1])), abs(float(trace.var[k - 1] - cum_var[k - 1])))
                    st.caption(
                        f"Running estimate vs brute-force moments of all {k * batch:,} samples so far: "
                        f"largest difference {gap:.2e} (only the 10⁻⁴ pseudo-count prior). "
                        + ("With a drifting stream the running mean weights all history equally, "
                           "so it lags behind the current mean." if kind == "drifting" else "")
                    )

            if play:
                frames = sorted({*range(1, n_batches + 1, max(1, n_batches // 100)), n_batches})
                for k in frames:
                    draw(k)
                    time.sleep(max(1, n_batches // 100) / speed)
            else:
                draw(step)

# ---- ② observation normalization on CartPole -----------------------------------------------


def observations_panel() -> None:
    _init("observations")
    left, right = st.columns([2, 3], gap="large")
    with left:
        envs = st.slider("environments E", **_widget("nz_obs_envs"))
        steps = st.slider("steps (random policy)", step=10, **_widget("nz_obs_steps"))
        c1, c2 = st.columns(2)
        obs_clip = c1.number_input("clip c (0 = off)", step=1.0, **_widget("nz_obs_clip"))
        obs_seed = c2.number_input("seed", step=1, **_widget("nz_obs_seed"))
        _mirror("observations")
        equation(r"\hat o_{t,i} = \operatorname{clip}\!\Big(\frac{o_{t,i}-\mu_i}{\sqrt{\sigma_i^2+\varepsilon}},\,-c,\,c\Big)",
                 ObsNormalizer.normalize, N.normalize_observation_stream)
        st.caption("one statistic per dimension i, shared by all environments")
        st.caption(
            "CartPole's four numbers live on very different scales: the pole angle moves by "
            "hundredths of a radian, the angular velocity by whole units. One shared statistic "
            "over all environments, updated every step before normalizing (as "
            "`gymnasium.wrappers.vector.NormalizeObservation`), puts every dimension near mean 0 "
            "and std 1, so no input dominates the first layer. Source: Gymnasium wrappers; "
            "Huang et al. 2022."
        )
    with right:
        try:
            sample, raw_stats, norm_stats = observations(envs, steps, int(obs_seed),
                                                         float(obs_clip) if obs_clip != 0 else None, _dev())
        except ValueError as err:
            show_error(err, "observation normalization")
        else:
            show_figure(FN.observation_histograms_figure(sample.obs, sample.normalized, N.CARTPOLE_DIMENSIONS),
                        key="nz_fig_obs")
            st.dataframe(
                {
                    "dimension": list(N.CARTPOLE_DIMENSIONS),
                    "raw mean": [f"{v:.3g}" for v in raw_stats["mean"].tolist()],
                    "raw std": [f"{v:.3g}" for v in raw_stats["std"].tolist()],
                    "normalized mean": [f"{v:.3g}" for v in norm_stats["mean"].tolist()],
                    "normalized std": [f"{v:.3g}" for v in norm_stats["std"].tolist()],
                },
                hide_index=True, key="nz_obs_table",
            )
            st.caption(f"Observations from {sample.source}. The normalized values are computed online, "
                       "so the first steps (poor statistics) spread wider than the rest.")

# ---- ③ reward scaling -----------------------------------------------------------------------


def rewards_panel() -> None:
    _init("rewards")
    left, right = st.columns([2, 3], gap="large")
    with left:
        kind_r = st.selectbox("reward", **_widget("nz_rew_kind"),
                              format_func=lambda k: f"{k}: {N.REWARD_DESCRIPTIONS[k]}")
        c1, c2 = st.columns(2)
        gamma = c1.number_input("discount γ", step=0.005, format="%.4f", **_widget("nz_rew_gamma"))
        length = c2.slider("mean episode length", **_widget("nz_rew_len"))
        c3, c4 = st.columns(2)
        reward_clip = c3.number_input("clip scaled reward (0 = off)", step=1.0, **_widget("nz_rew_clip"))
        rseed = c4.number_input("seed", step=1, **_widget("nz_rew_seed"))
        _mirror("rewards")
        equation([r"G_t = \gamma\,(1-d_t)\,G_{t-1} + r_t",
                  r"\tilde r_t = \operatorname{clip}\Big(\frac{r_t}{\sqrt{\operatorname{Var}[G]+\varepsilon}},\,-c,\,c\Big)"],
                 reward_scaling_scan, N.reward_scaling_trace)
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
            "The reward is not centred (a shift would change which episodes are worth prolonging). This keeps the value targets — sums of "
            "~1/(1−γ) scaled rewards — within a few units whatever the task's reward scale or γ, "
            "so the value loss and its gradient stay in a trainable range. Early on the statistic "
            "has seen almost nothing (σ ≈ 0 after one constant step) and blows the first rewards "
            "up: that is why CleanRL clips the scaled reward to ±10. Source: "
            "`gymnasium.wrappers.vector.NormalizeReward`; Huang et al. 2022 (reward scaling and clipping)."
        )
    with right:
        if not show_part("normalization", K.SPOIL_FIGURES, K.SPOIL_METRICS):
            return
        clip_r = float(reward_clip) if reward_clip != 0 else None
        try:
            r, d, rtrace = rewards(kind_r, K.NZ_REWARD_ENVS, K.NZ_REWARD_STEPS, float(length), float(gamma),
                                   clip_r, int(rseed), _dev())
        except ValueError as err:
            show_error(err, "reward scaling")
        else:
            show_figure(FN.reward_trace_figure(r, rtrace, 0, d), key="nz_fig_reward")
            m = st.columns(3)
            m[0].metric("running std of G (end)", f"{float(rtrace.return_std[-1]):.3g}")
            m[1].metric("effective horizon 1/(1−γ)", f"{1 / (1 - float(gamma)):.4g}")
            m[2].metric("scaled reward (last, env 0)", f"{float(rtrace.scaled[-1, 0]):.3g}")
        try:
            sc = scales(kind_r, K.NZ_REWARD_ENVS, K.NZ_REWARD_STEPS, float(length), clip_r, int(rseed), _dev())
        except ValueError as err:
            show_error(err, "return scales")
        else:
            show_figure(FN.return_scales_figure(sc), key="nz_fig_scales")
            st.dataframe(
                {
                    "γ": [f"{g:g}" for g in sc.gammas.tolist()],
                    "horizon 1/(1−γ)": [f"{h:.4g}" for h in sc.horizon.tolist()],
                    "std of G (divisor)": [f"{v:.3g}" for v in sc.return_std.tolist()],
                    "max |value target|, raw": [f"{v:.3g}" for v in sc.raw_target_abs_max.tolist()],
                    "max |value target|, scaled": [f"{v:.3g}" for v in sc.scaled_target_abs_max.tolist()],
                },
                hide_index=True, key="nz_scales_table",
            )

# ---- ④ advantage normalization per minibatch ------------------------------------------------


def advantages_panel() -> None:
    _init("advantages")
    left, right = st.columns([2, 3], gap="large")
    with left:
        c1, c2 = st.columns(2)
        n_mb = c1.number_input("number of minibatches", step=1, **_widget("nz_adv_mb"))
        aseed = c2.number_input("seed", step=1, **_widget("nz_adv_seed"))
        _mirror("advantages")
        equation(r"\hat A_i = \frac{A_i - \operatorname{mean}_{\mathcal B}(A)}{\operatorname{std}_{\mathcal B}(A) + \varepsilon},"
                 r"\;\; i \in \mathcal B", normalize_advantages, N.minibatch_advantages)
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
            batch, source = ppo_batch(int(aseed), _dev())
            adv = batch["advantages"].cpu().numpy()
            mb = minibatches(adv, int(n_mb), int(aseed))
        except ValueError as err:
            show_error(err, "advantage normalization")
            return
        idx = st.slider("minibatch shown", 0, int(n_mb) - 1, 0, key="nz_adv_idx") if n_mb > 1 else 0
        show_figure(FN.advantage_histogram_figure(mb.raw[idx], mb.normalized[idx], idx), key="nz_fig_adv")
        m = st.columns(3)
        m[0].metric("minibatch size", f"{mb.raw.shape[1]}")
        m[1].metric("minibatch mean", f"{float(mb.mean[idx]):.3g}")
        m[2].metric("minibatch std", f"{float(mb.std[idx]):.3g}")
        m = st.columns(3)
        m[0].metric("signs flipped", f"{float(mb.sign_flips[idx]):.0%}",
                    help="advantages whose sign changes when the minibatch mean is subtracted")
        m[1].metric("vs whole-batch normalization", f"{float(mb.deviation[idx]):.3g}",
                    help="mean |per-minibatch normalized − whole-batch normalized|")
        show_figure(FN.minibatch_stats_figure(mb), key="nz_fig_mbstats")
        show_figure(FN.minibatch_size_figure(size_effect(adv, int(aseed))), key="nz_fig_mbsize")
        st.caption(f"Batch: {tuple(batch['advantages'].shape)} advantages (steps × environments) from {source}.")


# ---- ⑤ BatchNorm in the DIAL C-Net ----------------------------------------------------------


def batchnorm_panel() -> None:
    _init("batchnorm")
    left, right = st.columns([2, 3], gap="large")
    with left:
        c1, c2 = st.columns(2)
        bits = c1.slider("message bits c", **_widget("nz_bn_bits"))
        bn_batch = c2.slider("batch (episodes × agents)", **_widget("nz_bn_batch"))
        c3, c4 = st.columns(2)
        momentum = c3.number_input("BatchNorm momentum m", step=0.05, format="%.3f", **_widget("nz_bn_momentum"))
        sigma = c4.number_input("DRU noise σ", step=0.5, **_widget("nz_bn_sigma"))
        dru = st.toggle("receiver gets the DRU output σ(logit + noise)", **_widget("nz_bn_dru"))
        _mirror("batchnorm")
        equation([r"\text{train: } y = \gamma\,\frac{x-\mu_{\mathcal B}}{\sqrt{\sigma_{\mathcal B}^2+\epsilon}}+\beta",
                  r"\hat\mu \leftarrow (1-m)\,\hat\mu + m\,\mu_{\mathcal B}",
                  r"\hat\sigma^2 \leftarrow (1-m)\,\hat\sigma^2 + m\,\tfrac{n}{n-1}\,\sigma_{\mathcal B}^2",
                  r"\text{eval: } y = \gamma\,\frac{x-\hat\mu}{\sqrt{\hat\sigma^2+\epsilon}}+\beta",
                  r"\text{LayerNorm: } y = \frac{x-\operatorname{mean}_c(x)}{\sqrt{\operatorname{var}_c(x)+\epsilon}}"],
                 N.message_norm_demo)
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
            demo, seps = message_demo(bits, bn_batch, 200, float(sigma), float(momentum), bool(dru), 0, _dev())
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
                f"BatchNorm module: {demo.source}. Mean |message_mlp output in train − eval mode| at "
                f"this step: {float(N.message_mlp_gap(demo, step_bn)):.3g}. d′ = difference of the two bits' means "
                "in units of their pooled std (channel 0): BatchNorm is affine per batch, so it keeps "
                "the bit readable; LayerNorm over one channel sets it to 0."
            )
