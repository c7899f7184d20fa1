"""Every page as a lecturer shows it, in headless Chromium: at 1280 × 800 with the
150 % zoom the README advises for a 1920 projector (device scale factor 1.5), and in presenter mode
at that size. Full-page screenshots go under ``test-artifacts/e2e/screens/`` for a person to look
at; the checks a machine can make are measured from element boxes: the main block does not overflow
sideways, no exception box, and nothing cut off or overlapping (``tests/e2e/clipping.py``: axes,
legends, titles, equations, metric and page names, dropdown text, tables, graph text), on every tab
of a page; in presenter mode, tick labels at the projector's size."""

from __future__ import annotations

import pytest

from tests.e2e.clipping import CLIPPING_JS, MIN_GRAPH_TEXT_PX, MIN_PRESENTER_TICK_PX, PRESENTER_JS
from tests.e2e.conftest import ARTIFACTS
from tests.e2e.test_browser import assert_no_exception, wait_idle

pytestmark = [pytest.mark.e2e, pytest.mark.slow]  # a real browser and server: slow

SCREENS = ARTIFACTS / "screens"
# (name, width, height, device scale factor, presenter mode)
# (plain 1920 × 1080 was a third view, dropped to keep the suite in its 5-minute budget: the
# presenter view keeps that window, the 150 % view the narrowest layout)
VIEWS = (("1280x800-150pct", 1280, 800, 1.5, False), ("presenter-1920x1080", 1920, 1080, 1, True))
# presenter mode replaces the browser's zoom at a 1920 projector (both together leave ~700 px of
# page) Open items of issue 21 found by these checks and not fixed yet, tolerated by view (a prefix
# of the problem's sentence) so that the rest stays checked; remove an entry when it is fixed.
KNOWN: dict[str, tuple[str, ...]] = {}
PAGES = ("home", "normalization", "gumbel_softmax", "social_influence", "dial", "ppo_details",
         "ppo_continuous")

# Each returns a list of descriptions of what is cut off (empty when nothing is).
OVERFLOW_JS = """() => {
  const main = document.querySelector('[data-testid="stMain"]');
  const out = [];
  if (document.documentElement.scrollWidth > window.innerWidth)
    out.push(`document ${document.documentElement.scrollWidth}px wide in a ${window.innerWidth}px window`);
  if (main && main.scrollWidth > main.clientWidth + 1)
    out.push(`main block ${main.scrollWidth}px wide, ${main.clientWidth}px shown`);
  return out;
}"""  # noqa: E501
HEIGHT_JS = """() => {
  const main = document.querySelector('[data-testid="stMain"]');
  return main ? Math.ceil(main.scrollHeight) : document.documentElement.scrollHeight;
}"""
TRUNCATED_JS = """(selector) => Array.from(document.querySelectorAll(selector))
  .filter(e => e.offsetParent !== null && e.scrollWidth > e.clientWidth + 1)
  .map(e => `${e.innerText.trim().slice(0, 60)} (${e.scrollWidth}px in ${e.clientWidth}px)`)"""
# resolves once the main block has not changed for ``quiet`` ms (at most 15 s): a tab's figures
# and tables arrive a second or two after the click, PPO's results ~1.3 s after the run looks
# finished, with no "running" widget to wait for
SETTLED_JS = """(quiet_ms = 500) => new Promise(done => {
  const main = document.querySelector('[data-testid="stMain"]');
  let quiet = setTimeout(finish, quiet_ms);
  const seen = new MutationObserver(() => {
    clearTimeout(quiet);
    quiet = setTimeout(finish, quiet_ms);
  });
  const stop = setTimeout(finish, 15000);
  function finish() { seen.disconnect(); clearTimeout(stop); clearTimeout(quiet); done(true); }
  seen.observe(main, {childList: true, subtree: true, attributes: true, characterData: true});
})"""
# the label's text: the tab's own box also holds the selected tab's underline, and once measured
# 682 px in 331 px just after a click (presenter mode, tabs wrapped) with the label drawn in full
TAB_LABELS = '[data-testid="stTab"] p'
# a tab bar wider than the page hides its last tabs behind a scroll arrow
TAB_BAR_JS = """() => Array.from(document.querySelectorAll('[data-testid="stTabs"]'))
  .map(t => t.querySelector('[data-testid="stTab"]')).filter(e => e && e.parentElement)
  .map(e => e.parentElement).filter(bar => bar.scrollWidth > bar.clientWidth + 1)
  .map(bar => `${bar.innerText.replace(/\\s+/g, ' ').slice(0, 80)} (${bar.scrollWidth}px in ${bar.clientWidth}px)`)"""  # noqa: E501
METRIC_LABELS = ('[data-testid="stMetricLabel"], [data-testid="stMetricLabel"] p, '
                 '[data-testid="stMetricValue"] div')


def measure(page, slug: str, presenter: bool) -> list[str]:
    """What is cut off or overlapping in the page as now shown, each prefixed with ``slug``."""
    problems = [f"{slug}: {p}" for p in page.evaluate(OVERFLOW_JS)]
    problems += [f"{slug}: tab label cut off: {p}" for p in page.evaluate(TRUNCATED_JS, TAB_LABELS)]
    problems += [f"{slug}: tab bar scrolls: {p}" for p in page.evaluate(TAB_BAR_JS)]
    problems += [f"{slug}: metric cut off: {p}" for p in page.evaluate(TRUNCATED_JS, METRIC_LABELS)]
    problems += [f"{slug}: {p}" for p in page.evaluate(CLIPPING_JS, MIN_GRAPH_TEXT_PX)]
    if presenter:
        found = page.evaluate(PRESENTER_JS, MIN_PRESENTER_TICK_PX)
        problems += [f"{slug}: {p}" for p in found]
    return problems


@pytest.mark.parametrize("view", VIEWS, ids=lambda v: v[0])
def test_every_page_readable(browser, server_url, view):
    SCREENS.mkdir(parents=True, exist_ok=True)
    name, width, height, scale, presenter = view
    context = browser.new_context(viewport={"width": width, "height": height},
                                  device_scale_factor=scale)
    page = context.new_page()
    problems = []
    try:
        for slug in PAGES:
            path = "" if slug == "home" else slug  # Home is the default page, served at /
            page.goto(f"{server_url}/{path}" + ("?presenter=1" if presenter else ""))
            wait_idle(page, timeout_ms=120_000)
            page.evaluate(SETTLED_JS, 1500)  # plotly draws after the run; PPO's results later
            assert_no_exception(page, f"{slug} at {name}")
            if page.get_by_text("Page not found").count():  # Streamlit's dialog for an unknown URL
                problems.append(f"{slug} at {name}: Streamlit shows 'Page not found'")
            problems += measure(page, slug, presenter)
            # the app scrolls inside its main block, not the document: grow the window to the
            # block's height for one full-page picture (in CSS pixels: quick to encode)
            tall = page.evaluate(HEIGHT_JS)
            page.set_viewport_size({"width": width, "height": min(max(tall, height), 16_000)})
            page.wait_for_timeout(300)
            page.screenshot(path=str(SCREENS / f"{slug}-{name}.png"), full_page=True, scale="css")
            page.set_viewport_size({"width": width, "height": height})
            # the other tabs' figures and tables are hidden until their tab is chosen
            tabs = page.locator('[data-testid="stTab"]')
            for k in range(1, tabs.count()):
                tabs.nth(k).click()
                page.evaluate(SETTLED_JS)  # choosing a tab reruns the page and draws it anew
                label = tabs.nth(k).inner_text().strip()
                found = measure(page, slug, presenter)
                problems += [p.replace(":", f" tab {label}:", 1) for p in found]
    finally:
        context.close()
    problems = [p for p in problems if not p.startswith(KNOWN.get(name, ()))]
    assert not problems, f"at {name}:\n" + "\n".join(dict.fromkeys(problems))
