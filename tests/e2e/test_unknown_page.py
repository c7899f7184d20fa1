"""A URL path to a page the app does not have says so (instead of silently showing Home) and
links every lesson; a known path still opens its page."""

from __future__ import annotations

import pytest

from tests.e2e.test_browser import assert_no_exception, main_text, wait_idle
from toolbox.lessons import LESSONS

pytestmark = [pytest.mark.e2e, pytest.mark.slow]  # a real browser and server: slow


def test_unknown_path_says_so_and_links_the_lessons(page, server_url):
    page.goto(f"{server_url}/nonexistent", wait_until="domcontentloaded")
    wait_idle(page)
    text = main_text(page)
    assert "Page not found" in text and "no page “nonexistent”" in text, text[:400]
    links = page.locator('[data-testid="stMain"] [data-testid="stPageLink"]')
    labels = [links.nth(i).inner_text() for i in range(links.count())]
    assert all(any(lesson.title in x for x in labels) for lesson in LESSONS), labels
    assert_no_exception(page, "/nonexistent")


@pytest.mark.parametrize("path", ["home", LESSONS[0].slug])
def test_known_path_opens_its_page(page, server_url, path):
    page.goto(f"{server_url}/{path}", wait_until="domcontentloaded")
    wait_idle(page)
    assert "Page not found" not in main_text(page)
    title = "RL Toolbox" if path == "home" else LESSONS[0].title
    assert title in page.inner_text('[data-testid="stMain"] h1')
