"""Serving a course under load, measured with the training engine as deployed (issue 24's targets).

:func:`serving` starts one app process with its own local training cluster (``streamlit run
app.py``, as the README says), or several app processes pointed at one local cluster
(``RL_TOOLBOX_CLUSTER``) and forked from one launcher that imported the app once
(``deploy/fork_apps.py``), as ``deploy/serve.sh`` does; sessions go to the ports directly, split
evenly, as a sticky proxy would. The scenarios, all over Streamlit's websocket protocol
(:mod:`harness.protocol_client`), return their figures and the memory of *every* process of the
deployment (sum of PSS, :mod:`harness.procs`): idle (the server as a class finds it: kernels
compiled, every app process opened once, one small PPO and one small DIAL training done), peak
during the load, ``settle_s`` after it.

- :func:`dial_abuse`: one client opens ``abuse`` sessions, each asking for the large DIAL training
  of the issue (n = 10, separate parameters, DIAL only, 1 seed, 1,500 batches; stepping down to
  the largest the server admits, :data:`ABUSE_REQUESTS`) and staying to watch; meanwhile a polite
  student trains a small PPO request. Its wait against the same kind of request on the quiet
  server.
- :func:`browse_and_train`: ``browsers`` sessions open every page at once; ``trainers`` sessions
  (each a distinct small PPO request: :func:`harness.distinct.ppo_request`) open Gumbel-Softmax,
  move τ, open PPO and train, at the same time.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import os
import statistics
import time
from pathlib import Path

from harness.classroom import _run_in_thread, move_tau, percentile, train_ppo
from harness.distinct import ppo_request
from harness.live_server import LOGS, ROOT, forked_servers, streamlit_server
from harness.procs import MemorySampler, cpu_s, tree
from harness.protocol_client import ProtocolSession

PAGES = ("", "normalization", "gumbel_softmax", "social_influence", "dial", "ppo_details",
         "ppo_continuous")
"""Every page's URL path (Home is the root)."""
DIAL_ABUSE = "n=10"
"""The abusive DIAL link of issue 24: ten agents (the other settings are set on the page)."""


def _cluster_module():
    # toolbox/serving/cluster.py imports only the standard library: loaded by path, so this
    # process does not import toolbox (and torch) to start a cluster
    spec = importlib.util.spec_from_file_location(
        "rl_cluster", ROOT / "toolbox" / "serving" / "cluster.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@contextlib.contextmanager
def serving(apps: int = 1, workers: int | None = None):
    """Yield ``(urls, roots, job_logs)``: the app processes' URLs, the root pids of every process
    of the deployment (the app process; with ``apps > 1`` the shared cluster's process and the
    launcher the app processes are forked from, ``deploy/fork_apps.py``), and the job logs (one
    line per training started)."""
    workers = workers or int(os.environ.get("RL_TOOLBOX_MAX_TRAININGS", 0)) or max(
        1, (os.cpu_count() or 2) // 2)
    with contextlib.ExitStack() as stack:
        # kept after the run, beside the servers' logs: when each training started and ended
        LOGS.mkdir(parents=True, exist_ok=True)
        logs = [LOGS / f"course-jobs-{i}.tsv" for i in range(apps)]
        for log in logs + [p.with_suffix(".end.tsv") for p in logs]:
            log.unlink(missing_ok=True)
        roots, env = [], {}
        if apps > 1:
            cluster = _cluster_module().LocalProcessCluster(workers)
            stack.callback(cluster.stop)
            roots.append(cluster.proc.pid)
            env["RL_TOOLBOX_CLUSTER"] = cluster.address
        if apps > 1:  # forked from one process that imported the app once, as deploy/serve.sh
            logs = logs[:1]  # one log for the apps (whole lines, appended)
            urls, proc = stack.enter_context(forked_servers(
                apps, "streamlit-course-forked.log",
                env={**env, "RL_TOOLBOX_JOB_LOG": str(logs[0]),
                     "RL_TOOLBOX_JOB_END_LOG": str(logs[0].with_suffix(".end.tsv"))}))
            roots.append(proc.pid)
            yield urls, roots, logs
            return
        url, proc = stack.enter_context(streamlit_server(
            "streamlit-course-0.log", env={"RL_TOOLBOX_JOB_LOG": str(logs[0]),
                                           "RL_TOOLBOX_JOB_END_LOG": str(
                                               logs[0].with_suffix(".end.tsv"))}))
        roots.append(proc.pid)
        yield [url], roots, logs


def _trainings(logs: list[Path]) -> int:
    return sum(len(p.read_text().splitlines()) for p in logs if p.exists())


async def _open_home(urls: list[str]) -> None:
    for url in urls:  # the first run imports everything and starts the kernels' warm-up
        async with ProtocolSession(url) as s:
            await s.open("")


async def _train_small(urls: list[str], budget: int) -> None:
    """One small PPO and one small DIAL request that are none of the students' (the worker loads
    the kernels of both, as when the lecturer tries the pages before class)."""
    async with ProtocolSession(urls[0]) as s:
        await s.open("ppo_details", f"v=all,novec&seeds=1&budget={budget}")
        await train_ppo(s)
        await s.open("dial")
        await s.set_number("curve_sigma", 1.5)
        await s.set_multiselect("curve_methods", ["DIAL"])
        await s.set_number("curve_seeds", 1)
        await s.set_number("curve_batches", 100)
        run = await s.click("train_now")
        if run.exceptions or "Trained live" not in run.text:
            raise RuntimeError(f"warm-up DIAL: no result {run.exceptions[:1]}")


def _compiling(roots: list[int]) -> bool:
    """True while an app process's kernel compile child (:mod:`toolbox.warm_up`) runs: a machine
    whose kernel cache is empty compiles for a minute or more after the server starts."""
    for pid in tree(*roots):
        with contextlib.suppress(OSError):
            if b"toolbox.warm_up" in Path(f"/proc/{pid}/cmdline").read_bytes():
                return True
    return False


def _prepare(urls: list[str], roots: list[int], budget: int,
             wait_s: float = 600.0) -> MemorySampler:
    """The server as the class finds it: kernels compiled (the lecturer started it beforehand),
    every app process opened once, one small training done; then the memory sampler starts."""
    _run_in_thread(_open_home(urls))
    time.sleep(2.0)
    end = time.monotonic() + wait_s
    while _compiling(roots) and time.monotonic() < end:
        time.sleep(1.0)
    _run_in_thread(_train_small(urls, budget))
    time.sleep(5.0)
    return MemorySampler(*roots).start()


def _finish(r: dict, sampler: MemorySampler, idle: tuple[float, dict], settle_s: float,
            logs) -> dict:
    time.sleep(settle_s)
    after = sampler.sample()
    r["after_parts"] = dict(sampler.last_parts)
    sampler.stop()  # the peak from the start of the load to the end of the settling time
    peak, processes, parts = sampler.peak_mb, sampler.processes, sampler.peak_parts
    r.update(idle_mb=idle[0], peak_mb=peak, after_mb=after, settle_s=settle_s, processes=processes,
             peak_parts=parts, idle_parts=idle[1],
             trainings_started=_trainings(logs))
    return r


async def _browser(url: str, out: dict) -> None:
    try:
        async with ProtocolSession(url) as s:
            for page in PAGES:
                run = await s.open(page)
                if run.exceptions:
                    raise RuntimeError(f"exception on {page or 'home'}: {run.exceptions[0]}")
                out["pages"].append(run.seconds)
                out["by_page"].setdefault(page or "home", []).append(run.seconds)
    except Exception as err:  # noqa: BLE001 - counted and reported
        out["errors"].append(f"browser: {type(err).__name__}: {str(err)[:300]}")


async def _trainer(url: str, i: int, budget: int, out: dict, delay_s: float) -> None:
    await asyncio.sleep(delay_s)
    try:
        async with ProtocolSession(url) as s:
            out["pages"].append((await s.open("gumbel_softmax")).seconds)
            out["pages"].append((await move_tau(s)).seconds)
            out["pages"].append((await s.open("ppo_details", ppo_request(i, budget)[2])).seconds)
            out["waits"].append((await train_ppo(s)).seconds)
    except Exception as err:  # noqa: BLE001 - counted and reported
        out["errors"].append(f"trainer {i}: {type(err).__name__}: {str(err)[:300]}")


def browse_and_train(apps: int = 1, browsers: int = 60, trainers: int = 0, budget: int = 50_000,
                     arrival_s: float = 0.0, settle_s: float = 60.0) -> dict:
    """``browsers`` sessions open every page at once while ``trainers`` sessions (arriving within
    ``arrival_s``) train distinct small PPO requests; sessions go to the app processes in turn."""
    with serving(apps) as (urls, roots, logs):
        sampler = _prepare(urls, roots, budget)
        idle = (sampler.last_mb, dict(sampler.peak_parts))
        sampler.reset()
        out = {"pages": [], "by_page": {}, "waits": [], "errors": []}
        delays = [arrival_s * i / max(trainers - 1, 1) for i in range(trainers)]

        async def run() -> None:
            await asyncio.gather(
                *(_browser(urls[i % apps], out) for i in range(browsers)),
                *(_trainer(urls[(browsers + i) % apps], 1 + i, budget, out, d)
                  for i, d in enumerate(delays)))

        pids = tree(*roots)
        c0, me0, t0 = cpu_s(pids), cpu_s([os.getpid()]), time.perf_counter()
        _run_in_thread(run())
        wall = time.perf_counter() - t0
        cpu, client_cpu = cpu_s(pids) - c0, cpu_s([os.getpid()]) - me0
        pages, waits = sorted(out["pages"]), sorted(out["waits"])
        r = {"apps": apps, "browsers": browsers, "trainers": trainers, "budget": budget,
             "errors": out["errors"], "page_loads": len(pages), "trained": len(waits),
             "page_p50_s": statistics.median(pages) if pages else float("nan"),
             "page_p95_s": percentile(pages, 0.95),
             "by_page": {k: percentile(sorted(v), 0.95) for k, v in out["by_page"].items()},
             "train_p50_s": statistics.median(waits) if waits else float("nan"),
             "train_p95_s": percentile(waits, 0.95), "wall_s": wall, "server_cpu_s": cpu,
             "client_cpu_s": client_cpu,
             "throughput": (len(pages) + len(waits)) / wall}
        return _finish(r, sampler, idle, settle_s, logs)


async def _polite(url: str, i: int, budget: int, timeout_s: float = 300.0) -> float:
    """Seconds from Train to the polite student's result (inf if none within ``timeout_s``)."""
    async with ProtocolSession(url, timeout_s=timeout_s) as s:
        await s.open("ppo_details", ppo_request(i, budget)[2])
        try:
            return (await train_ppo(s)).seconds
        except asyncio.TimeoutError:
            return float("inf")


ABUSE_REQUESTS = ((10, False, 1500), (10, True, 1500), (10, True, 600), (6, False, 600),
                  (5, False, 600), (4, False, 1500), (4, True, 1500), (3, False, 1500))
"""The abuser's DIAL requests, largest first: (agents, parameter sharing, batches), DIAL only, 1
seed. The first is issue 24's; once the server refuses one, the abuser steps down until one is
admitted, then asks for that one from every further session (the worst a targeted client does)."""


async def _abuse(url: str, n: int, out: dict, stop: asyncio.Event) -> None:
    """``n`` sessions of one client, each asking for a large DIAL training and staying."""
    level = 0
    async with contextlib.AsyncExitStack() as stack:
        for k in range(n):
            try:
                s = await stack.enter_async_context(ProtocolSession(url))
                await s.open("dial", DIAL_ABUSE)
                # first, a σ of its own: distinct requests (identical ones would train once), and
                # no step on the way may match a running request (the page would watch it)
                await s.set_number("curve_sigma", 2.0 + 0.01 * k)
                await s.set_multiselect("curve_methods", ["DIAL"])
                await s.set_number("curve_seeds", 1)
                while level < len(ABUSE_REQUESTS):
                    agents, sharing, batches = ABUSE_REQUESTS[level]
                    await s.set_number("curve_n", agents)
                    await s.set_toggle("curve_sharing", sharing)
                    await s.set_number("curve_batches", batches)
                    text = await s.click_and_stay("train_now", read_s=1.0)
                    if "Not started" not in text:
                        out["admitted"][ABUSE_REQUESTS[level]] = out["admitted"].get(
                            ABUSE_REQUESTS[level], 0) + 1
                        break
                    out["refused"][ABUSE_REQUESTS[level]] = out["refused"].get(
                        ABUSE_REQUESTS[level], 0) + 1
                    if out["admitted"]:
                        break  # the server is full: this session asks no more
                    level += 1
            except Exception as err:  # noqa: BLE001 - counted and reported
                out["errors"].append(f"abuser: {type(err).__name__}: {str(err)[:200]}")
        out["sent_s"] = time.perf_counter()
        await stop.wait()  # the sessions stay open, watching, until the polite student is done


def dial_abuse(apps: int = 1, abuse: int = 40, budget: int = 50_000,
               settle_s: float = 60.0) -> dict:
    """A polite student's small PPO training alone, then while one client holds ``abuse`` large
    DIAL requests; the memory of the deployment throughout."""
    with serving(apps) as (urls, roots, logs):
        sampler = _prepare(urls, roots, budget)
        idle = (sampler.last_mb, dict(sampler.peak_parts))
        sampler.reset()
        alone = _run_in_thread(_polite(urls[0], 1, budget))
        out = {"admitted": {}, "refused": {}, "errors": []}

        async def run() -> float:
            stop = asyncio.Event()
            task = asyncio.create_task(_abuse(urls[0], abuse, out, stop))
            while "sent_s" not in out and not task.done():
                await asyncio.sleep(0.2)
            try:
                return await _polite(urls[-1], 2, budget)
            finally:
                stop.set()
                await task

        t0 = time.perf_counter()
        under = _run_in_thread(run())
        r = {"apps": apps, "abuse": abuse, "budget": budget,
             "alone_s": alone, "under_abuse_s": under, "admitted": out["admitted"],
             "refused": out["refused"], "errors": out["errors"],
             "wall_s": time.perf_counter() - t0}
        return _finish(r, sampler, idle, settle_s, logs)
