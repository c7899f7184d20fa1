"""What the first visitors of a fresh server wait, with an empty kernel cache (cold) or a full one.

For each cache and each request a fresh ``streamlit run app.py`` (harness/live_server.py) is started
with ``RL_TOOLBOX_NUMBA_CACHE`` pointing at that cache; one session (Streamlit's websocket protocol,
harness/protocol_client.py) opens the home page, then the lesson page, sets the request and presses
Train 5 s after the server was launched (or as soon as the page is there, if later):

* PPO: 1 variant ("all on") × 2 seeds × 100k steps;
* DIAL: the page's three methods × 1 seed × 100 batches (as benchmarks/classroom_load.py).

Printed per row: launch → first page rendered (app.py's first run imports everything and starts
the kernel warm-up), press → result shown, the path that trained it (the progress line says when it
is the readable one) and, for the cold cache, when the server's log said the kernels were ready.
The cold cache is a new empty folder each time; the warm one is filled once beforehand by
``python -m toolbox.warm_up`` (not timed).

    python benchmarks/cold_start.py                 # cold and warm, PPO and DIAL
    python benchmarks/cold_start.py --requests ppo  # one request kind
    python benchmarks/cold_start.py --repeat 2      # two interleaved rounds (a shared machine)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from harness.live_server import LOGS, streamlit_server  # noqa: E402
from harness.protocol_client import ProtocolSession  # noqa: E402
from toolbox.jit import sources_hash  # noqa: E402

PRESS_AFTER_S = 5.0
READABLE = "readable PyTorch path"


async def _visit(url: str, launched: float, kind: str) -> dict:
    """Open the home page, then the request's page; press Train at ``launched + PRESS_AFTER_S``."""
    async with ProtocolSession(url) as s:
        home = await s.open("home")
        first_page = time.perf_counter() - launched
        if home.exceptions:
            raise RuntimeError(f"home page: {home.exceptions[0]}")
        if kind == "ppo":
            page = await s.open("ppo_details", "v=all&seeds=2&budget=100000")
        else:
            await s.open("dial")
            await s.set_number("curve_seeds", 1)
            page = await s.set_number("curve_batches", 100)
        if page.exceptions:
            raise RuntimeError(f"{kind} page: {page.exceptions[0]}")
        await asyncio.sleep(max(0.0, launched + PRESS_AFTER_S - time.perf_counter()))
        pressed = time.perf_counter() - launched
        run = await s.click("ppo_train" if kind == "ppo" else "train_now")
        done = "Final scores" in run.text if kind == "ppo" else "Trained live" in run.text
        if run.exceptions or not done:
            raise RuntimeError(f"{kind}: no result shown {run.exceptions[:1]} {run.text[-300:]!r}")
        return dict(first_page=first_page, pressed=pressed, request=run.seconds,
                    path="readable" if READABLE in run.text else "compiled")


def _ready_after(log: Path, launched_wall: float, wait_s: float) -> float | None:
    """Seconds from launch until the server logged that the kernels were ready (waits up to
    ``wait_s``); None if it did not within that time."""
    deadline = time.time() + wait_s
    pattern = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d{3}) INFO toolbox\.warm_up: "
                         r"compiled kernels (ready|loaded)", re.M)
    while True:
        m = pattern.search(log.read_text(errors="replace"))
        if m:
            stamp = time.mktime(time.strptime(m.group(1), "%Y-%m-%d %H:%M:%S"))
            stamp += int(m.group(2)) / 1000
            return stamp - launched_wall
        if time.time() > deadline:
            return None
        time.sleep(0.5)


def measure(kind: str, cache: Path, wait_ready_s: float) -> dict:
    """One fresh server with ``cache``; the request ``kind`` pressed 5 s after launch."""
    name = f"cold_start_{kind}_{cache.name}.log"
    launched, launched_wall = time.perf_counter(), time.time()
    with streamlit_server(name, env={"RL_TOOLBOX_NUMBA_CACHE": str(cache)}) as (url, _proc):
        out = asyncio.run(_visit(url, launched, kind))
        out["ready"] = _ready_after(LOGS / name, launched_wall, wait_ready_s)
    return out


def fill(cache: Path) -> None:
    """Compile the app's kernels into ``cache`` (the warm case), untimed."""
    env = dict(os.environ, RL_TOOLBOX_NUMBA_CACHE=str(cache), PYTHONPATH=str(ROOT))
    subprocess.run([sys.executable, "-m", "toolbox.warm_up"], cwd=ROOT, env=env, check=True,
                   capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", default="ppo,dial", help="comma-separated: ppo, dial")
    parser.add_argument("--repeat", type=int, default=1,
                        help="rounds of cold and warm, interleaved (medians printed)")
    parser.add_argument("--wait-ready", type=float, default=240.0,
                        help="seconds a cold server is kept after its request, to see the kernels "
                        "ready")
    args = parser.parse_args()
    kinds = [k for k in args.requests.split(",") if k]
    base = Path(tempfile.mkdtemp(prefix="cold-start-"))
    warm = base / "warm"
    fill(warm)
    rows = []
    filled = sources_hash()
    for kind in [k for _ in range(args.repeat) for k in kinds]:
        for label in ("cold", "warm"):
            cache = warm if label == "warm" else Path(tempfile.mkdtemp(prefix="cold-", dir=base))
            if label == "warm" and sources_hash() != filled:  # the warm cache is for other sources
                fill(warm)
                filled = sources_hash()
            before = sources_hash()
            r = measure(kind, cache, args.wait_ready if label == "cold" else 5.0)
            if sources_hash() != before:
                raise SystemExit("the kernels' sources changed during the measurement (someone "
                                 "edits the checkout?): run it on a copy that does not change")
            rows.append((kind, label, r))
            print(f"{kind} {label}: {r}", flush=True)
    print(f"\n{os.cpu_count()} CPUs; load average at the end {os.getloadavg()[0]:.1f}")
    print(f"{'request':8} {'cache':5} {'first page':>11} {'pressed at':>11} {'press→result':>13} "
          f"{'trained on':>11} {'kernels ready':>14}")
    for kind, label, r in rows:
        ready = f"{r['ready']:.1f} s" if r["ready"] is not None else "later"
        print(f"{kind:8} {label:5} {r['first_page']:9.1f} s {r['pressed']:9.1f} s "
              f"{r['request']:11.1f} s {r['path']:>11} {ready:>14}")
    for kind in kinds:
        cold = [r for k, lab, r in rows if k == kind and lab == "cold"]
        warm_r = [r for k, lab, r in rows if k == kind and lab == "warm"]
        page = statistics.median(r["first_page"] for r in cold) / statistics.median(
            r["first_page"] for r in warm_r)
        request = statistics.median(r["request"] for r in cold) / statistics.median(
            r["request"] for r in warm_r)
        print(f"{kind}: medians over {len(cold)} round(s), cold/warm first page {page:.2f}x, "
              f"request {request:.2f}x (target ≤ 2x)")


if __name__ == "__main__":
    main()
