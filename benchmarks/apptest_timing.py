"""Time page reruns in AppTest: shared by the per-lesson page benchmarks.

Usage from a benchmark script::

    from benchmarks.apptest_timing import time_reruns
    stats = time_reruns(
        "app_pages/gumbel_softmax/page.py", lambda at, i: at.slider(key="tau").set_value(...), n=30
    )
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("RL_TOOLBOX_DEVICE", "cpu")

from streamlit.testing.v1 import AppTest  # noqa: E402


def first_render_s(page_path: str) -> float:
    """Seconds to run app.py and then the page once, in a fresh AppTest (imports warm)."""
    t0 = time.perf_counter()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    if page_path != "app_pages/home.py":
        at.switch_page(page_path)
        at.run()
    return time.perf_counter() - t0


def time_reruns(page_path: str, action: Callable[[AppTest, int], None], n: int = 30) -> dict:
    """Open the page, then ``n`` times: apply ``action(at, i)`` (a widget change) and time
    ``run()``.

    Returns median / p95 / min / max in milliseconds. The first rerun (cold caches) is excluded.
    """
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    if page_path != "app_pages/home.py":
        at.switch_page(page_path)
        at.run()
    times = []
    for i in range(n + 1):
        action(at, i)
        t0 = time.perf_counter()
        at.run()
        dt = (time.perf_counter() - t0) * 1000
        if len(at.exception):
            raise RuntimeError(f"exception during rerun {i}: {at.exception[0].value}")
        if i > 0:
            times.append(dt)
    times.sort()
    return {
        "n": len(times),
        "median_ms": statistics.median(times),
        "p95_ms": times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))],
        "min_ms": times[0],
        "max_ms": times[-1],
    }
