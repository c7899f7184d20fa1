"""Social-influence lesson: page rerun times and training speed, and the precomputed curves.

    python benchmarks/influence_page.py                 # time reruns (AppTest) and one training
    python benchmarks/influence_page.py --write-results # regenerate results/influence_learning.json

Reruns timed: an edit of a cell of π^i, an edit of π^j, moving the chosen action a^i, moving the
β slider (precomputed grid), switching the principal–agent scheme. Target: median ≤ 100 ms.
Run under ``flock /tmp/rl_bench.lock`` on the shared machine.
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
from toolbox import influence as inf  # noqa: E402
from toolbox.lessons import influence as influence_lesson  # noqa: E402

PAGE = "app_pages/social_influence/page.py"
RESULTS = ROOT / "results" / "influence_learning.json"


def write_results() -> None:
    t0 = time.perf_counter()
    runs = {cfg.key(): inf.train_influence_game(cfg,
                                                device="cpu") for cfg
            in influence_lesson.precomputed_configs()}
    influence_lesson.save_precomputed(str(RESULTS), runs)
    print(
        f"wrote {len(runs)} runs to {RESULTS.relative_to(ROOT)} "
        f"({RESULTS.stat().st_size / 1024:.0f} KiB) in {time.perf_counter() - t0:.1f} s")
    for cfg in influence_lesson.precomputed_configs():
        r = runs[cfg.key()]
        print(
            f"  {cfg.game:17s} β={cfg.beta:<4}  final extrinsic return of i "
            f"{r.extrinsic_i[:, -1].mean():.3f} (min {r.extrinsic_i[:, -1].min():.3f})  I(a^i;a^j) "
            f"{r.mutual_information[:, -1].mean():.3f} nats")


def _edit(key: str, row: int, col: str, value: float):
    def action(at, i):
        at.session_state[key] = {"edited_rows": {row: {col: value + 0.01 * (i % 2)}},
                                 "added_rows": [], "deleted_rows": []}
    return action


def bench_page(n: int) -> None:
    print(
        f"first render of {PAGE}: {first_render_s(PAGE) * 1000:.0f} "
        "ms (fresh AppTest, imports warm)")
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    at.switch_page(PAGE)
    at.run()
    col_i = list(at.data_editor(key="inf_pi_i_table").value.columns)[0]
    col_j = list(at.data_editor(key="inf_pi_j_table_0").value.columns)[0]

    def move_ai(at, i):
        at.selectbox(key="a_i").set_value(i % 3)

    def move_beta(at, i):
        at.select_slider(key="learn_beta").set_value(
            influence_lesson.BETA_GRID[i % len(influence_lesson.BETA_GRID)])

    def switch_scheme(at, i):
        at.radio(key="pa_scheme").set_value(inf.SCHEME_NAMES[i % 3])

    cases = {
        "edit a cell of π^i (sum off → error shown)": _edit("inf_pi_i_table", 0, col_i, 0.6),
        "edit a cell of π^j(·|a^i)": _edit("inf_pi_j_table_0", 1, col_j, 0.3),
        "move the chosen action a^i": move_ai,
        "move the β slider (precomputed grid)": move_beta,
        "switch the principal–agent scheme": switch_scheme,
    }
    for label, action in cases.items():
        stats = time_reruns(PAGE, action, n=n)
        print(f"{label:45s} median {stats['median_ms']:6.1f} ms  p95 {stats['p95_ms']:6.1f} ms  "
              f"(min {stats['min_ms']:.1f}, max {stats['max_ms']:.1f}, n={stats['n']})")


def bench_training() -> None:
    cfg = inf.InfluenceTrainConfig()
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        inf.train_influence_game(cfg, device="cpu")
        times.append(time.perf_counter() - t0)
    times.sort()
    print(
        f"training ({cfg.n_seeds} seeds × {cfg.iterations} updates × {cfg.episodes} episodes, one "
        f"batched run): median {times[2] * 1000:.0f} ms, min {times[0] * 1000:.0f} ms over 5")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--write-results", action="store_true",
                        help="regenerate the precomputed curves")
    parser.add_argument("-n", type=int, default=30, help="timed reruns per case")
    args = parser.parse_args()
    if args.write_results:
        write_results()
    else:
        bench_training()
        bench_page(args.n)
