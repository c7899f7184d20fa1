"""An unknown URL path says so (ui/navigation.py, app.py). The browser check of a real
``/nonexistent`` is tests/e2e/test_unknown_page.py; here app.py runs under AppTest with the
path the browser asked for set in place of Streamlit's (AppTest cannot request a URL path)."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.apptest_helpers import APP, assert_clean
from toolbox.lessons import LESSONS
from ui import navigation


def _app(monkeypatch, asked: str | None) -> AppTest:
    monkeypatch.setattr(navigation, "requested_page", lambda: asked)
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert_clean(at, f"app.py asked for {asked!r}")
    return at


def test_unknown_path_shows_a_message_and_links_every_lesson(monkeypatch):
    at = _app(monkeypatch, "nonexistent")
    assert [t.value for t in at.title] == ["Page not found"]
    assert "no page “nonexistent”" in at.error[0].value
    links = [el.proto.page for el in at.get("page_link")]
    assert links[1:] == [lesson.slug for lesson in LESSONS] and len(links) > 1


@pytest.mark.parametrize("asked", [None, "home", "dial", "/dial/"])
def test_known_paths_and_the_root_show_their_page(monkeypatch, asked):
    at = _app(monkeypatch, asked)
    assert "Page not found" not in [t.value for t in at.title] and not at.error


def test_the_path_is_echoed_as_plain_text(monkeypatch):
    at = _app(monkeypatch, "[x](https://evil.example)")
    shown = at.error[0].value
    assert "](" not in shown and "\\[x\\]\\(https\\:" in shown
