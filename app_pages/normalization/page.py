"""Normalization: running statistics, observations, rewards, advantages, and BatchNorm in DIAL.

The page: header, the five panels as lazy tabs (only the open one computes), the tab mirrored
in the URL. The panels themselves are in ``app_pages/normalization/`` (compiled once per process);
every number comes from ``toolbox.lessons.normalization``, every figure from
``toolbox.figures.normalization``.
"""

from __future__ import annotations

import streamlit as st

import app_pages.normalization as P
from app_pages.normalization.settings import PANELS
from toolbox.lessons import shared as K
from ui.common import lesson_header, query_value, set_query
from ui.scenes import scene_bar

lesson_header(
    "Normalization",
    "Neural networks learn best when their inputs and targets are around unit scale. In RL the "
    "data arrive as a stream whose scale we do not know in advance and which drifts as the policy "
    "changes. The fix is always to **divide by statistics of the data**, but which statistics "
    "differs: running statistics for observations and for rewards (via the return); each "
    "minibatch's own mean and std for advantages; inside a network, each sample's own statistics "
    "over its features (LayerNorm), and for BatchNorm the batch's statistics while training and "
    "its running statistics only in evaluation. Play each one live below.",
    "Gymnasium wrappers (NormalizeObservation, NormalizeReward); Huang et al. 2022, The 37 "
    "implementation details of PPO; Chan, Golub & LeVeque 1979; Ioffe & Szegedy 2015 (BatchNorm); "
    "Ba, Kiros & Hinton 2016 (LayerNorm); Foerster et al. 2016 (DIAL)",
)

# before the widgets: a scene sets them
scene_bar("normalization", tab_key=K.NZ_TAB, tab_labels=PANELS)
panel = query_value("panel", "running", str, PANELS)
# the tab's initial state comes from the link once; a changing `default=` would reset the widget
st.session_state.setdefault(K.NZ_TAB, PANELS[panel])
tabs = st.tabs(list(PANELS.values()), key=K.NZ_TAB, on_change="rerun")
current = {label: key for key, label in PANELS.items()}.get(st.session_state.get(K.NZ_TAB), panel)
set_query(panel=current)

for tab, draw in zip(tabs, (P.running_panel, P.observations_panel, P.rewards_panel,
                            P.advantages_panel, P.batchnorm_panel)):
    with tab:
        if tab.open:
            draw()
