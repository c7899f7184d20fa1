"""A classroom on one fresh server: N sessions open the same link at once; what the server did.

:func:`run_load` starts ``streamlit run app.py`` with a job log, runs N student sessions
concurrently (spread evenly over ``settings["arrival_s"]`` seconds), and returns page latencies,
errors, how many trainings the server really ran (identical requests must run once) and its peak
memory. A session is :func:`protocol_student` (Streamlit's websocket protocol, no browser) or, with
``settings["client"] == "browser"``, the browser visit the caller passes in (the classroom
benchmark's headless-Chromium student).
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Awaitable, Callable

from harness.browser import LAUNCH_ARGS, chromium_path
from harness.live_server import peak_rss_mb, rss_mb, streamlit_server
from harness.protocol_client import ProtocolSession

BrowserStudent = Callable[..., Awaitable[None]]
"""``async (browser, base_url, settings, out, delay_s)``: one student's visit in a playwright
browser."""


async def move_tau(s: ProtocolSession):
    """On the open Gumbel-Softmax page, move the temperature slider to another option (one
    rerun)."""
    tau = s.widgets["gs_tau"]
    current = tau.options[int((tau.value or tau.default)[0])]
    return await s.set_select_slider("gs_tau", next(o for o in tau.options if o != current))


async def train_ppo(s: ProtocolSession):
    """On the open PPO page, press Train and wait for the result; raises when no final scores are
    shown."""
    run = await s.click("ppo_train")
    if run.exceptions or "Final scores" not in run.text:
        raise RuntimeError(f"PPO: no final scores shown {run.exceptions[:1]} {run.text[-300:]!r}")
    return run


def percentile(sorted_values: list, q: float) -> float:
    """The ``q`` quantile of already sorted values (nearest rank below), NaN when empty."""
    return sorted_values[int(q * (len(sorted_values) - 1))] if sorted_values else float("nan")


async def protocol_student(base: str, settings: dict, out: dict, delay_s: float = 0.0) -> None:
    """One student's visit over Streamlit's websocket protocol: open the Gumbel-Softmax page and
    move τ, open Social influence and Normalization, train DIAL and PPO with the class's shared
    settings.

    Appends to ``out``: ``latencies`` (s), ``by_step[name]`` (s), ``dial_waits``/``ppo_waits`` (s),
    ``errors`` (one line per failed session).
    """
    await asyncio.sleep(delay_s)
    lat = out["latencies"]

    def check(run, where: str, page_latency: bool = True) -> None:
        if run.exceptions:
            raise RuntimeError(f"exception on {where}: {run.exceptions[0]}")
        if page_latency:
            lat.append(run.seconds)
        out["by_step"].setdefault(where, []).append(run.seconds)

    try:
        async with ProtocolSession(base) as s:
            check(await s.open("gumbel_softmax"), "gumbel_softmax")
            if settings.get("visit", "full") == "full":
                check(await move_tau(s), "gumbel τ")
                check(await s.open("social_influence"), "social_influence")
                check(await s.open("normalization"), "normalization")
            check(await s.open("dial"), "dial")
            check(await s.set_number("curve_batches", settings["dial_batches"]), "dial batches")
            # once a classmate has pressed Train, these settings show the shared training's
            # progress until it ends: a wait for the training, not a page latency
            check(await s.set_number("curve_seeds", settings["dial_seeds"]),
                  "dial seeds (may watch)", False)
            run = await s.click("train_now")
            if run.exceptions or "Trained live" not in run.text:
                raise RuntimeError(f"DIAL: no trained result shown {run.exceptions[:1]}")
            out["dial_waits"].append(run.seconds)
            query = (f"v={settings.get('ppo_variants', 'all')}&seeds={settings['ppo_seeds']}&"
                     f"budget={settings['ppo_budget']}")
            check(await s.open("ppo_details", query),
                  "ppo (may watch)", False)
            out["ppo_waits"].append((await train_ppo(s)).seconds)
    except Exception as err:  # noqa: BLE001 - counted and reported
        out["errors"].append(f"{type(err).__name__}: {str(err)[:300]}")


async def _run(base: str, students: int, settings: dict,
               browser_student: BrowserStudent | None) -> dict:
    out = {"latencies": [], "dial_waits": [], "ppo_waits": [], "errors": [], "by_step": {}}
    spread = settings.get("arrival_s", 0.0)
    delays = [spread * i / max(students - 1, 1) for i in range(students)]
    if settings.get("client", "protocol") == "protocol":
        await asyncio.gather(*(protocol_student(base, settings, out, d) for d in delays))
        return out
    if browser_student is None:
        raise ValueError(
            "a browser classroom needs the browser student's visit (browser_student=...).")

    from playwright.async_api import async_playwright  # only browser runs need playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium_path(), args=LAUNCH_ARGS,
                                           headless=True)
        try:
            # students open the link within ``arrival_s`` seconds of each other (evenly spread)
            await asyncio.gather(*(browser_student(browser, base, settings, out,
                                                   d) for d in delays))
        finally:
            await browser.close()
    return out


async def _open_once(base: str) -> None:
    async with ProtocolSession(base) as s:
        await s.open("")


def idle_rss_mb(url: str, pid: int, settle_s: float = 2.0) -> float:
    """The server's memory with its code loaded and nobody connected: one session opens the home
    page (``app.py`` imports every module then, as when the lecturer opens the link before the
    class) and leaves; read ``settle_s`` later."""
    _run_in_thread(_open_once(url))
    time.sleep(settle_s)
    return rss_mb(pid)


def _run_in_thread(coro):
    # A fresh event loop in its own thread: callers (pytest with playwright's sync API) may
    # already have a loop running in this one.
    result: dict = {}

    def target() -> None:
        result["value"] = asyncio.run(coro)

    t = threading.Thread(target=target, daemon=True)
    t.start()
    while t.is_alive():  # in steps, so that a signal (a timeout's TERM) is handled meanwhile
        t.join(0.5)
    if "value" not in result:
        raise RuntimeError("the load run did not complete (see errors above)")
    return result["value"]


def run_load(students: int, settings: dict, browser_student: BrowserStudent | None = None,
             settle_s: float = 0.0) -> dict:
    """Serve ``students`` concurrent sessions from one fresh server; return the figures.

    ``settings``: ``visit`` (``"full"``: every page; ``"short"``: Gumbel-Softmax, DIAL and PPO
    only), ``dial_batches``, ``dial_seeds``, ``ppo_variants`` (ids, comma-separated; default
    ``"all"``), ``ppo_budget``, ``ppo_seeds`` (the class's shared
    training), ``arrival_s`` (spread of arrivals), ``client`` (``"protocol"``, the default, or
    ``"browser"`` with ``browser_student``), ``train_timeout_ms``.
    """
    settings = {"train_timeout_ms": 600_000, **settings}
    with tempfile.TemporaryDirectory() as tmp:
        job_log = Path(tmp) / "jobs.tsv"
        with streamlit_server("streamlit-load.log",
                              env={"RL_TOOLBOX_JOB_LOG": str(job_log)}) as (url, proc):
            idle = idle_rss_mb(url, proc.pid) if settle_s else float("nan")
            t0 = time.perf_counter()
            out = _run_in_thread(_run(url, students, settings, browser_student))
            wall = time.perf_counter() - t0
            rss = peak_rss_mb(proc.pid)
            time.sleep(settle_s)  # then the memory the server kept once the class left
            after = rss_mb(proc.pid)
        kinds = [
            line.split("\t")[
                1] for line in job_log.read_text().splitlines()] if job_log.exists() else []
    lat = sorted(out["latencies"])
    return {
        "students": students,
        "served": students - len(out["errors"]),
        "errors": out["errors"],
        "page_loads": len(lat),
        "by_step": {k: (1000 * statistics.median(v), 1000 * percentile(sorted(v), 0.95))
                    for k, v in out["by_step"].items()},
        "p50_ms": 1000 * statistics.median(lat) if lat else float("nan"),
        "p95_ms": 1000 * percentile(lat, 0.95),
        "trainings_run": {k: kinds.count(k) for k in ("dial", "ppo")},
        "longest_wait_s": {k: max(out[f"{k}_waits"], default=float("nan")) for k in ("dial",
                                                                                     "ppo")},
        "server_peak_rss_mb": rss, "server_idle_rss_mb": idle, "server_after_rss_mb": after,
        "wall_s": wall,
    }
