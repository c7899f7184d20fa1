"""RL Toolbox: the entry point. Navigation over the lesson pages, page config, sidebar.

Run with ``streamlit run app.py``.
"""

from __future__ import annotations

import streamlit as st

# Streamlit and plain Python only: works on a broken install
from ui.errors import run_page, stop_with_failure

st.set_page_config(page_title="RL Toolbox", page_icon=":material/construction:", layout="wide")

try:
    # First: concurrent first runs must not import modules half-way (see ui/preload.py).
    import ui.preload  # noqa: F401
    from toolbox.device import ENV_VAR, device_label
    from toolbox.lessons import LESSONS
    from ui.common import device_problem, page_device
    from ui.navigation import page_not_found, unknown_page
    from ui.presenter import presenter_toggle
except Exception as err:  # noqa: BLE001 - a broken install must say what is missing, not show a blank box
    stop_with_failure(err)


pages = [st.Page("app_pages/home.py", title="Home", icon=":material/home:", url_path="home",
                 default=True)]
pages += [
    st.Page(lesson.page_path, title=lesson.title, icon=lesson.icon, url_path=lesson.slug)
    for lesson in LESSONS
]
navigation = st.navigation(pages)

with st.sidebar:
    presenter_toggle()
    problem = device_problem()
    if problem:
        st.error(f"{problem} Computing on the CPU meanwhile.", icon=":material/warning:")
    st.markdown(f"**Device:** `{device_label(page_device())}`")
    st.caption(f"Set `{ENV_VAR}=cpu|cuda` to choose.")
    st.caption(
        "Built with PyTorch and Streamlit. Every number "
        "is computed by the tested `toolbox/` backend.")

# Streamlit gives the default page the root URL; its declared "home" still reaches it
unknown = unknown_page([*(page.url_path for page in pages), "home"])
if unknown is not None:  # st.navigation fell back to Home: say so instead of showing it silently
    page_not_found(unknown, LESSONS)
else:
    run_page(navigation)
