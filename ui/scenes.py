"""The scene bar: a lecturer's next/previous steps through a lesson, each asking the class to
predict.

``scene_bar(slug)`` is called near the top of a lesson page, *before* the page draws its widgets:
a scene is applied by writing the widgets' values into ``st.session_state`` (in a button callback,
or on the first run of a ``?scene=`` link), so the widgets are drawn with them. The chosen scene is
mirrored to the URL. The scenes themselves are data (``toolbox.lessons.<lesson>.scenes``).
"""

from __future__ import annotations

from typing import Callable, Mapping

import streamlit as st

from toolbox.figures.scenes import evidence_figure
from toolbox.lessons.scenes import Answer, Scene
from toolbox.lessons.scenes_index import find_scene, neighbour, scene_ids
from ui.common import show_error
from ui.figures import show_figure
from ui.text import plain

PREDICTIONS = "scene_predictions"
"""Session key: ``{(slug, scene id): the option the class predicted}``, recorded when the answer is
revealed."""


def _current_key(slug: str) -> str:
    return f"scene_current_{slug}"


def _radio_key(slug: str, scene_id: str) -> str:
    return f"scene_predict_{slug}_{scene_id}"


def apply_scene(slug: str, scene_id: str, tab_key: str | None = None,
                tab_labels: Mapping[str, str] | None = None,
                on_apply: Callable[[], None] | None = None) -> None:
    """Write the scene's widget values (and its tab) into the session state; call before the widgets
    exist.

    ``on_apply`` lets a page rebuild what depends on the new values (e.g. tables loaded from a
    preset); the settings are written again after it, so they win over anything it resets.
    """
    scene = find_scene(slug, scene_id)
    ss = st.session_state

    values = scene.widget_values()

    def write() -> None:
        for key, value in values.items():
            # a copy: widgets may edit it
            ss[key] = list(value) if isinstance(value, (list, tuple)) else value
        if tab_key and tab_labels and scene.tab:
            ss[tab_key] = tab_labels[scene.tab]

    write()
    if on_apply is not None:
        on_apply()
        write()
    ss[_current_key(slug)] = scene_id


def leave_scenes(slug: str) -> None:
    """Back to the plain page: no scene shown, nothing hidden; the controls keep their values."""
    st.session_state[_current_key(slug)] = None


def _go(slug: str, step: int, tab_key, tab_labels, on_apply) -> None:
    apply_scene(slug, neighbour(slug, st.session_state.get(_current_key(slug)), step), tab_key,
                tab_labels, on_apply)


def _reveal(slug: str, scene_id: str) -> None:
    choice = st.session_state.get(_radio_key(slug, scene_id))
    if choice is not None:
        st.session_state.setdefault(PREDICTIONS, {})[(slug, scene_id)] = choice


@st.cache_resource(show_spinner="Computing the answer…", max_entries=64)
def scene_answer(slug: str, scene_id: str) -> Answer:
    """The scene's answer computed from the backend (once per process: it depends on the scene
    only)."""
    return find_scene(slug, scene_id).answer()


def _current_scene(slug: str) -> Scene | None:
    current = st.session_state.get(_current_key(slug))
    return find_scene(slug, current) if current is not None else None


def concealed(slug: str, part: str) -> bool:
    """True while the scene shown hides ``part`` of the page (``Scene.spoilers``) and its answer is
    not revealed."""
    scene = _current_scene(slug)
    return (scene is not None and part in scene.spoilers
            and (slug, scene.id) not in st.session_state.get(PREDICTIONS, {}))


def show_part(slug: str, *parts: str, where=None) -> bool:
    """Whether the page may draw ``parts``; when the scene hides one of them, a line in their place
    says so."""
    if not any(concealed(slug, part) for part in parts):
        return True
    (where if where is not None else st).caption(
        ":material/visibility_off: Hidden until the "
        "answer is revealed: predict first (scene above).")
    return False


def _show_answer(slug: str, scene: Scene) -> None:
    try:
        answer = scene_answer(slug, scene.id)
        fig = evidence_figure(answer)
    except ValueError as err:
        show_error(err, "The scene's answer")
        return
    st.markdown(answer.text)
    if fig is not None:
        show_figure(fig, key=f"scene_fig_{slug}_{scene.id}")


def _hide_css(scene: Scene, tab_labels: Mapping[str, str] | None) -> str:
    """CSS hiding the tab buttons the scene marks as not relevant (positions only: no user text)."""
    if not tab_labels or not scene.hide_tabs:
        return ""
    names = list(tab_labels)
    # Streamlit 1.67 draws a tab as a react-aria Tab:
    # [data-testid="stTab"], the tab list's only children
    rules = [
        '[data-testid="stTabs"] [role="tablist"] '
        f'> [data-testid="stTab"]:nth-child({names.index(t) + 1})'
        for t in scene.hide_tabs if t in names]
    return "<style>" + ",\n".join(rules) + " {display: none;}</style>" if rules else ""


def scene_bar(slug: str, tab_key: str | None = None, tab_labels: Mapping[str, str] | None = None,
              on_apply: Callable[[], None] | None = None) -> Scene | None:
    """Draw the lesson's scene bar; returns the scene shown (``None`` while no scene is chosen).

    ``tab_key``/``tab_labels``: the page's ``st.tabs`` key and its URL name → label mapping, so that
    a scene can open a tab. A ``?scene=`` value that is not a scene of this lesson warns and is
    ignored.
    """
    ss = st.session_state
    ids = scene_ids(slug)
    current = ss.get(_current_key(slug))
    if current is None and not ss.get(f"scene_url_read_{slug}"):
        ss[f"scene_url_read_{slug}"] = True  # the link's scene is applied once, on the first run
        wanted = st.query_params.get("scene")
        if wanted is not None and wanted not in ids:
            st.warning(
                f"There is no scene {plain(wanted)} in this lesson, so the link's scene was "
                f"ignored. Its scenes: {plain(', '.join(ids), limit=400)}.",
                       icon=":material/warning:")
            wanted = None
        if wanted is not None:
            apply_scene(slug, wanted, tab_key, tab_labels, on_apply)
            current = wanted
    if current is None and "scene" in st.query_params:
        del st.query_params["scene"]
    rest = (tab_key, tab_labels, on_apply)
    with st.container(border=True):
        k = ids.index(current) if current is not None else -1
        # short labels: at 1280 px (a projector at 150 %) each button column is about 70 px wide
        c1, c2, c3, c4 = st.columns([1.2, 5, 1.2, 1.2], vertical_alignment="center")
        c1.button("◀ back", key=f"scene_prev_{slug}", on_click=_go, args=(slug, -1, *rest),
                  disabled=k <= 0, width="stretch")
        c3.button("next ▶" if k >= 0 else "start ▶", key=f"scene_next_{slug}", on_click=_go,
                  args=(slug, 1, *rest), disabled=k == len(ids) - 1, width="stretch")
        c4.button("✕ end", key=f"scene_leave_{slug}", on_click=leave_scenes, args=(slug,),
                  disabled=k < 0, width="stretch",
                  help="Back to the plain page (the controls keep their values).")
        if current is None:
            c2.markdown(
                f":material/co_present: **{len(ids)} scenes** walk through this lesson step by "
                "step: each sets the controls and asks you to predict before showing the answer.")
            return None
        scene = find_scene(slug, current)
        st.query_params["scene"] = scene.id
        c2.markdown(f":material/co_present: **Scene {k + 1} of {len(ids)} · {scene.title}**")
        st.markdown(scene.text)
        q = scene.question
        recorded = ss.get(PREDICTIONS, {}).get((slug, scene.id))
        if recorded is not None and ss.get(_radio_key(slug, scene.id)) is None:
            # the radio's state is dropped when the page is left
            ss[_radio_key(slug, scene.id)] = recorded
        choice = st.radio(f"**Predict:** {q.prompt}", q.options, index=None,
                          key=_radio_key(slug, scene.id), disabled=recorded is not None)
        if recorded is None:
            st.button("Reveal the answer", key=f"scene_reveal_{slug}_{scene.id}", on_click=_reveal,
                      args=(slug, scene.id), disabled=choice is None,
                      help="Record the class's prediction first, then reveal.")
        else:
            verdict = "right" if recorded == q.answer else f"not quite — the answer is “{q.answer}”"
            st.success(f"Predicted “{recorded}”: {verdict}.", icon=":material/lightbulb:")
            _show_answer(slug, scene)
    css = _hide_css(scene, tab_labels)
    if css:
        st.markdown(css, unsafe_allow_html=True)
    return scene
