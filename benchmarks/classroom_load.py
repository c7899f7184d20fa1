"""Classroom load: N students open the same link on one real server at once.

One ``streamlit run app.py`` server; N headless-Chromium sessions (one browser context each,
driven concurrently through playwright's asyncio API) each do what a class does when the
lecturer says "open the link":

1. open the Gumbel-Softmax page and move the temperature slider; open Social influence and
   Normalization (page latency = time until Streamlit has finished rendering);
2. open DIAL, set the same small budget as everyone, press *Train now*, wait for the result;
3. open PPO with the same settings (from the URL), press *Train*, wait for the result.

Printed: sessions served, errors, p50/p95 page latency, how many trainings the server really
ran (from the job runner's log: identical requests must run once, so 1 each), the longest wait
for a shared training, and the server's peak RSS. The server, the protocol student and the
figures come from :mod:`harness.classroom` (shared with tests/e2e); the browser student is here.

    python benchmarks/classroom_load.py                       # 30 students, the same settings
    python benchmarks/classroom_load.py --scenario distinct   # 30 students, 30 different PPO
                                                              # trainings
    python benchmarks/classroom_load.py --scenario abuse      # distinct, plus a client that
                                                              # floods Train
    python benchmarks/classroom_load.py --students 4          # smoke run

With the training engine as deployed, issue 24's targets (:mod:`harness.course`; memory is the
sum of PSS of the app process(es), the scheduler and the workers; ``--apps 1,2`` runs one app
process with its own local cluster, then two on one shared cluster, and prints the throughput
ratio):

    python benchmarks/classroom_load.py --scenario dial-abuse     # 40 large DIAL requests held
                                                                  # by one client, a polite PPO
    python benchmarks/classroom_load.py --scenario pages --students 60 --apps 1,2
    python benchmarks/classroom_load.py --scenario mixed --students 30 --apps 1,2  # 30 train
                                                                  # while 30 open every page

``distinct`` (:mod:`harness.distinct`): each student trains a different PPO request (2 runs ×
``--ppo-budget`` steps, default 100k there); printed: time from Train to each student's result
(p50/p95/max), page latency meanwhile, trainings the server started (batches), peak RSS, and the
same total work trained as ONE batched computation in this process, side by side.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.course_report import course  # noqa: E402
from harness.browser import chromium_path  # noqa: E402
from harness.classroom import run_load as _run_load  # noqa: E402
from harness.distinct import run_distinct, same_work_batched  # noqa: E402
from harness.live_server import SETTLE_S  # noqa: E402

IDLE_JS = ("() => document.querySelector('[data-testid=\"stMain\"] h1') && "
           "!document.querySelector('[data-testid=\"stStatusWidget\"]')")


async def _idle(page, timeout_ms: int) -> None:
    await page.wait_for_timeout(250)
    await page.wait_for_function(IDLE_JS, timeout=timeout_ms)
    await page.wait_for_timeout(250)


async def _wait_text(page, text: str, timeout_ms: int) -> None:
    await page.wait_for_function(
        "t => (document.querySelector('[data-testid=\"stMain\"]') "
        "|| {innerText: ''}).innerText.includes(t)",
        arg=text, timeout=timeout_ms,
    )


async def _check(page, where: str) -> None:
    if await page.locator('[data-testid="stException"]').count():
        raise RuntimeError(f"exception box on {where}")


async def _visit(page, url: str, latencies: list[float], timeout_ms: int) -> None:
    t0 = time.perf_counter()
    # a student waits for the page rather than giving up after playwright's default 30 s
    await page.goto(url, wait_until="domcontentloaded", timeout=timeout_ms)
    await _idle(page, timeout_ms)
    latencies.append(time.perf_counter() - t0)
    await _check(page, url)


async def student(browser, base: str, settings: dict, out: dict, delay_s: float = 0.0) -> None:
    await asyncio.sleep(delay_s)
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    lat = out["latencies"]
    try:
        await _visit(page, f"{base}/gumbel_softmax", lat, 120_000)
        t0 = time.perf_counter()
        slider = page.locator(
            ".st-key-gs_tau input[type=range], .st-key-gs_tau [role=slider]").first
        await slider.wait_for(timeout=120_000)  # the page may still be drawing under load
        await slider.focus()
        await slider.press("ArrowLeft")
        await _idle(page, 120_000)
        lat.append(time.perf_counter() - t0)
        await _visit(page, f"{base}/social_influence", lat, 120_000)
        await _visit(page, f"{base}/normalization", lat, 120_000)

        await _visit(page, f"{base}/dial", lat, 120_000)
        for key, value in (("curve_batches", settings["dial_batches"]),
                           ("curve_seeds", settings["dial_seeds"])):
            box = page.locator(f".st-key-{key} input").first
            await box.fill(str(value))
            await box.press("Enter")
            await _idle(page, 120_000)
        t0 = time.perf_counter()
        await page.locator(".st-key-train_now button").first.click()
        await _wait_text(page, "Trained live", settings["train_timeout_ms"])
        await _idle(page, 120_000)
        out["dial_waits"].append(time.perf_counter() - t0)
        await _check(page, "dial after Train now")
        if "Trained live" not in await page.inner_text('[data-testid="stMain"]'):
            raise RuntimeError("DIAL: no trained result shown")

        await _visit(
            page,
            f"{base}/ppo_details?seeds={settings['ppo_seeds']}&budget={settings['ppo_budget']}",
            [],
            120_000,
        )  # may show a classmate's training in progress: not a page latency
        t0 = time.perf_counter()
        await page.locator(".st-key-ppo_train button").first.click()
        await _wait_text(page, "Final scores", settings["train_timeout_ms"])
        await _idle(page, 120_000)
        out["ppo_waits"].append(time.perf_counter() - t0)
        await _check(page, "ppo after Train")
        if "Final scores" not in await page.inner_text('[data-testid="stMain"]'):
            raise RuntimeError("PPO: no final scores shown")
    except Exception as err:  # noqa: BLE001 - counted and reported
        out["errors"].append(f"{type(err).__name__}: {str(err)[:300]}")
    finally:
        await context.close()


def run_load(students: int, settings: dict) -> dict:
    """:func:`harness.classroom.run_load` with this benchmark's browser student."""
    return _run_load(students, settings, browser_student=student, settle_s=SETTLE_S)


def main() -> None:
    # stopped (timeout, kill): leave through the servers' context managers, which stop them
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--students", type=int, default=30)
    ap.add_argument("--dial-batches", type=int, default=200)
    ap.add_argument("--ppo-budget", type=int, default=50_000)
    ap.add_argument(
        "--client",
        choices=("protocol", "browser"),
        default="protocol",
        help="protocol: sessions over Streamlit's websocket protocol (the server's real work, "
        "little client CPU); browser: headless Chromium per student (on a 2-core machine the "
        "browsers compete with the server for the cores)",
    )
    ap.add_argument(
        "--arrival-s",
        type=float,
        default=30.0,
        help="students open the link evenly spread over this many seconds (0: all at once)",
    )
    ap.add_argument("--scenario", default="same",
                    choices=("same", "distinct", "abuse", "dial-abuse", "pages", "mixed"))
    ap.add_argument("--abuse-requests", type=int, default=40)
    ap.add_argument("--apps", default="1",
                    help="dial-abuse, pages, mixed: app processes on one local cluster; '1,2' "
                    "runs both and prints the throughput ratio")
    ap.add_argument("--settle-s", type=float, default=60.0,
                    help="dial-abuse, pages, mixed: memory is read again this long after the load")
    args = ap.parse_args()
    if args.scenario in ("dial-abuse", "pages", "mixed"):
        course(args)
        return
    if args.scenario != "same":
        distinct(args)
        return
    if args.client == "browser" and chromium_path() is None:
        sys.exit("Chromium not found: apt-get install chromium")
    settings = dict(dial_batches=args.dial_batches, dial_seeds=1, ppo_budget=args.ppo_budget,
                    ppo_seeds=2, arrival_s=args.arrival_s, client=args.client)
    print(
        f"classroom load: {args.students} {args.client} sessions "
        f"on one server, {os.cpu_count()} cores, {settings}")
    r = run_load(args.students, settings)
    print(f"sessions served        : {r['served']}/{r['students']} (errors: {len(r['errors'])})")
    for e in r["errors"][:5]:
        print(f"  error: {e}")
    print(f"page loads measured    : {r['page_loads']}")
    print(
        f"page latency p50 / p95 : {r['p50_ms']:.0f} "
        f"ms / {r['p95_ms']:.0f} ms (opening pages and moving controls)")
    for step, (p50, p95) in r["by_step"].items():
        print(f"  {step:<22}: p50 {p50:.0f} ms, p95 {p95:.0f} ms")
    print(
        f"trainings really run   : DIAL {r['trainings_run']['dial']}, PPO "
        f"{r['trainings_run']['ppo']} (each requested by {args.students} students)")
    print(
        f"longest shared wait    : DIAL {r['longest_wait_s']['dial']:.1f} s, PPO "
        f"{r['longest_wait_s']['ppo']:.1f} s")
    print(
        f"server RSS             : {r['server_idle_rss_mb']:.0f} MB idle (code loaded, nobody "
        f"connected), peak {r['server_peak_rss_mb']:.0f} MB, {r['server_after_rss_mb']:.0f} MB "
        f"{SETTLE_S:.0f} s after the last student")
    print(f"wall                   : {r['wall_s']:.1f} s")


def distinct(args) -> None:
    budget = args.ppo_budget if args.ppo_budget != 50_000 else 100_000
    abuse = args.abuse_requests if args.scenario == "abuse" else 0
    print(
        f"classroom, distinct PPO requests: {args.students} students × 2 runs × {budget:,} steps, "
        f"arriving within {args.arrival_s:.0f} s, abusive "
        f"client: {abuse} requests; {os.cpu_count()} cores")
    r = run_distinct(args.students, budget, args.arrival_s, abuse, settle_s=SETTLE_S)
    print(f"students with a result : {r['served']}/{r['students']} (errors: {len(r['errors'])})")
    for e in r["errors"][:5]:
        print(f"  error: {e}")
    print(
        f"Train -> result        : p50 {r['wait_p50_s']:.1f} s, "
        f"p95 {r['wait_p95_s']:.1f} s, max {r['wait_max_s']:.1f} s")
    print(
        f"page latency p50 / p95 : {r['page_p50_s'] * 1000:.0f} "
        f"ms / {r['page_p95_s'] * 1000:.0f} ms")
    print(f"trainings started      : {r['trainings_started']} (batches of requests)")
    if abuse:
        print(f"abusive requests sent  : {r['abuse_sent']}")
    print(
        f"server RSS             : {r['server_idle_rss_mb']:.0f} MB idle (code loaded, nobody "
        f"connected), peak {r['server_peak_rss_mb']:.0f} MB, {r['server_after_rss_mb']:.0f} MB "
        f"{SETTLE_S:.0f} s after the last student")
    print(f"wall                   : {r['wall_s']:.1f} s")
    seconds, runs = same_work_batched(args.students, budget)
    print(f"same work, one batch   : {runs} runs in {seconds:.1f} s here (p95 wait / this = "
          f"{r['wait_p95_s'] / seconds:.2f}; target ≤ 1.5)")


if __name__ == "__main__":
    main()
