"""Every page runs through app.py's navigation under AppTest without an exception.

Each lesson's own widget-driving tests live in ``tests/test_page_<lesson>.py``; this file
guarantees that a page added to the catalogue (toolbox/lessons/catalogue.py) is exercised at all.
"""

from __future__ import annotations

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
