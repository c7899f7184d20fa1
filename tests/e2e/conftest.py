"""Fixtures for end-to-end tests: a real `streamlit run app.py` server and headless Chromium.

Skipped, with the reason, where Chromium or playwright is absent (CI installs both).
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

from harness import live_server
from harness.browser import CHROMIUM, LAUNCH_ARGS, chromium_path

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "e2e"
ARTIFACTS.mkdir(parents=True, exist_ok=True)


@contextlib.contextmanager
def streamlit_server(log_name: str = "streamlit-e2e.log"):
    """Start ``streamlit run app.py`` on a free loopback port; yield its URL; stop it."""
    with live_server.streamlit_server(log_name) as (url, _proc):
        yield url


@pytest.fixture(scope="session")
def server_url():
    with streamlit_server() as url:
        yield url


@pytest.fixture(scope="session")
def browser():
    exe = chromium_path()
    if exe is None:
        pytest.skip(f"Chromium not found at {CHROMIUM}; install Debian's chromium to run e2e tests")
    sync_playwright = pytest.importorskip(
        "playwright.sync_api",
        reason="the playwright Python package is not installed (requirements-dev.txt)",
    ).sync_playwright
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=exe, args=LAUNCH_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    p = context.new_page()
    yield p
    context.close()
