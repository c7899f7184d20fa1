"""What one page load costs the server, in CPU seconds, per page.

One real server (``streamlit run app.py``, the training cluster as deployed); for each page, one
session opens it first (the first visitor: cold caches), then ``--loads`` new sessions open it one
after the other. Each load's cost is the CPU time (user + system, every thread) the streamlit
process used between sending the run and its end, read from /proc: a CPU figure, so it depends
little on other work on the machine (wall time would). Printed per page: first load, median and
min of the later ones, and the server's wall time per load.

``--profile PAGE`` instead runs the page ``--loads`` times in AppTest (in this process) under
cProfile and prints the functions with the largest cumulative time: where to cut.

    python benchmarks/page_cost.py                  # every page, 8 loads each
    python benchmarks/page_cost.py --profile dial   # where the DIAL page's time goes
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from harness.live_server import streamlit_server  # noqa: E402
from harness.procs import cpu_s  # noqa: E402
from harness.protocol_client import ProtocolSession  # noqa: E402

PAGES = {"home": "", "normalization": "normalization", "gumbel": "gumbel_softmax",
         "influence": "social_influence", "dial": "dial", "ppo": "ppo_details",
         "ppo_continuous": "ppo_continuous"}
"""Short name → URL path (Home is the root)."""


async def _load(url: str, path: str, pid: int) -> tuple[float, float]:
    async with ProtocolSession(url) as s:
        await asyncio.sleep(0.05)  # the session's own start-up, before the run we measure
        c0 = cpu_s([pid])
        run = await s.open(path)
        if run.exceptions:
            raise RuntimeError(f"{path or 'home'}: {run.exceptions[0]}")
        return cpu_s([pid]) - c0, run.seconds


def measure(loads: int, pages: list[str]) -> dict:
    """Per page: ``first`` (CPU s), ``cpu`` (list of CPU s), ``wall`` (list of s)."""
    out: dict = {}
    with streamlit_server("streamlit-page-cost.log") as (url, proc):
        asyncio.run(_load(url, "", proc.pid))  # app.py's imports, the cluster's start
        time.sleep(3.0)
        for name in pages:
            first, _ = asyncio.run(_load(url, PAGES[name], proc.pid))
            cpu, wall = [], []
            for _ in range(loads):
                c, w = asyncio.run(_load(url, PAGES[name], proc.pid))
                cpu.append(c)
                wall.append(w)
            out[name] = {"first": first, "cpu": cpu, "wall": wall}
    return out


def profile(page: str, loads: int, top: int) -> None:
    """cProfile of ``loads`` AppTest runs of ``page`` (each a fresh session), largest cumulative
    first."""
    import cProfile
    import pstats

    os.environ.setdefault("RL_TOOLBOX_DEVICE", "cpu")
    os.environ.setdefault("RL_TOOLBOX_ENGINE", "in-process")
    from streamlit.runtime.scriptrunner import script_runner
    from streamlit.testing.v1 import AppTest

    prof = cProfile.Profile()
    on = {"profile": False}
    run_script = script_runner.ScriptRunner._run_script

    def profiled(self, rerun_data):  # the script runs in its own thread: profile it there
        if not on["profile"]:
            return run_script(self, rerun_data)
        prof.enable()
        try:
            return run_script(self, rerun_data)
        finally:
            prof.disable()

    script_runner.ScriptRunner._run_script = profiled

    def once() -> None:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
        at.run()
        if page != "home":
            at.switch_page(f"app_pages/{PAGES[page]}/page.py")
            at.run()
        if len(at.exception):
            raise RuntimeError(at.exception[0].value)

    once()  # imports and first-visitor caches
    on["profile"] = True
    for _ in range(loads):
        once()
    pstats.Stats(prof).sort_stats("cumulative").print_stats(top)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--loads", type=int, default=8)
    ap.add_argument("--pages", default=",".join(PAGES), help="comma-separated short names")
    ap.add_argument("--profile", choices=sorted(PAGES), default=None)
    ap.add_argument("--top", type=int, default=40)
    args = ap.parse_args()
    if args.profile:
        profile(args.profile, args.loads, args.top)
        return
    load = os.getloadavg()
    print(f"page load cost: {args.loads} loads per page after a first one, {os.cpu_count()} "
          f"cores, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    res = measure(args.loads, args.pages.split(","))
    print(f"{'page':<16}{'first CPU s':>12}{'CPU s median':>14}{'min':>8}{'wall s median':>15}")
    for name, r in res.items():
        print(f"{name:<16}{r['first']:>12.3f}{statistics.median(r['cpu']):>14.3f}"
              f"{min(r['cpu']):>8.3f}{statistics.median(r['wall']):>15.3f}")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
