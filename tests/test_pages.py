"""Every page runs through app.py's navigation under AppTest without an exception.

Each lesson's own widget-driving tests live in ``tests/test_page_<lesson>.py``; this file
guarantees that a page added to the catalogue (toolbox/lessons/catalogue.py) is exercised at all.
"""

from __future__ import annotations

import ast
import gc
import types

import pytest

from tests.apptest_helpers import ROOT, assert_clean, open_page
from toolbox.lessons import LESSONS

PAGES = ["app_pages/home.py"] + [lesson.page_path for lesson in LESSONS]


def test_every_lesson_in_the_catalogue_has_its_page():
    """Navigation and home link every lesson: an entry without a page would be a dead link."""
    missing = [lesson.page_path for lesson in LESSONS if not (ROOT / lesson.page_path).is_file()]
    assert not missing, f"lessons in toolbox/lessons/catalogue.py without a page file: {missing}"


@pytest.mark.parametrize("page", PAGES)
def test_page_runs(page):
    at = open_page(page)
    assert len(at.title) >= 1, "every page has a title"
    assert_clean(at, page)


def test_home_lists_every_lesson():
    at = open_page("app_pages/home.py")
    subheaders = " ".join(s.value for s in at.subheader)
    for lesson in LESSONS:
        assert lesson.title in subheaders


def test_invalid_device_override_shows_message(monkeypatch):
    monkeypatch.setenv("RL_TOOLBOX_DEVICE", "gpu")
    at = open_page("app_pages/home.py")
    assert any("RL_TOOLBOX_DEVICE" in e.value for e in at.sidebar.error)


def page_scripts_reached(root: object) -> list[str]:
    """The page scripts (paths under ``app_pages/``) whose namespace ``root`` reaches through
    references (modules and other globals are not followed: a page's own package modules live as
    long as the server anyway)."""
    pages = str(ROOT / "app_pages")
    seen, stack, found = set(), [root], set()
    while stack:
        obj = stack.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if isinstance(obj, (types.ModuleType, type)):
            continue
        if type(obj) is dict and "__builtins__" in obj:  # a module's or a script's globals
            path = str(obj.get("__file__", ""))
            if path.startswith(pages) and obj.get("__name__") == "__main__":
                found.add(path[len(pages) + 1:])
            continue
        stack.extend(gc.get_referents(obj))
    return sorted(found)


def test_a_session_keeps_no_page_script_alive():
    """Streamlit keeps a session's keyed widgets, their format functions and callbacks included,
    across pages for as long as the session lives. A function defined in a page script holds that
    script's whole namespace: every table and figure the page built. Sixty students who had opened
    every page held ~3 MB each in the web process (measured), most of its peak in class. Widget
    functions come from modules, or are bound methods of small tables."""
    at = open_page(PAGES[1])
    for page in PAGES[2:] + PAGES[:1]:
        at.switch_page(page)
        at.run()
        assert_clean(at, page)
    assert page_scripts_reached(at.session_state) == []


WIDGET_FUNCTIONS = ("format_func", "on_change", "on_click", "on_apply", "on_select")


@pytest.mark.parametrize("page", PAGES)
def test_no_widget_function_is_defined_in_a_page_script(page):
    """The rule behind the test above, for branches a default run does not reach (a cap's offer,
    an error's fix): a widget's function is no lambda and no ``def`` of the page script."""
    tree = ast.parse((ROOT / page).read_text())
    defined = {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}
    bad = [f"line {kw.value.lineno}: {kw.arg}="
           for node in ast.walk(tree) if isinstance(node, ast.Call)
           for kw in node.keywords if kw.arg in WIDGET_FUNCTIONS
           and (isinstance(kw.value, ast.Lambda)
                or isinstance(kw.value, ast.Name) and kw.value.id in defined)]
    assert not bad, (f"{page}: widget functions defined in the page script keep its namespace "
                     f"alive for the whole session: {bad}; take a module's function or a bound "
                     "method of a small table (dict.__getitem__, str.format)")
