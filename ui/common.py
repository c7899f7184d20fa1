"""Helpers every page uses: the device, error display, and URL query parameters.

Pages import these instead of re-writing them; nothing here computes mathematics.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

import streamlit as st
import torch
from streamlit.runtime.pages_manager import PagesManager

from toolbox.device import resolve_device
from toolbox.lessons.widget_rules import RULES as WIDGET_RULES
from ui.jobs import submit_job, submit_ppo, watch_job  # noqa: F401  (re-exported: pages submit and watch trainings)
from ui.text import MAX_ECHO, plain  # noqa: F401  (re-exported: pages echo user text through these)
from ui.widget_guard import check_rules, ignored_text, sweep


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


def _listed(values: Sequence[Any]) -> str:
    return ", ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in values)


def allowed_text(valid: range | Sequence[Any] | Mapping[Any, Any]) -> str:
    """What a link may set, in words, from a collection of allowed values: ``"2–8"`` for a range,
    ``"0.01–100, one of 81 values"`` for many numbers, ``"one of: a, b, c"`` otherwise."""
    if isinstance(valid, range):
        return f"{valid.start}–{valid.stop - 1}"
    values = list(valid)
    numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
    if numbers and len(values) > 12:
        return f"{_listed([min(values)])}–{_listed([max(values)])}, one of {len(values)} values"
    return "one of: " + _listed(values)


def shown_default(value: Any) -> str:
    """A default value as a reader sees it in the page's controls (lists comma-separated)."""
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value) if isinstance(value, (set, frozenset)) else value
        return _listed(items) if items else "none"
    return _listed([value])


def query_value(
    key: str,
    default: Any,
    cast: Callable[[str], Any] = str,
    valid: Callable[[Any], bool] | Sequence[Any] | None = None,
    allowed: str | None = None,
) -> Any:
    """Read ``st.query_params[key]`` safely.

    A missing key gives ``default``. A value that does not parse with ``cast`` or fails
    ``valid`` (a predicate, or a collection of allowed values) gives ``default`` and a warning
    that names the parameter, what the link may set (``allowed``, in words; derived from
    ``valid`` when it is a collection) and the value shown instead, so a malformed shared link
    still opens the page and says how to fix it. The link's text is echoed as plain text.
    """
    if allowed is None:
        if valid is None or callable(valid):
            raise TypeError(f"query_value({key!r}): say in `allowed` what the link may set.")
        allowed = allowed_text(valid)
    if key not in st.query_params:
        return default
    raw = st.query_params.get(key)
    try:
        value = cast(raw)
        ok = valid is None or (valid(value) if callable(valid) else value in valid)
        why = ""
    except (TypeError, ValueError):
        ok, why = False, ", not a valid value"
    if not ok:
        st.warning(ignored_text("link parameter", key, raw, why, allowed, shown_default(default)),
                   icon=":material/link_off:")
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
    # widget values no browser sends (NaN, unknown options, text in a number box): dropped, with the
    # message of a bad link value, before any control or callback of the page reads them
    sweep()
    check_rules({key: rule for rules in WIDGET_RULES.values() for key, rule in rules.items()})
    st.title(title)
    st.markdown(idea)
    st.caption(f":material/menu_book: {papers}")
