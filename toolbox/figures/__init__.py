"""Plotly figure builders: data in, ``go.Figure`` out (no streamlit, testable without a browser).

One module per lesson (``toolbox/figures/<lesson>.py``); shared colours and layout in ``style``.
"""
