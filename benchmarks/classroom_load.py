"""Classroom load: N students hit one server at once.

Every student session (an AppTest session in its own thread, all in this one process, so they
share the module-level job runner and Streamlit's caches exactly like sessions of one
``streamlit run`` server) does what a class does when the lecturer says "open the link":

1. opens the Gumbel-Softmax, Social-influence and Normalization pages and moves a slider
   (page latency measured per open / per rerun);
2. opens DIAL and presses *Train now* with the same settings as everyone else;
3. opens PPO and presses *Train* with the same settings as everyone else.

Printed: sessions served, errors, p50/p95 page latency, how many trainings actually ran (the
runner must deduplicate identical requests: 1 per lesson), how long students waited for the
shared training, and the process's peak RSS.

    python benchmarks/classroom_load.py                 # 30 students, classroom-size budgets
    python benchmarks/classroom_load.py --students 8 --quick
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("RL_TOOLBOX_DEVICE", "cpu")

from streamlit.testing.v1 import AppTest  # noqa: E402

from toolbox.jobs import RUNNER  # noqa: E402

APP = str(ROOT / "app.py")


def _timed_run(at: AppTest, latencies: list[float]) -> None:
    t0 = time.perf_counter()
    at.run()
    latencies.append(time.perf_counter() - t0)
    if len(at.exception):
        raise RuntimeError(at.exception[0].value)


def _open(at: AppTest, page: str, latencies: list[float]) -> None:
    at.switch_page(page)
    _timed_run(at, latencies)


def student(settings: dict, latencies: list[float], waits: dict[str, list[float]], errors: list[str]) -> None:
    try:
        at = AppTest.from_file(APP, default_timeout=1800)
        _timed_run(at, latencies)

        _open(at, "pages/gumbel_softmax.py", latencies)
        tau = at.select_slider(key="gs_tau")
        tau.set_value(float(tau.options[len(tau.options) // 3]))
        _timed_run(at, latencies)

        _open(at, "pages/social_influence.py", latencies)
        _open(at, "pages/normalization.py", latencies)

        _open(at, "pages/dial.py", latencies)
        at.number_input(key="curve_batches").set_value(settings["dial_batches"])
        at.number_input(key="curve_seeds").set_value(settings["dial_seeds"])
        _timed_run(at, latencies)
        at.button(key="train_now").click()
        t0 = time.perf_counter()
        at.run()
        waits["dial"].append(time.perf_counter() - t0)
        if len(at.exception):
            raise RuntimeError(at.exception[0].value)

        _open(at, "pages/ppo_details.py", latencies)
        at.select_slider(key="ppo_budget").set_value(settings["ppo_budget"])
        at.slider(key="ppo_seeds").set_value(settings["ppo_seeds"])
        _timed_run(at, latencies)
        at.button(key="ppo_train").click()
        t0 = time.perf_counter()
        at.run()
        waits["ppo"].append(time.perf_counter() - t0)
        if len(at.exception):
            raise RuntimeError(at.exception[0].value)
    except Exception as err:  # noqa: BLE001 - counted and reported
        errors.append(f"{type(err).__name__}: {err}")


def run_load(students: int, settings: dict, stagger_s: float = 0.05) -> dict:
    """Run the classroom scenario; returns the measured figures."""
    before = {k for k in RUNNER._jobs}
    latencies: list[float] = []
    waits: dict[str, list[float]] = {"dial": [], "ppo": []}
    errors: list[str] = []
    threads = [threading.Thread(target=student, args=(settings, latencies, waits, errors)) for _ in range(students)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
        time.sleep(stagger_s)
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    new_jobs = [j for k, j in RUNNER._jobs.items() if k not in before]
    lat = sorted(latencies)
    return {
        "students": students,
        "served": students - len(errors),
        "errors": errors,
        "page_runs": len(lat),
        "p50_ms": 1000 * statistics.median(lat) if lat else float("nan"),
        "p95_ms": 1000 * lat[int(0.95 * (len(lat) - 1))] if lat else float("nan"),
        "trainings_run": {p: sum(1 for j in new_jobs if j.key.startswith(p + ":")) for p in ("dial", "ppo")},
        "training_wall_s": {p: max(waits[p]) if waits[p] else float("nan") for p in ("dial", "ppo")},
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "wall_s": wall,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--students", type=int, default=30)
    ap.add_argument("--quick", action="store_true", help="tiny training budgets (smoke run)")
    args = ap.parse_args()
    settings = (
        dict(dial_batches=100, dial_seeds=1, ppo_budget=25_000, ppo_seeds=1)
        if args.quick
        else dict(dial_batches=600, dial_seeds=3, ppo_budget=100_000, ppo_seeds=3)
    )
    print(f"classroom load: {args.students} students, settings {settings}, {os.cpu_count()} cores")
    r = run_load(args.students, settings)
    print(f"sessions served      : {r['served']}/{r['students']}  (errors: {len(r['errors'])})")
    for e in r["errors"][:5]:
        print(f"  error: {e}")
    print(f"page runs measured   : {r['page_runs']}")
    print(f"page latency p50/p95 : {r['p50_ms']:.0f} ms / {r['p95_ms']:.0f} ms (30 sessions competing for the CPU)")
    print(f"trainings actually run: DIAL {r['trainings_run']['dial']}, PPO {r['trainings_run']['ppo']} "
          f"(asked for by {args.students} students each)")
    print(f"longest wait for the shared training: DIAL {r['training_wall_s']['dial']:.1f} s, "
          f"PPO {r['training_wall_s']['ppo']:.1f} s")
    print(f"peak RSS             : {r['peak_rss_mb']:.0f} MB")
    print(f"wall                 : {r['wall_s']:.1f} s")


if __name__ == "__main__":
    main()
