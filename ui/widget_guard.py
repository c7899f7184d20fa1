"""Widget values from any client, checked like link values: the same message, and the page works.

A browser sends only what its controls allow; a script speaking Streamlit's protocol can send any
widget state: NaN or infinity in a whole-number input (Streamlit's own ``int(nan)`` then raises),
an option a select box never offered, a table edit naming rows and columns that do not exist.
Such a value is dropped (the control shows its default) and the page says so with the wording of a
bad link value (:func:`ignored_text`, used by ``ui.common.query_value`` too).

* :func:`sweep` (app.py, before every page): any value that cannot be read, and any non-finite
  number, under any widget key.
* :func:`check_widget` (pages, before a control whose options or range they know).
* :func:`check_editor` (before a ``st.data_editor``): the edits' structure, rows and columns.
* Callbacks run before the page and cannot draw: they call :func:`valid_state` and return early;
  the page's :func:`check_widget` then shows the message.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Collection, Sequence
from typing import Any

import streamlit as st
from streamlit.elements.widgets import number_input as number_input_module
from streamlit.runtime.scriptrunner import get_script_run_ctx

from ui.text import plain

Valid = Callable[[Any], bool] | Collection[Any]
_UNREADABLE = object()
_NOTES: dict[str, list[str]] = {}  # session id -> values Streamlit's own reading dropped
_NOTES_LOCK = threading.Lock()


def _harden_number_input() -> None:
    """Streamlit reads a whole-number input's state with ``int(value)`` before any callback or
    page code runs: NaN or infinity from a client raised there ("This page failed"). A float input
    already falls back to its default on a non-finite value; here a whole-number input does the
    same, and the session's next :func:`sweep` says so. (Tested in tests/test_widget_values.py: a
    Streamlit upgrade that changes ``NumberInputSerde`` fails there.)"""
    serde = number_input_module.NumberInputSerde
    if getattr(serde.deserialize, "_rl_toolbox", False):
        return
    original = serde.deserialize

    def deserialize(self, ui_value):
        ok = ui_value is None or (isinstance(ui_value, (int, float))
                                  and not isinstance(ui_value, bool) and math.isfinite(ui_value))
        if ok:
            return original(self, ui_value)
        ctx = get_script_run_ctx()
        if ctx is not None:
            text = ignored_text("value sent for a number control", "value", ui_value,
                                ", not a finite number", "a finite number", str(self.value))
            with _NOTES_LOCK:
                _NOTES.setdefault(ctx.session_id, []).append(text)
        return original(self, None)  # its default

    deserialize._rl_toolbox = True
    serde.deserialize = deserialize


def ignored_text(source: str, key: str, raw: object, why: str, allowed: str, shown: str) -> str:
    """``Ignored the <source> key=raw<why> (allowed: …); showing …``; user parts plain text."""
    return (f"Ignored the {source} {plain(key)}={plain(raw)}{why} "
            f"(allowed: {plain(allowed, limit=400)}); showing {plain(shown, limit=200)}.")


def whole(lo: int, hi: int) -> Callable[[Any], bool]:
    """A whole number from ``lo`` to ``hi`` (an int or a float without fraction; not NaN, inf)."""
    def ok(v: Any) -> bool:
        return (isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
                and float(v).is_integer() and lo <= v <= hi)
    return ok


def number(lo: float = -math.inf, hi: float = math.inf) -> Callable[[Any], bool]:
    """A finite number from ``lo`` to ``hi``."""
    def ok(v: Any) -> bool:
        return (isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
                and lo <= v <= hi)
    return ok


def subset(options: Collection[Any]) -> Callable[[Any], bool]:
    """A list of distinct values, each one of ``options`` (a multiselect)."""
    def ok(v: Any) -> bool:
        return (isinstance(v, (list, tuple)) and all(x in options for x in v)
                and len(set(v)) == len(v))
    return ok


def _read(key: str) -> Any:
    try:
        return st.session_state[key]
    except Exception:  # noqa: BLE001 - a widget state Streamlit itself cannot deserialize
        return _UNREADABLE


def _passes(value: Any, valid: Valid) -> bool:
    if value is _UNREADABLE:
        return False
    try:
        return bool(valid(value)) if callable(valid) else value in valid
    except Exception:  # noqa: BLE001 - an unhashable or odd value is not valid
        return False


def valid_state(key: str, valid: Valid) -> bool:
    """True when the session holds no value for ``key`` or one ``valid`` accepts (for callbacks)."""
    return key not in st.session_state or _passes(_read(key), valid)


def _drop(key: str) -> None:
    try:
        del st.session_state[key]
    except Exception:  # noqa: BLE001 - already gone
        st.session_state.pop(key, None)


def check_widget(key: str, valid: Valid, allowed: str, default: Any) -> bool:
    """Drop a value of widget ``key`` that ``valid`` (a predicate or the allowed values) refuses and
    show why; the control then shows ``default``. True when a value was dropped."""
    if key not in st.session_state:
        return False
    value = _read(key)
    if _passes(value, valid):
        return False
    _drop(key)
    raw = "(unreadable)" if value is _UNREADABLE else value
    st.warning(ignored_text("value sent for the control", key, raw, "", allowed, str(default)),
               icon=":material/block:")
    return True


def _nonfinite(value: Any) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, (list, tuple)):
        return any(_nonfinite(v) for v in value)
    return False


def sweep() -> list[str]:
    """Drop every widget value that cannot be read or holds NaN/infinity (no control of this app
    takes one) and say so; returns the keys dropped. Keys starting with ``_`` are the app's own."""
    ctx = get_script_run_ctx()
    with _NOTES_LOCK:
        notes = _NOTES.pop(ctx.session_id, []) if ctx is not None else []
    for text in notes[:8]:
        st.warning(text, icon=":material/block:")
    dropped = []
    for key in [k for k in st.session_state if isinstance(k, str) and not k.startswith("_")]:
        value = _read(key)
        if value is _UNREADABLE or _nonfinite(value):
            _drop(key)
            raw = "(unreadable)" if value is _UNREADABLE else value
            st.warning(ignored_text("value sent for the control", key, raw, ", not a finite number",
                                    "a finite number in the control's range", "its default"),
                       icon=":material/block:")
            dropped.append(key)
    return dropped


def check_editor(key: str, n_rows: int, columns: Sequence[str]) -> bool:
    """Drop the edits of table editor ``key`` unless they are what a browser sends for a fixed-size
    table: ``{"edited_rows": {row: {column: number or None}}, "added_rows": [],
    "deleted_rows": []}`` with rows ``0..n_rows-1`` and known ``columns``. True when they were
    dropped (with a message)."""
    if key not in st.session_state:
        return False
    value = _read(key)
    if _editor_ok(value, n_rows, set(columns)):
        return False
    _drop(key)
    st.warning(ignored_text("edits sent for the table", key, value, "",
                            f"numbers in rows 1–{n_rows} of columns {', '.join(columns)}",
                            "the table before those edits"), icon=":material/block:")
    return True


def _editor_ok(value: Any, n_rows: int, columns: set) -> bool:
    if not isinstance(value, dict) or not set(value) <= {"edited_rows", "added_rows",
                                                         "deleted_rows"}:
        return False
    if value.get("added_rows") or value.get("deleted_rows"):
        return False
    rows = value.get("edited_rows", {})
    if not isinstance(rows, dict):
        return False
    for row, cells in rows.items():
        try:
            r = int(row)
        except (TypeError, ValueError):
            return False
        if str(r) != str(row).strip() or not 0 <= r < n_rows or not isinstance(cells, dict):
            return False
        for col, cell in cells.items():
            if col not in columns:
                return False
            if cell is not None and not number()(cell):
                return False
    return True


def _rule_check(kind: str, args: tuple) -> tuple[Valid, str]:
    if kind == "one of":
        return tuple(args[0]), "one of: " + ", ".join(map(str, args[0]))
    if kind == "some of":
        return subset(args[0]), "some of: " + ", ".join(map(str, args[0]))
    lo, hi = args
    test = whole(lo, hi) if kind == "whole" else number(lo, hi)
    what = "a whole number" if kind == "whole" else "a finite number"
    bounded = math.isfinite(lo) and math.isfinite(hi) and abs(hi) < 2**31 - 1
    return test, what + (f" from {lo:g} to {hi:g}" if bounded else "")


def check_rules(rules: dict[str, tuple]) -> list[str]:
    """:func:`check_widget` for every ``key → (kind, ..., default)`` of a lesson's rules
    (``toolbox.lessons.widget_rules``); returns the keys dropped."""
    dropped = []
    for key, (kind, *args, default) in rules.items():
        valid, allowed = _rule_check(kind, tuple(args))
        if check_widget(key, valid, allowed, default):
            dropped.append(key)
    return dropped


_harden_number_input()
