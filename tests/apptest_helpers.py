"""Helpers to run a page of the app through ``app.py``'s navigation with AppTest."""

from __future__ import annotations

import re
from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")


def open_page(page_path: str, timeout: float = 60, query: dict | None = None) -> AppTest:
    """Run app.py, switch to ``page_path`` (e.g. ``"app_pages/gumbel_softmax/page.py"``) and run
    it."""
    at = AppTest.from_file(APP, default_timeout=timeout)
    if query:
        for key, value in query.items():
            at.query_params[key] = value
    at.run()
    assert_clean(at, "app start")
    if page_path != "app_pages/home.py":
        at.switch_page(page_path)
        at.run()
    assert_clean(at, page_path)
    return at


def assert_clean(at: AppTest, where: str) -> None:
    """No exception element on the page."""
    if len(at.exception):
        msgs = "\n".join(str(e.value) for e in at.exception)
        raise AssertionError(f"exception on {where}:\n{msgs}")


def texts(at: AppTest) -> str:
    """All markdown/caption/metric text on the page, for substring assertions."""
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += [f"{m.label} {m.value}" for m in at.metric]
    return "\n".join(str(p) for p in parts)


def shown(markdown: str) -> str:
    """What a reader sees of Markdown that escapes user text (``ui.common.plain``): escapes and the
    invisible word joiners that break autolinks removed."""
    return re.sub(r"\\(.)", r"\1", str(markdown)).replace("\u2060", "")


def errors(at: AppTest) -> list[str]:
    """Texts of every st.error element on the page, as shown."""
    return [shown(e.value) for e in at.error]


def warnings(at: AppTest) -> list[str]:
    """Texts of every st.warning element on the page, as shown."""
    return [shown(w.value) for w in at.warning]
