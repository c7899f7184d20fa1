"""The Gumbel-Softmax page's callbacks, out of the page script.

Streamlit keeps a session's widget callbacks for as long as the session lives; a function defined
in the page script would keep the script's whole namespace (every sample and figure of the run)
alive with it (tests/test_pages.py).
"""

from __future__ import annotations

import streamlit as st

from app_pages.gumbel_softmax.estimators import fmt
from toolbox import gumbel as G
from toolbox.lessons import shared as SK


def refill_values() -> None:
    """After a scene: the typed values become its preset's (what the student had typed is
    replaced)."""
    ss = st.session_state
    ss[SK.GS_VALUES] = fmt(G.preset_values(ss[SK.GS_PRESET], ss[SK.GS_K], ss[SK.GS_MODE]))
