"""Rerun times of the Gumbel-Softmax page in AppTest, and first-render times.

Run from the repo root (under the shared lock when other benchmarks may run)::

    flock /tmp/rl_bench.lock python benchmarks/gumbel_page.py

Every move goes to a value not seen before in the session, so ``st.cache_data`` cannot answer it:
the timings include the sampling for the new value. The N-slider moves use N ≈ 100,000 and the
τ-slider moves run with N = 100,000 on the page. Targets (issue 3): median rerun ≤ 100 ms after a
slider move; first render of the app ≤ 3 s.

Note: AppTest builds a fresh script cache for every run, so each timed rerun includes parsing and
compiling app.py and the page (with Streamlit's "magic" AST pass); a Streamlit server compiles a
page once. The figures are therefore an upper bound on the server's own rerun time.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.apptest_timing import first_render_s, time_reruns  # noqa: E402

PAGE = "app_pages/gumbel_softmax/page.py"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--moves", type=int, default=30, help="slider moves per measurement")
    args = parser.parse_args()

    t0 = time.perf_counter()
    cold_home = first_render_s("app_pages/home.py")  # includes importing torch, streamlit, plotly
    print(f"first render, app home (cold process, imports included): {cold_home * 1000:.0f} ms "
          f"[{time.perf_counter() - t0:.1f} s wall]")
    print(
        "first render, app home (warm imports): "
        f"{first_render_s('app_pages/home.py') * 1000:.0f} ms")
    print(
        "first render, Gumbel page via app (first time in process): "
        f"{first_render_s(PAGE) * 1000:.0f} ms")
    print(f"first render, Gumbel page via app (warm): {first_render_s(PAGE) * 1000:.0f} ms")

    from toolbox.gumbel import log_grid

    taus = [float(f"{t:.3g}") for t in log_grid(0.01, 100.0, 81, device="cpu").tolist()]
    # a walk over distinct options: 0.01 → 100, then
    # back on the odd ones (never a cached value twice)
    walk = taus[::2] + taus[-2::-2]

    def tau_move(tab):
        def action(at, i):
            if i == 0:  # N = 100,000 first, then open the tab under test
                at.slider(key="gs_n").set_value(100_000).run()
                at.session_state["gs_tab"] = tab
            at.select_slider(key="gs_tau").set_value(walk[i % len(walk)])
        return action

    def n_move(at, i):
        at.slider(key="gs_n").set_value(100_000 - 100 * i)

    # The tabs are lazy (only the open one computes), so τ is timed in every tab that uses it.
    cases = [
        ("N slider, tab ① (N ≈ 100,000)", n_move),
        ("tau slider, tab ② temperature", tau_move("② Temperature")),
        ("tau slider, tab ③ reparameterization", tau_move("③ Reparameterization")),
        ("tau slider, tab ④ gradient estimators", tau_move("④ Gradient estimators")),
    ]
    for label, action in cases:
        s = time_reruns(PAGE, action, n=args.moves)
        print(f"rerun after {label}: median {s['median_ms']:.1f} ms, p95 {s['p95_ms']:.1f} ms, "
              f"min {s['min_ms']:.1f} ms, max {s['max_ms']:.1f} ms over {s['n']} moves")


if __name__ == "__main__":
    main()
