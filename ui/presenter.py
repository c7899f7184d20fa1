"""Presenter mode: larger text and figures for a projector (a sidebar toggle, or ``?presenter=1``).

The mode only injects this module's constant CSS; nothing a user typed reaches the HTML.
"""

from __future__ import annotations

import streamlit as st

from ui.text import plain

KEY = "presenter_mode"
"""Session key of the sidebar toggle."""

CSS = """<style>
/* presenter mode: readable from the back of a lecture hall. Figures are not styled here: show_figure
   redraws them for the projector in Plotly itself (toolbox/figures/presenter.py). */
html, body, [data-testid="stAppViewContainer"] { font-size: 22px; }
[data-testid="stMarkdownContainer"] p, [data-testid="stMarkdownContainer"] li,
[data-testid="stCaptionContainer"], [data-testid="stWidgetLabel"] p { font-size: 1.25rem !important; }
/* a metric's number stays larger than its label */
[data-testid="stMetricLabel"] p { font-size: 1.1rem !important; }
[data-testid="stMetricValue"], [data-testid="stMetricValue"] div { font-size: 2.4rem !important; }
h1 { font-size: 3.2rem !important; } h2 { font-size: 2.4rem !important; } h3 { font-size: 1.9rem !important; }
.katex { font-size: 1.3em !important; }
/* inputs, dropdowns and code at the text's size */
[data-baseweb="input"] input, [data-baseweb="select"] div, [data-testid="stSelectbox"] input,
[data-baseweb="textarea"] textarea,
[data-testid="stNumberInput"] input, [data-testid="stSliderThumbValue"],
[data-testid="stTickBarMin"], [data-testid="stTickBarMax"] { font-size: 1.15rem !important; }
code, pre, [data-testid="stCode"] code { font-size: 1.05rem !important; }
/* tables are drawn on a canvas: enlarged as a whole. Streamlit sizes the grid (the Resizable) to
   the unzoomed column, which the zoom then drew wider than the page: both held to the column */
[data-testid="stDataFrame"], [data-testid="stTable"] { zoom: 1.25; max-width: 100% !important; }
[data-testid="stDataFrameResizable"] { max-width: 100% !important; }
/* widget labels (toggles, checkboxes) wrap instead of being cut */
[data-testid="stWidgetLabel"] p, label[data-baseweb="checkbox"] p {
  white-space: normal !important; overflow: visible !important; text-overflow: clip !important; }
/* the sidebar widens so that every page's name shows in full */
section[data-testid="stSidebar"] { width: 380px !important; min-width: 380px !important; }
[data-testid="stSidebarNavLink"] * { white-space: normal !important; overflow: visible !important;
  text-overflow: clip !important; }
/* tab names wrap onto a second row rather than hiding the last tabs behind a scroll arrow */
[data-testid="stTabs"] [role="tablist"] { flex-wrap: wrap !important; }
</style>"""  # noqa: E501
"""The CSS presenter mode adds (constant)."""

BASE_CSS = """<style>
/* in every mode: a label too long for its column wraps to a second line instead of being cut */
[data-testid="stMetricLabel"] div, [data-testid="stMetricLabel"] p,
[data-testid="stDownloadButton"] button p, [data-testid="stButton"] button p,
[data-testid="stWidgetLabel"] [data-testid="stMarkdownContainer"],
[data-testid="stWidgetLabel"] [data-testid="stMarkdownContainer"] p {
  white-space: normal !important; overflow: visible !important; text-overflow: clip !important; }
</style>"""
"""The CSS every session gets (constant)."""


def presenter_on() -> bool:
    """Whether presenter mode is on in this session (figures are then built for the projector)."""
    return bool(st.session_state.get(KEY, False))


def presenter_toggle() -> bool:
    """Draw the sidebar toggle (first value from ``?presenter=1``), mirror it to the URL, inject the
    CSS when on."""
    ss = st.session_state
    if KEY not in ss:
        raw = st.query_params.get("presenter")
        if raw is not None and raw not in ("0", "1"):
            st.warning(
                f"Ignored the link parameter presenter={plain(raw)}: "
                "use presenter=1 or presenter=0.",
                icon=":material/warning:")
        ss[KEY] = raw == "1"
    on = st.toggle("Presenter mode", key=KEY, help="Larger text and figures for a projector.")
    st.markdown(BASE_CSS, unsafe_allow_html=True)
    if on:
        st.query_params["presenter"] = "1"
        st.markdown(CSS, unsafe_allow_html=True)
    elif "presenter" in st.query_params:
        del st.query_params["presenter"]
    return on
