"""Helpers of the DIAL page's sections: link values and the stored runs' comparisons."""

from __future__ import annotations

import streamlit as st

from toolbox.figures import dial as figs
from toolbox.lessons.dial.precomputed import curve_series, matching_runs
from ui.common import show_error
from ui.figures import show_figure


def link_value(key: str, default, parse, widget: str):
    """A setting from the shared link (``?key=…``), or ``default`` with an error naming the bad
    value.

    Read only while the ``widget`` it initialises has no state yet (the session's first run): later
    the link mirrors the widget, and the widget's own value is what counts.
    """
    if widget in st.session_state:
        return st.session_state[widget]
    raw = st.query_params.get(key)
    if raw is None:
        return default
    try:
        return parse(raw)
    except ValueError as err:
        show_error(err, f"Link parameter {key} ignored, using {default}")
        return default



def precomputed_comparison(data: dict, variants: list[tuple[str, dict, str]], title: str,
                           key: str) -> None:
    """Plot stored n = 3 DIAL runs side by side: one (label, config values, colour) per variant."""
    series = []
    for label, want, color in variants:
        runs = matching_runs(data, n_agents=3, method="dial", param_sharing=True, **want)
        if runs:
            series.append(curve_series(label, next(iter(runs.values()))["seeds"], color))
    if series:
        show_figure(figs.learning_curves(series, title), key=key)
