"""What a newcomer does: a fresh venv from ``requirements.txt`` alone, ``streamlit run app.py``,
every page opened in Chromium — no page may show an exception or an error box.

This is the check that failed silently before: the tests installed ``requirements-dev.txt``, so a
run-time import that only the dev file provided (scipy) passed every test while every page of a
newcomer's app was dead.
"""

from __future__ import annotations

import re
import subprocess

import pytest

from harness import live_server
from tests.e2e import fresh_venv
from tests.e2e.conftest import ARTIFACTS
from toolbox.lessons import LESSONS

pytestmark = [pytest.mark.e2e, pytest.mark.slow]  # a real browser and server: slow
ROOT = fresh_venv.ROOT
TITLE = '[data-testid="stMain"] h1'
ERRORS = '[data-testid="stException"], [data-testid="stAlertContentError"]'


def test_readme_and_dockerfile_use_the_same_install_command():
    command = " ".join(fresh_venv.INSTALL_COMMAND)
    readme = (ROOT / "README.md").read_text()
    assert f"{command} && streamlit run app.py" in readme
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(rf"RUN .*{re.escape(command)}",
                     dockerfile), "the image must install requirements.txt as the README does"
    assert "requirements-dev" not in dockerfile


@pytest.mark.timeout(1800)
def test_readme_run_command_serves_every_page_from_a_fresh_venv(browser):
    venv, seconds = fresh_venv.wait()
    print(f"fresh venv: {venv} ({'built in %.0f s' % seconds if seconds else 'cached'})")
    python = str(fresh_venv.python_of(venv))
    probe = subprocess.run(
        [python, "-c", "import importlib.util as u, torch; "
                       "print(u.find_spec('playwright') is None, "
                       "u.find_spec('pytest') is None, torch.__version__)"],
        capture_output=True, text=True, check=True,
    ).stdout.split()
    assert probe[:2] == ["True", "True"], "the venv must hold requirements.txt only, no test tools"
    assert probe[2].startswith("2.13.0")

    slugs = ["home"] + [lesson.slug for lesson in LESSONS]
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    try:
        with live_server.streamlit_server("streamlit-fresh-venv.log", python=python) as (url,
                                                                                         _proc):
            for slug in slugs:
                page.goto(f"{url}/{slug}")
                # a title, or an error: whichever comes first (a broken install has no title)
                page.wait_for_selector(f"{TITLE}, {ERRORS}", timeout=120_000)
                page.wait_for_function(
                    "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')",
                    timeout=120_000)
                page.wait_for_timeout(500)
                page.screenshot(path=str(ARTIFACTS / f"fresh-venv-{slug}.png"), full_page=False)
                boxes = page.locator(ERRORS)
                assert boxes.count() == 0, (
                    f"/{slug} shows an error from a fresh install: {boxes.first.inner_text()[:800]}"
                )
                assert page.locator(TITLE).count() >= 1, f"/{slug} has no title"
    finally:
        context.close()
