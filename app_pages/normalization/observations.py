"""② Observation normalization on CartPole: one running statistic per dimension, shared
by all environments, before and after."""

from __future__ import annotations

import streamlit as st

from app_pages.normalization.widgets import device_key, init_panel, mirror_panel, widget
from toolbox.figures import normalization as FN
from toolbox.lessons import normalization as N
from toolbox.running_stats import ObsNormalizer
from ui.common import show_error
from ui.equations import equation
from ui.figures import show_figure


@st.cache_data(show_spinner=False, max_entries=32)
def observations(num_envs: int, steps: int, seed: int, clip, device: str):
    sample = N.observation_sample(num_envs, steps, seed, clip, device=device)
    return sample, N.summary_stats(sample.obs), N.summary_stats(sample.normalized)


def observations_panel() -> None:
    init_panel("observations")
    left, right = st.columns([2, 3], gap="large")
    with left:
        envs = st.slider("environments E", **widget("nz_obs_envs"))
        steps = st.slider("steps (random policy)", step=10, **widget("nz_obs_steps"))
        c1, c2 = st.columns(2)
        obs_clip = c1.number_input("clip c (0 = off)", step=1.0, **widget("nz_obs_clip"))
        obs_seed = c2.number_input("seed", step=1, **widget("nz_obs_seed"))
        mirror_panel("observations")
        equation(
            r"\hat o_{t,i} = "
            r"\operatorname{clip}\!\Big(\frac{o_{t,i}-\mu_i}"
            r"{\sqrt{\sigma_i^2+\varepsilon}},\,-c,\,c\Big)",
            ObsNormalizer.normalize,
            N.normalize_observation_stream,
        )
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
            sample, raw_stats, norm_stats = observations(
                envs, steps, int(obs_seed), float(obs_clip) if obs_clip != 0 else None, device_key()
            )
        except ValueError as err:
            show_error(err, "observation normalization")
        else:
            show_figure(
                FN.observation_histograms_figure(
                    sample.obs, sample.normalized, N.CARTPOLE_DIMENSIONS
                ),
                key="nz_fig_obs",
            )
            # one row per statistic, one narrow column per dimension (its symbol; the full name
            # as the column's help): with a column per statistic the table hid its last column
            # in presenter mode
            symbols = [name.split(" ")[-1] for name in N.CARTPOLE_DIMENSIONS]
            rows = {"raw mean": raw_stats["mean"], "raw std": raw_stats["std"],
                    "normalized mean": norm_stats["mean"], "normalized std": norm_stats["std"]}
            table = {"statistic": list(rows)}
            table.update({sym: [f"{v[d].item():.3g}" for v in rows.values()]
                          for d, sym in enumerate(symbols)})
            st.dataframe(
                table,
                hide_index=True,
                key="nz_obs_table",
                column_config={sym: st.column_config.Column(help=name)
                               for sym, name in zip(symbols, N.CARTPOLE_DIMENSIONS)},
            )
            st.caption(
                f"Observations from {sample.source}. The normalized values are computed online, "
                "so the first steps (poor statistics) spread wider than the rest."
            )
