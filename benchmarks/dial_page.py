"""Rerun time of the DIAL page in AppTest: first render and the DRU σ slider / C-Net toggle.

    flock /tmp/rl_bench.lock python benchmarks/dial_page.py
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.apptest_timing import first_render_s, time_reruns  # noqa: E402

PAGE = "app_pages/dial/page.py"

if __name__ == "__main__":
    print(f"first render (app + page, precomputed curves): {first_render_s(PAGE):.2f} s")
    sig = time_reruns(PAGE, lambda at, i: at.slider(key="dru_sigma").set_value(0.25 * (i % 20)),
                      n=20)
    print(f"DRU sigma slider rerun: median {sig['median_ms']:.0f} ms, p95 {sig['p95_ms']:.0f} ms")
    mode = time_reruns(PAGE, lambda at, i: at.radio(key="cnet_mode").set_value(
        "concat" if i % 2 else "sum"), n=10)
    print(
        f"C-Net input toggle rerun: median {mode['median_ms']:.0f} ms, p95 {mode['p95_ms']:.0f} ms")
