"""The class that trains something different each: N distinct PPO requests on one server.

Each student opens the Gumbel-Softmax page and moves τ (a page latency), then opens the PPO page
with a variant of their own (``ppo_request(i)``: a different detail off, or a different pair of
variants) and presses *Train*; the time from the press until the student's result is on the page
is their wait. Optionally one abusive client opens a new session for each of many large, distinct
trainings, presses Train and closes the tab at once. :func:`run_distinct` returns the figures,
and the same total work trained as one batched computation in this process, for a side-by-side
ratio (machines differ by 3×: only the ratio means something).
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from harness.classroom import _run_in_thread, idle_rss_mb, move_tau, percentile, train_ppo
from harness.live_server import peak_rss_mb, rss_mb, streamlit_server
from harness.protocol_client import ProtocolSession

VARIANTS = ("all", "novec", "noorth", "eps8", "noanneal", "nogae", "nomb", "noadvnorm", "noclip",
            "novclip", "noent", "nogradclip", "shared", "obsnorm", "rewscale", "kl", "trunc")


def ppo_request(i: int, budget: int) -> tuple[list[str], int, str]:
    """Student ``i``'s request: (variant ids, number of seeds, URL query). Two runs each: one
    variant × 2 seeds for the first 17 students, then two variants × 1 seed (distinct pairs of
    variants)."""
    n = len(VARIANTS)
    if i < n:
        vids, seeds = [VARIANTS[i]], 2
    else:
        vids, seeds = [VARIANTS[i % n], VARIANTS[(i % n + 1 + i // n) % n]], 1
    return vids, seeds, f"v={','.join(vids)}&seeds={seeds}&budget={budget}"


async def _student(base: str, i: int, budget: int, out: dict, delay_s: float) -> None:
    await asyncio.sleep(delay_s)
    try:
        async with ProtocolSession(base) as s:
            run = await s.open("gumbel_softmax")
            out["latencies"].append(run.seconds)
            out["latencies"].append((await move_tau(s)).seconds)
            run = await s.open("ppo_details", ppo_request(i, budget)[2])
            out["latencies"].append(run.seconds)
            out["waits"].append((await train_ppo(s)).seconds)
    except Exception as err:  # noqa: BLE001 - counted and reported
        out["errors"].append(f"student {i}: {type(err).__name__}: {str(err)[:300]}")


async def _abuser(base: str, requests: int, out: dict) -> None:
    """Many large distinct trainings, each from a new session closed right after pressing Train."""
    for k in range(requests):
        try:
            async with ProtocolSession(base) as s:
                vids = [VARIANTS[k % len(VARIANTS)], VARIANTS[(k + 3) % len(VARIANTS)]]
                await s.open("ppo_details", f"v={','.join(vids)}&seeds={1 + k % 10}&budget=500000")
                await s.click_and_leave("ppo_train")
                out["abuse_sent"] += 1
        except Exception as err:  # noqa: BLE001
            out["errors"].append(f"abuser: {type(err).__name__}: {str(err)[:200]}")


async def _run(base: str, students: int, budget: int, arrival_s: float, abuse: int) -> dict:
    out = {"latencies": [], "waits": [], "errors": [], "abuse_sent": 0}
    delays = [arrival_s * i / max(students - 1, 1) for i in range(students)]
    tasks = [_student(base, i, budget, out, d) for i, d in enumerate(delays)]
    if abuse:
        tasks.append(_abuser(base, abuse, out))
    await asyncio.gather(*tasks)
    return out


def run_distinct(students: int = 30, budget: int = 100_000, arrival_s: float = 30.0, abuse: int = 0,
                 settle_s: float = 0.0) -> dict:
    """One fresh server, ``students`` distinct PPO requests (and an abusive client if ``abuse``
    > 0)."""
    with tempfile.TemporaryDirectory() as tmp:
        job_log = Path(tmp) / "jobs.tsv"
        with streamlit_server("streamlit-distinct.log",
                              env={"RL_TOOLBOX_JOB_LOG": str(job_log)}) as (url, proc):
            idle = idle_rss_mb(url, proc.pid) if settle_s else float("nan")
            t0 = time.perf_counter()
            out = _run_in_thread(_run(url, students, budget, arrival_s, abuse))
            wall = time.perf_counter() - t0
            rss = peak_rss_mb(proc.pid)
            time.sleep(settle_s)  # then the memory the server kept once the class left
            after = rss_mb(proc.pid)
        batches = len(job_log.read_text().splitlines()) if job_log.exists() else 0
    lat, waits = sorted(out["latencies"]), sorted(out["waits"])

    return {
        "students": students, "served": len(waits), "errors": out["errors"],
        "abuse_sent": out["abuse_sent"],
        "wait_p50_s": statistics.median(waits) if waits else float("nan"),
        "wait_p95_s": percentile(waits, 0.95), "wait_max_s": waits[-1] if waits else float("nan"),
        "page_p50_s": statistics.median(lat) if lat else float("nan"),
        "page_p95_s": percentile(lat, 0.95), "trainings_started": batches,
        "server_peak_rss_mb": rss, "server_idle_rss_mb": idle, "server_after_rss_mb": after,
        "wall_s": wall,
    }


def same_work_batched(students: int, budget: int) -> tuple[float, int]:
    """Seconds to train the union of the students' runs as ONE batched computation here (1
    thread)."""
    from toolbox.device import torch_threads
    from toolbox.lessons.ppo.variants import variant_config
    from toolbox.ppo.train import train_pairs

    pairs = {}
    for i in range(students):
        vids, seeds, _ = ppo_request(i, budget)
        for v in vids:
            for s in range(seeds):
                pairs[(variant_config(v, budget), s)] = None
    t0 = time.perf_counter()
    with torch_threads(1):
        train_pairs(list(pairs))
    return time.perf_counter() - t0, len(pairs)
