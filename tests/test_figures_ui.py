"""``ui.figures.show_figure``: the chart with a 2× PNG in its always-visible toolbar, and a CSV
download of the figure's data (a live figure without a key gets no CSV button)."""

from __future__ import annotations

import json

from streamlit.testing.v1 import AppTest


def _app():
    import plotly.graph_objects as go
    import streamlit as st

    from ui.figures import show_figure

    fig = go.Figure(go.Bar(x=["a", "b"], y=[1.0, 2.0], name="bars"))
    show_figure(fig, "demo_fig")
    show_figure(fig, None, where=st.empty())


def test_show_figure_offers_png_and_csv():
    at = AppTest.from_function(_app, default_timeout=30)
    at.run()
    assert not at.exception
    charts = at.get("plotly_chart")
    assert len(charts) == 2
    config = json.loads(charts[0].proto.config)
    assert config["displayModeBar"] is True
    assert config["toImageButtonOptions"] == {"format": "png", "scale": 2, "filename": "demo_fig"}
    buttons = at.get("download_button")
    assert [b.key for b in buttons] == ["demo_fig_csv"]  # the keyless (live) chart has none
    assert buttons[0].proto.label == "Download data (CSV)"
