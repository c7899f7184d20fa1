"""Helpers every page uses: the device, error display, and URL query parameters.

Pages import these instead of re-writing them; nothing here computes mathematics.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import streamlit as st
import torch
from streamlit.runtime.pages_manager import PagesManager

from toolbox.device import resolve_device
from ui.jobs import submit_job, submit_ppo, watch_job  # noqa: F401  (re-exported: pages submit and watch trainings)
from ui.text import MAX_ECHO, plain  # noqa: F401  (re-exported: pages echo user text through these)


def leave_pages_directory_mode() -> bool:
    """Make Streamlit route every URL through app.py's ``st.navigation``.

    Why: Streamlit still treats a folder named ``pages/`` beside the entry script as a
    version-1 multipage app, and decides so once per process. In that mode a fresh server whose
    first visitor opens a shared link such as ``/dial`` runs ``pages/dial.py`` directly, without
    app.py: no page config, no device sidebar, and an extra "app" entry in the navigation. We
    keep the layout the project documents (``pages/``) and switch that legacy mode off. Returns
    True when it was on (the current run was routed the legacy way and should be rerun).
    """
    if getattr(PagesManager, "uses_pages_directory", False):
        PagesManager.uses_pages_directory = False
        return True
    return False


_NAV_SEEN = "_rl_toolbox_app_ran"


def mark_app_ran() -> None:
    """Called by app.py on every run: this session has been through the navigation."""
    st.session_state[_NAV_SEEN] = True


_REROUTED = "_rl_toolbox_rerouted"


def ensure_navigation() -> None:
    """Call at the top of every page: a session's first run that bypassed app.py reruns through it.

    Streamlit picks the legacy route when a run *starts*, so on a freshly started server the
    sessions that arrive together (a classroom opening one link) can all start that way before
    the first app.py run switches it off: the test is whether *this session* has been through
    app.py, not the switch. Only a session that has never run app.py is rerun (a rerun would
    otherwise swallow the click that triggered the current run), and only once, so a page run
    on its own (``streamlit run pages/x.py``) still renders.
    """
    leave_pages_directory_mode()
    if not st.session_state.get(_NAV_SEEN) and not st.session_state.get(_REROUTED):
        st.session_state[_REROUTED] = True
        st.rerun()


def page_device() -> torch.device:
    """The device the pages compute on.

    An invalid ``RL_TOOLBOX_DEVICE`` must not break the lesson: the sidebar shows the error
    (see app.py) and the computation falls back to the CPU.
    """
    try:
        return resolve_device(None)
    except ValueError:
        return torch.device("cpu")


def device_problem() -> str | None:
    """The message for an invalid device override, or ``None`` when it is fine."""
    try:
        resolve_device(None)
    except ValueError as err:
        return str(err)
    return None


def show_error(err: Exception, where: str = "") -> None:
    """Show a backend ``ValueError`` as a readable message (never a traceback).

    The message may quote what the user typed, so it is shown as plain text (:func:`plain`).
    """
    prefix = f"**{plain(where)}**: " if where else ""
    st.error(f"{prefix}{plain(err, limit=600)}", icon=":material/warning:")


def query_value(
    key: str,
    default: Any,
    cast: Callable[[str], Any] = str,
    valid: Callable[[Any], bool] | Sequence[Any] | None = None,
) -> Any:
    """Read ``st.query_params[key]`` safely.

    A missing key gives ``default``. A value that does not parse with ``cast`` or fails
    ``valid`` (a predicate, or a collection of allowed values) gives ``default`` and a warning
    that says which parameter was ignored, so a malformed shared link still opens the page.
    """
    if key not in st.query_params:
        return default
    raw = st.query_params.get(key)
    try:
        value = cast(raw)
    except (TypeError, ValueError):
        st.warning(f"Ignored the link parameter {plain(key)}={plain(raw)}: it is not a valid value; "
                   f"using {plain(repr(default))}.")
        return default
    ok = True
    if valid is not None:
        ok = valid(value) if callable(valid) else value in valid
    if not ok:
        st.warning(f"Ignored the link parameter {plain(key)}={plain(raw)}: it is out of range; "
                   f"using {plain(repr(default))}.")
        return default
    return value


def set_query(**params: Any) -> None:
    """Mirror the settings that define the view into the URL, so a link reproduces it."""
    for key, value in params.items():
        text = str(value)
        if st.query_params.get(key) != text:
            st.query_params[key] = text


def lesson_header(title: str, idea: str, papers: str) -> None:
    """The top of every lesson: title, the idea in one paragraph, and the papers it follows."""
    ensure_navigation()
    st.title(title)
    st.markdown(idea)
    st.caption(f":material/menu_book: {papers}")
