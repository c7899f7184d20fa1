"""Home: what the toolbox is, a card per lesson, how to use it in class."""

from __future__ import annotations

import streamlit as st

from toolbox.lessons import LESSONS

st.title("RL Toolbox")
st.markdown(
    "The tricks reinforcement-learning practitioners reach for, one lesson each. Move a "
    "slider and watch the mathematics respond: the numbers are computed as the page runs by a "
    "tested PyTorch backend, on the GPU when there is one — except the long trainings a page "
    "opens on, which are precomputed and say so where they appear: the PPO ablation "
    "(results/ppo_grid500k.json) and the returns its downloadable script reaches "
    "(results/ppo_script_check.json), the continuous-control grid on Pendulum "
    "(results/ppo_continuous_grid.json) and its script's returns "
    "(results/ppo_continuous_script_check.json), DIAL's default and n = 4 teams "
    "(results/dial_default.json, results/dial_n4.json), and the influence lesson's β grid "
    "(results/influence_learning.json). Training again with other settings runs live."
)

cols = st.columns(2)
for i, lesson in enumerate(LESSONS):
    with cols[i % 2].container(border=True):
        st.subheader(f"{lesson.icon} {lesson.title}")
        st.write(lesson.promise)
        st.caption(f":material/menu_book: {lesson.papers}")
        st.page_link(lesson.page_path, label=f"Open {lesson.title}",
                     icon=":material/arrow_forward:")

st.divider()
st.subheader("Using it in class")
st.markdown(
    "- **Projector:** the app already uses the full width of the window; zoom the browser to "
    "125–150 % (Ctrl/Cmd and +) so the back row can read it.\n"
    "- **Sharing a view:** the settings that define a view are kept in the page's address; copy "
    "the URL and students open exactly what you see.\n"
    "- **Training together:** identical training requests are computed once and shared, so "
    "a room that presses *Train* with the default settings waits for one run, not thirty."
)
