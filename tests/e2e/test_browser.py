"""Open every page of the real app in headless Chromium, move its main control, and check
that the visible result changes, that no exception box appears, and save a screenshot."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import ARTIFACTS
from toolbox.lessons import LESSONS

pytestmark = [pytest.mark.e2e, pytest.mark.slow]  # a real browser and server: slow

# For each lesson: the key of its main control and how to move it. Sliders move with the
# keyboard (focus the thumb, press an arrow key), exactly as a person would.
MAIN_CONTROLS: dict[str, dict] = {
    "gumbel_softmax": {"key": "gs_tau", "kind": "slider"},
    "social_influence": {"key": "a_i", "kind": "auto"},
    "normalization": {"key": "stream_batch_size", "kind": "slider"},
    "dial": {"key": "dru_sigma", "kind": "slider"},
    # the default view is the stored grid at its maximum of 10 seeds: fewer seeds is the move
    "ppo_details": {"key": "ppo_seeds", "kind": "slider", "key_press": "ArrowLeft"},
    "ppo_continuous": {"key": "pc_seeds", "kind": "slider"},
}

RUNNING = '[data-testid="stStatusWidget"]'


def wait_idle(page, timeout_ms: int = 60_000) -> None:
    """Wait until Streamlit has finished the current run (no 'Running…' status widget)."""
    page.wait_for_selector('[data-testid="stMain"] h1', timeout=timeout_ms)
    page.wait_for_timeout(300)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=timeout_ms
    )
    page.wait_for_timeout(500)


def main_text(page) -> str:
    return page.inner_text('[data-testid="stMain"]')


def assert_no_exception(page, where: str) -> None:
    boxes = page.locator('[data-testid="stException"]')
    assert boxes.count() == 0, f"exception box on {where}: {boxes.first.inner_text()[:500]}"


def move_control(page, key: str, kind: str, key_press: str = "ArrowRight") -> bool:
    """Move the widget with ``key``; True when something was moved."""
    container = page.locator(f".st-key-{key}")
    try:
        # Streamlit shows its "running" widget only after a short delay, so a long page can
        # look idle while its lower half is still being drawn: wait for the control itself.
        container.first.wait_for(state="attached", timeout=60_000)
    except Exception:
        return False
    slider = container.locator('input[type="range"], [role="slider"]')
    if kind in ("slider", "auto") and slider.count() > 0:
        slider.first.focus()
        for _ in range(3):
            slider.first.press(key_press)
        return True
    select = container.locator('[data-baseweb="select"]')
    if select.count() > 0:
        select.first.click()
        options = page.locator('[role="option"]')
        options.nth(min(1, options.count() - 1)).click()
        return True
    number = container.locator("input")
    if number.count() > 0:
        number.first.focus()
        number.first.press("ArrowUp")
        number.first.press("Enter")
        return True
    return False


def test_home_lists_lessons(page, server_url):
    page.goto(server_url)
    wait_idle(page)
    assert_no_exception(page, "home")
    text = main_text(page)
    assert "RL Toolbox" in text
    page.screenshot(path=str(ARTIFACTS / "home.png"), full_page=True)


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda lesson: lesson.slug)
def test_lesson_page(page, server_url, lesson):
    page.goto(f"{server_url}/{lesson.slug}")
    wait_idle(page, timeout_ms=120_000)
    control = MAIN_CONTROLS.get(lesson.slug)
    assert control is not None, f"no main control declared for {lesson.slug}"
    # the page is fully drawn once its main control exists and no run is in progress
    page.locator(f".st-key-{control['key']}").first.wait_for(state="attached", timeout=120_000)
    wait_idle(page, timeout_ms=120_000)
    assert_no_exception(page, lesson.slug)
    before = main_text(page)
    assert lesson.title.split()[0] in before
    page.screenshot(path=str(ARTIFACTS / f"{lesson.slug}.png"), full_page=True)

    moved = move_control(page, control["key"], control["kind"],
                         control.get("key_press", "ArrowRight"))
    assert moved, f"main control .st-key-{control['key']} not found on {lesson.slug}"
    # the rerun may not have started (or shown its status widget) when we first look: poll
    after = before
    for _ in range(20):
        wait_idle(page, timeout_ms=120_000)
        after = main_text(page)
        if after != before:
            break
    wait_idle(page, timeout_ms=120_000)
    assert_no_exception(page, f"{lesson.slug} after moving {control['key']}")
    after = main_text(page)
    assert after != before, f"moving {control['key']} changed nothing visible on {lesson.slug}"
    page.screenshot(path=str(ARTIFACTS / f"{lesson.slug}-moved.png"), full_page=True)


def test_shared_link_on_a_fresh_server_goes_through_app(browser):
    """A lecturer's link opened as the server's very first request still gets app.py's page
    config, navigation and device sidebar (Streamlit's legacy app_pages/ routing is switched
    off)."""
    from tests.e2e.conftest import streamlit_server

    lesson = LESSONS[0]
    with streamlit_server("streamlit-e2e-fresh.log") as url:
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        try:
            page.goto(f"{url}/{lesson.slug}")
            wait_idle(page, timeout_ms=120_000)
            page.wait_for_selector('[data-testid="stSidebar"]', timeout=30_000)
            sidebar = page.inner_text('[data-testid="stSidebar"]')
            assert "Device:" in sidebar, sidebar[:300]
            assert lesson.title.split()[0] in main_text(page)
            assert_no_exception(page, f"fresh {lesson.slug}")
        finally:
            context.close()
