"""Every page at a projector's sizes (1280 × 800: a 1920 projector at 150 % zoom; 1920 × 1080) in
headless Chromium: full-page screenshots under ``test-artifacts/e2e/screens/`` for a person to look
at, and the checks a machine can make: the main block does not overflow sideways, tab labels and
metric labels are not cut off, and no page shows an exception box."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import ARTIFACTS
from tests.e2e.test_browser import assert_no_exception, wait_idle

pytestmark = pytest.mark.e2e

SCREENS = ARTIFACTS / "screens"
SIZES = ((1280, 800), (1920, 1080))
PAGES = ("home", "normalization", "gumbel_softmax", "social_influence", "dial", "ppo_details")

# Each returns a list of descriptions of what is cut off (empty when nothing is).
OVERFLOW_JS = """() => {
  const main = document.querySelector('[data-testid="stMain"]');
  const out = [];
  if (document.documentElement.scrollWidth > window.innerWidth)
    out.push(`document ${document.documentElement.scrollWidth}px wide in a ${window.innerWidth}px window`);
  if (main && main.scrollWidth > main.clientWidth + 1)
    out.push(`main block ${main.scrollWidth}px wide, ${main.clientWidth}px shown`);
  return out;
}"""
HEIGHT_JS = """() => {
  const main = document.querySelector('[data-testid="stMain"]');
  return main ? Math.ceil(main.scrollHeight) : document.documentElement.scrollHeight;
}"""
TRUNCATED_JS = """(selector) => Array.from(document.querySelectorAll(selector))
  .filter(e => e.offsetParent !== null && e.scrollWidth > e.clientWidth + 1)
  .map(e => `${e.innerText.trim().slice(0, 60)} (${e.scrollWidth}px in ${e.clientWidth}px)`)"""
TAB_LABELS = '[data-testid="stTab"], [data-testid="stTab"] p'
# a tab bar wider than the page hides its last tabs behind a scroll arrow
TAB_BAR_JS = """() => Array.from(document.querySelectorAll('[data-testid="stTabs"]'))
  .map(t => t.querySelector('[data-testid="stTab"]')).filter(e => e && e.parentElement)
  .map(e => e.parentElement).filter(bar => bar.scrollWidth > bar.clientWidth + 1)
  .map(bar => `${bar.innerText.replace(/\\s+/g, ' ').slice(0, 80)} (${bar.scrollWidth}px in ${bar.clientWidth}px)`)"""
METRIC_LABELS = '[data-testid="stMetricLabel"], [data-testid="stMetricLabel"] p, [data-testid="stMetricValue"] div'


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_every_page_readable(browser, server_url, size):
    SCREENS.mkdir(parents=True, exist_ok=True)
    width, height = size
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    problems = []
    try:
        for slug in PAGES:
            page.goto(f"{server_url}/{slug}")
            wait_idle(page, timeout_ms=120_000)
            page.wait_for_timeout(700)  # plotly draws after the run finishes
            assert_no_exception(page, f"{slug} at {width}×{height}")
            # the app scrolls inside its main block, not the document: grow the window to the
            # block's height for one full-page picture, then check at the real size
            tall = page.evaluate(HEIGHT_JS)
            page.set_viewport_size({"width": width, "height": min(max(tall, height), 16_000)})
            page.wait_for_timeout(500)
            page.screenshot(path=str(SCREENS / f"{slug}-{width}x{height}.png"), full_page=True)
            page.set_viewport_size({"width": width, "height": height})
            problems += [f"{slug}: {p}" for p in page.evaluate(OVERFLOW_JS)]
            problems += [f"{slug}: tab label cut off: {p}" for p in page.evaluate(TRUNCATED_JS, TAB_LABELS)]
            problems += [f"{slug}: tab bar scrolls: {p}" for p in page.evaluate(TAB_BAR_JS)]
            problems += [f"{slug}: metric cut off: {p}" for p in page.evaluate(TRUNCATED_JS, METRIC_LABELS)]
    finally:
        context.close()
    assert not problems, f"at {width}×{height}:\n" + "\n".join(problems)
