"""The PPO page's button callbacks, out of the page script.

Streamlit keeps a session's widget callbacks for as long as the session lives; a function defined
in the page script would keep the script's whole namespace (every table and figure of the run)
alive with it (tests/test_pages.py).
"""

from __future__ import annotations

import streamlit as st


def set_seeds(n: int) -> None:
    """The "Use N seeds" offer: the seeds slider takes ``n``."""
    st.session_state["ppo_seeds"] = n


def drop_variant(vid: str, chosen: list[str]) -> None:
    """The "Drop it" offer: ``vid`` leaves the chosen variants (``chosen`` when the variants box
    has no state yet)."""
    kept = st.session_state.get("ppo_variants", chosen)
    st.session_state["ppo_variants"] = [v for v in kept if v != vid]
