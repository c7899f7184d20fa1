"""Every warning about a link value names what the link may set, per page, and echoes the
link's text as plain text (a bare https:// URL in an ignored value never becomes a link)."""

from __future__ import annotations

import re

import pytest

from tests.apptest_helpers import assert_clean, errors, open_page, warnings
from toolbox.lessons import LESSONS
from ui.common import allowed_text

pytestmark = pytest.mark.slow  # the page under AppTest; the fast run keeps test_pages.py

PAGES = [lesson.page_path for lesson in LESSONS]
NAMES_WHAT_IS_ALLOWED = re.compile(r"\(allowed: .+\); showing |\(-?[\d.]+ to [\d.]+\)|"
                                   r"from -?[\d.]+ to [\d.]+|not one of: ")
URL = "https://evil.example/x"


def _link_messages(at) -> list[str]:
    return [m for m in warnings(at) + errors(at) if "link" in m.lower()]


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("garbage", ["abc", "99999999", URL])
def test_every_link_warning_names_what_is_allowed(page, garbage):
    base = open_page(page)
    query = {k: garbage for k in base.query_params if k != "scene"}
    at = open_page(page, query=query)
    assert_clean(at, f"{page} with {garbage}")
    messages = _link_messages(at)
    if garbage == "abc":
        assert messages, f"{page}: no warning for {query}"
    for m in messages:
        assert NAMES_WHAT_IS_ALLOWED.search(m), (page, m)
    raw = [w.value for w in at.warning] + [e.value for e in at.error]
    assert not [r for r in raw if "://" in r], "a URL reached Markdown unescaped"


@pytest.mark.parametrize("page, query, expected", [
    ("app_pages/gumbel_softmax/page.py", {"tau": "99"},
     "tau=99 (allowed: 0.01–100, one of 81 values); showing 1."),
    ("app_pages/gumbel_softmax/page.py", {"K": "x"}, "K=x, not a valid value (allowed: 2–"),
    ("app_pages/normalization/page.py", {"batches": "9999"},
     "batches=9999 (allowed: whole numbers 10–500); showing 100."),
    ("app_pages/normalization/page.py", {"panel": "nope"},
     "panel=nope (allowed: one of: running, "),
    ("app_pages/ppo_details/page.py", {"seeds": "0"}, "seeds=0 (allowed: 1–10); showing 10."),
    ("app_pages/ppo_details/page.py", {"v": "all,zzz"},
     "(allowed: variant ids separated by commas: all, "),
    ("app_pages/ppo_details/page.py", {"custom": "zzz"}, "(allowed: details separated by commas: "),
    ("app_pages/social_influence/page.py", {"marginal": "x"},
     "marginal=x (allowed: one of: state, prior)"),
    ("app_pages/social_influence/page.py", {"beta": "0.3"},
     "beta=0.3 (allowed: one of: 0, 0.1, 0.25,"),
    ("app_pages/dial/page.py", {"sigma": "9"}, "(0 to 5)"),
])
def test_the_warning_states_the_range(page, query, expected):
    at = open_page(page, query=query)
    assert_clean(at, f"{page} {query}")
    assert any(expected in m for m in _link_messages(at)), _link_messages(at)


def test_allowed_text():
    assert allowed_text(range(2, 9)) == "2–8"
    assert allowed_text({"a": 1, "b": 2}) == "one of: a, b"
    assert allowed_text([0.5, 1.0]) == "one of: 0.5, 1"
    assert allowed_text([float(x) for x in range(20)]) == "0–19, one of 20 values"
