"""① Running mean and variance: a stream of batches, the parallel (Chan et al.) update,
and the batch that just arrived before and after normalizing; the stream can be played."""

from __future__ import annotations

import time

import streamlit as st

from app_pages.normalization.widgets import device_key, init_panel, mirror_panel, widget
from toolbox.figures import normalization as FN
from toolbox.lessons import normalization as N
from toolbox.lessons import shared as K
from toolbox.running_stats import merge_moments, prefix_moments
from ui.common import show_error
from ui.equations import equation
from ui.figures import show_figure
from ui.scenes import show_part


@st.cache_data(show_spinner=False, max_entries=64)
def stream_and_trace(
    kind: str, n_batches: int, batch_size: int, seed: int, clip, epsilon: float, device: str
):
    stream = N.sample_stream(kind, n_batches, batch_size, seed, device=device)
    trace = N.running_trace(stream.x, clip=clip, epsilon=epsilon)
    mean, var = N.cumulative_moments(stream.x)
    return stream, trace, mean, var


def running_panel() -> None:
    init_panel("running")
    left, right = st.columns([2, 3], gap="large")
    with left:
        kind = st.selectbox(
            "distribution of the stream",
            **widget("nz_kind"),
        )
        # the description under the menu: in the menu's one line it was cut at a projector
        st.caption(N.STREAM_DESCRIPTIONS[kind])
        c1, c2 = st.columns(2)
        batch = c1.select_slider("batch size B", **widget("stream_batch_size"))
        n_batches = c2.slider("number of batches", step=10, **widget("nz_batches"))
        c3, c4, c5 = st.columns(3)
        clip = c3.number_input("clip c (0 = off)", step=1.0, **widget("nz_clip"))
        eps = c4.number_input("ε", format="%.1e", step=1e-8, **widget("nz_eps"))
        seed = c5.number_input("seed", step=1, **widget("nz_seed"))
        mirror_panel("running")
        equation(
            [
                r"\delta = \bar x_B - \mu_A,\qquad n = n_A + n_B",
                r"\mu \leftarrow \mu_A + \delta\,\frac{n_B}{n}",
                (
                    r"\sigma^2 \leftarrow "
                    r"\frac{n_A\sigma_A^2 + n_B\sigma_B^2 + \delta^2\,\frac{n_A n_B}{n}}{n}"
                ),
            ],
            merge_moments,
            prefix_moments,
        )
        equation(
            r"\hat o = "
            r"\operatorname{clip}\!\Big(\frac{o-\mu}{\sqrt{\sigma^2+\varepsilon}},\,-c,\,c\Big)",
            N.running_trace,
        )
        st.caption(
            "Chan, Golub & LeVeque's parallel update merges the batch's mean and variance with the "
            "running ones in O(1) memory — exactly, whatever the batch sizes or their order (it is "
            "what Gymnasium's `RunningMeanStd` does; the count starts at 10⁻⁴ with μ = 0, σ² = 1). "
            "**ε** keeps the division finite when a dimension never varies (σ² = 0, e.g. a "
            "constant "
            "sensor). **Clipping at ±10** bounds the damage of an outlier the statistics have not "
            "seen yet: early in training, or in a heavy-tailed stream. "
            "Source: Gymnasium `wrappers.utils.RunningMeanStd`; Huang et al. 2022 (detail: "
            "observation normalization and clipping)."
        )
    with right:
        try:
            stream, trace, cum_mean, cum_var = stream_and_trace(
                kind,
                n_batches,
                batch,
                int(seed),
                float(clip) if clip != 0 else None,
                float(eps),
                device_key(),
            )
        except ValueError as err:
            show_error(err, "running statistics")
        else:
            c6, c7 = st.columns([3, 1])
            ss = (
                st.session_state
            )  # the batch shown: a scene sets it (toolbox.lessons.shared.NZ_STEP)
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
                show_figure(
                    FN.batch_histogram_figure(
                        stream.x[k - 1], trace.normalized[k - 1], float(clip) if clip else None
                    ),
                    f"nz_fig_batch_{k}",
                    hist,
                )
                with metrics.container():
                    m = st.columns(4)
                    m[0].metric(
                        "running mean",
                        f"{float(trace.mean[k - 1]):.4g}",
                        f"truth {float(stream.true_mean[k - 1]):.4g}",
                        delta_color="off",
                        delta_arrow="off",
                    )
                    m[1].metric(
                        "running std",
                        f"{float(trace.var[k - 1]) ** 0.5:.4g}",
                        f"truth {float(stream.true_std[k - 1]):.4g}",
                        delta_color="off",
                        delta_arrow="off",
                    )
                    m[2].metric("largest |z| in batch", f"{float(trace.max_abs_z[k - 1]):.3g}")
                    m[3].metric("clipped in batch", f"{float(trace.clipped_fraction[k - 1]):.1%}")
                    gap = max(
                        abs(float(trace.mean[k - 1] - cum_mean[k - 1])),
                        abs(float(trace.var[k - 1] - cum_var[k - 1])),
                    )
                    st.caption(
                        f"Running estimate vs brute-force moments of all {k * batch:,} samples so "
                        "far: "
                        f"largest difference {gap:.2e} (only the 10⁻⁴ pseudo-count prior). "
                        + (
                            "With a drifting stream the running mean weights all history equally, "
                            "so it lags behind the current mean."
                            if kind == "drifting"
                            else ""
                        )
                    )

            if play:
                frames = sorted({*range(1, n_batches + 1, max(1, n_batches // 100)), n_batches})
                for k in frames:
                    draw(k)
                    time.sleep(max(1, n_batches // 100) / speed)
            else:
                draw(step)
