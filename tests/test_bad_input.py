"""Bad input everywhere: malformed links must never break a page.

For every page: open it once to learn which URL parameters it mirrors, then reopen it with each
of those parameters set to garbage (wrong type, NaN, out of range, empty), plus unknown keys.
The page must render without an exception; a parameter it could not use is reported with a
warning, never a traceback.
"""

from __future__ import annotations

import pytest

from tests.apptest_helpers import assert_clean, open_page
from toolbox.lessons import LESSONS

pytestmark = pytest.mark.slow  # the page under AppTest; the fast run keeps test_pages.py

PAGES = ["app_pages/home.py"] + [lesson.page_path for lesson in LESSONS]
GARBAGE = ["abc", "NaN", "-1e99", "1e99", "", "[1,2]"]


def _page_params(page: str) -> dict[str, str]:
    at = open_page(page)
    return {k: at.query_params[k] for k in at.query_params}


@pytest.mark.parametrize("page", PAGES)
def test_unknown_query_keys_are_ignored(page):
    at = open_page(page, query={"no_such_setting": "1", "x": "<script>"})
    assert_clean(at, page)
    assert len(at.title) >= 1


@pytest.mark.parametrize("page", PAGES)
def test_garbage_values_for_every_mirrored_parameter(page):
    params = _page_params(page)
    for i, garbage in enumerate(GARBAGE):
        query = {key: garbage for key in params}
        if not query:
            break
        at = open_page(page, query=query)
        assert_clean(at, f"{page} with {query}")
        assert len(at.title) >= 1
        if garbage in ("abc", "NaN"):
            # a value the page cannot use is reported, not silently swallowed
            assert len(at.warning) + len(at.error) > 0, f"{page}: no message for {query}"
