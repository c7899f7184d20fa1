"""What app.py shows when the browser asks for a page the app does not have.

Streamlit's ``st.navigation`` falls back to the default page (Home) for an unknown URL path such
as ``/nonexistent``, so a mistyped or outdated link would silently show Home. ``app.py`` asks
:func:`unknown_page` after the navigation is built and, for an unknown path, draws
:func:`page_not_found` instead: the path asked for (plain text) and a link to every lesson.
"""

from __future__ import annotations

from typing import Iterable

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from ui.text import plain


def requested_page() -> str | None:
    """The URL path the browser asked for on this run, e.g. ``"dial"``; ``None`` for the root
    URL, for a run of a page chosen in the navigation (Streamlit names it by its hash then), and
    outside a Streamlit run."""
    ctx = get_script_run_ctx()
    if ctx is None:
        return None
    manager = ctx.pages_manager
    if manager.intended_page_script_hash:
        return None
    return manager.intended_page_name or None


def unknown_page(url_paths: Iterable[str]) -> str | None:
    """The URL path asked for when it is none of ``url_paths`` (the app's pages), else ``None``."""
    asked = requested_page()
    if asked is None:
        return None
    return None if asked.strip("/") in {p.strip("/") for p in url_paths} else asked


def page_not_found(asked: str, lessons) -> None:
    """The page drawn for an unknown path: what was asked for and a link to every lesson."""
    st.title("Page not found")
    st.error(
        f"RL Toolbox has no page “{plain(asked)}”. The link may be mistyped or from an older "
        "version of the app. Choose a lesson:",
        icon=":material/travel_explore:",
    )
    st.page_link("app_pages/home.py", label="Home", icon=":material/home:")
    for lesson in lessons:
        st.page_link(lesson.page_path, label=lesson.title, icon=lesson.icon)
