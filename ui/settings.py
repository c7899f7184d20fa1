"""A page's link-carried settings as one table: each row names a widget key, its URL parameter,
default and bounds.

One row drives three things that would otherwise be written three times: the widget's initial
value (from the link, checked, else the default), the widget's bounds or options, and the
mirror of its value back into the URL so that a link reproduces the view.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence

import streamlit as st

from ui.common import allowed_text, query_value, set_query


def on_off(text: str) -> bool:
    """URL text ``"on"``/``"off"`` → bool (ValueError for anything else)."""
    if text not in ("on", "off"):
        raise ValueError(text)
    return text == "on"


def on_off_text(value: bool) -> str:
    """bool → ``"on"``/``"off"``."""
    return "on" if value else "off"


def _number(x: float | None) -> str:
    return "" if x is None else str(int(x)) if float(x).is_integer() else f"{x:g}"


@dataclass(frozen=True)
class Setting:
    """One control that a link can set."""

    key: str
    """The widget's key in ``st.session_state``."""
    url: str
    """The query parameter mirroring it."""
    default: Any
    parse: Callable[[str], Any] = str
    """URL text → value (raises ValueError for text that is not a value)."""
    low: float | None = None
    """Smallest value allowed (the widget's ``min_value``); ``None``: unbounded."""
    high: float | None = None
    """Largest value allowed (the widget's ``max_value``); ``None``: unbounded."""
    choices: Sequence[Any] | None = None
    """The only values allowed (the widget's ``options``), instead of bounds."""
    to_url: Callable[[Any], str] = str
    """Value → URL text."""

    def valid(self, value: Any) -> bool:
        """Whether a value read from a link may be used (NaN never)."""
        if self.choices is not None:
            return value in self.choices
        if isinstance(value, float) and math.isnan(value):
            return False
        return (self.low is None or value >= self.low) and (self.high is None or value <= self.high)

    def allowed(self) -> str:
        """What a link may set, in words (the warning for a bad link value names it)."""
        if self.choices is not None:
            return allowed_text(self.choices)
        if self.parse is on_off:
            return "on or off"
        kind = "whole numbers" if self.parse is int else "numbers"
        low, high = (_number(b) for b in (self.low, self.high))
        if self.low is None and self.high is None:
            return f"any {kind[:-1]}"
        if self.high is None:
            return f"{kind} from {low}"
        if self.low is None:
            return f"{kind} up to {high}"
        return f"{kind} {low}–{high}"

    def widget(self) -> dict[str, Any]:
        """Keyword arguments for the widget: ``key`` and the bounds or options this row defines."""
        kwargs: dict[str, Any] = {"key": self.key}
        if self.choices is not None:
            kwargs["options"] = self.choices
        if self.low is not None:
            kwargs["min_value"] = self.low
        if self.high is not None:
            kwargs["max_value"] = self.high
        return kwargs


def init_settings(settings: Iterable[Setting]) -> None:
    """Link → initial widget state, for widgets with no state yet in this session (a bad link value
    warns)."""
    for s in settings:
        value = query_value(s.url, s.default, s.parse, s.valid, s.allowed())
        st.session_state.setdefault(s.key, value)


def mirror_settings(settings: Iterable[Setting]) -> None:
    """Widget state → link."""
    set_query(**{s.url: s.to_url(st.session_state[s.key]) for s in settings})
