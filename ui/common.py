"""Helpers every page uses: the device, error display, and URL query parameters.

Pages import these instead of re-writing them; nothing here computes mathematics.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

import streamlit as st
import torch

from toolbox.device import resolve_device
from toolbox.lessons.widget_rules import RULES as WIDGET_RULES
from ui.jobs import submit_job, submit_ppo, watch_job  # noqa: F401  (re-exported: pages submit and watch trainings)
from ui.text import MAX_ECHO, plain  # noqa: F401  (re-exported: pages echo user text through these)
from ui.widget_guard import check_rules, ignored_text, sweep


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
    # widget values no browser sends (NaN, unknown options, text in a number box): dropped, with the
    # message of a bad link value, before any control or callback of the page reads them
    sweep()
    check_rules({key: rule for rules in WIDGET_RULES.values() for key, rule in rules.items()})
    st.title(title)
    st.markdown(idea)
    st.caption(f":material/menu_book: {papers}")
