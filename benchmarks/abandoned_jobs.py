"""Abandoned work ends: on a real server, a client presses Train and closes its tab; how long does
the training go on?

    flock /tmp/rl_bench.lock python benchmarks/abandoned_jobs.py [--repeats 3]

One ``streamlit run app.py`` server (harness.live_server) with ``RL_TOOLBOX_JOB_END_LOG`` set (the
runner writes when and how each training ended); a protocol client (no browser) opens the PPO page
with a long request (2 variants x 10 seeds x 300k steps, tens of seconds of training), presses
Train, keeps the tab ``--train-s`` seconds and disconnects. Printed per repeat: seconds from the
tab closing to the training's end and its status (issue 24: ~150 s before; target at most 5 s).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from harness.live_server import streamlit_server
from harness.protocol_client import ProtocolSession

QUERY = "v=noorth,noclip&seeds=10&budget=300000"


async def press_and_leave(url: str, train_s: float, seeds: int) -> float:
    """Open the page, press Train, wait ``train_s``; returns the time the tab closed."""
    async with ProtocolSession(url) as s:
        await s.open("ppo_details", QUERY.replace("seeds=10", f"seeds={seeds}"))
        await s.click_and_leave("ppo_train", after_s=train_s)
        return time.time()  # the close handshake may wait for a busy server: the tab is gone now


def ended(log: Path, count: int, limit_s: float) -> list[str]:
    t_end = time.time() + limit_s
    while time.time() < t_end:
        lines = log.read_text().splitlines() if log.exists() else []
        if len(lines) >= count:
            return lines
        time.sleep(0.1)
    raise TimeoutError(f"no end of training {count} in {limit_s} s")


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--train-s", type=float, default=4.0)
    a = p.parse_args()
    log = Path(tempfile.mkdtemp()) / "job_end.log"
    env = {"RL_TOOLBOX_JOB_END_LOG": str(log)}
    with streamlit_server("abandoned_jobs.log", env=env) as (url, _):
        time.sleep(15)  # the kernels' warm-up and first imports settle
        for k in range(a.repeats):  # a new request each time (fewer seeds)
            closed = asyncio.run(press_and_leave(url, a.train_s, seeds=10 - k))
            when, _, _, status = ended(log, k + 1, limit_s=300)[k].split("\t")
            print(f"repeat {k + 1}: the training ended ({status}) {float(when) - closed:.1f} s "
                  "after the tab closed", flush=True)


if __name__ == "__main__":
    main()
