"""Compare Dask distributed and Ray as the engine that runs trainings outside the web process.

    flock /tmp/rl_bench.lock python -m benchmarks.engine_compare [--json out.json] [--only ray]

Each configuration runs in a fresh child process that plays the web process (it imports torch first,
as the app does) and starts a local cluster on this machine:

- ``dask1`` / ``dask2``: ``distributed.LocalCluster(processes=True)`` with 1 or 2 single-threaded
  workers behind nannies, no dashboard;
- ``ray``: ``ray.init(num_cpus=2, include_dashboard=False)``;
- ``engine``: the chosen engine through its adapter, ``toolbox.serving.engine.Engine`` with one
  worker (its local cluster in a child process; progress through the scheduler's metadata, polled
  every 5 ms here; cancel = releasing the key, seen by the training at its next report).

Measured, per configuration:

- ``start_s``: seconds from the engine's import to a cluster whose workers are ready;
- ``idle_mb``: sum of PSS (``/proc/<pid>/smaps_rollup``) over the client process and every
  process below it, with the workers warm (torch imported), 3 s after the last task; ``procs``:
  how many processes that is; ``client_mb``: the client alone before the engine was imported;
- ``first_s``: submit -> result of the first task that imports torch (a cold worker);
- ``start_ms``: submit -> running (the task's own clock) of a task on a warm worker, median of 10;
- ``fresh_s``: the same for a task run in a new worker process (Ray ``max_calls=1``, Ray actor per
  job; Dask: a worker restarted by ``client.restart_workers``), what a process-per-training costs;
- ``kept4096_mb`` / ``kept64_mb``: tree PSS 3 s after a task that allocated ~400 MB in 4 MB or
  64 kB tensors, minus ``idle_mb`` (memory a training leaves behind in a long-lived worker);
  ``trimmed_mb``: the same for 64 kB tensors when the task calls glibc's ``malloc_trim(0)`` at
  its end;
- ``rss_mb``: the sum of RSS over the same tree (counts shared pages once per process: an upper
  bound; PSS shares the pages of torch's libraries with any other process mapping them);
- ``progress_ms``: task -> client latency of 40 progress messages (p50 / p95): Dask
  ``distributed.Queue``, Ray a streaming generator;
- ``cancel_ms``: cancel call -> the running task has stopped (task's clock), p50 of 3: Dask
  ``distributed.Event`` checked at each progress report; Ray ``ray.cancel`` (KeyboardInterrupt);
  ``plain_cancel``: whether the engine's plain cancel alone stops a running task;
- ``dedup``: a second app process attaches to the same cluster and submits the identical request
  while the first one's runs; how many times the function ran (1 = deduplicated), and ``attach_s``
  how long that second process took to connect. Dask: ``client.submit(key=...)``; Ray: a named
  actor per request created with ``get_if_exists=True``.

Measured on the 2-core development machine, shared with other work (load average 2-20), three
runs on 2026-12-04, the engine row two of them; ranges over the runs; MB are sums of PSS, client =
the web process with torch imported; last run (load ~2) in brackets where it matters:

    config  start_s         idle_mb      procs  cold_mb  first_s  start_ms  fresh_s  kept64_mb
    dask1   1.1-1.5 [1.2]   366-400 [400]    3  224-253  1.7-4.7   4.7-5.8  2.7-3.2    404-415
    dask2   1.8-2.1 [1.9]   548-587 [587]    4  286-298  1.5-1.9   5.6-9.6  3.1-9.0    385-404
    ray     7.0-11.1 [7.7]  873-897 [892]   10  605-638  1.1-3.1   1.4-2.0  2.4-7.1    399-416
    engine  1.2-5.9 [1.2]   402-442 [442]    4        -  1.5-8.1*  7.5-36         -          -

    config  trimmed_mb  rss_mb  progress_ms p50 / p95  cancel_ms  plain_cancel  dedup  attach_s
    dask1         2-14     511    1.8-2.3 / 3.7-5.2        28-30  runs on           1   0.6-1.0
    dask2      -16..-3     751    1.9-2.2 / 3.2-5.4        28-29  runs on           1   0.4-1.6
    ray         -3..15    1352    1.1-1.4 / 2.8-54          3-26  stops             1   0.4-1.3
    engine         0-2     570    5.3-16 / 10-25           14-19  stops             1  1.9-11**

Installed size: dask + distributed ~25 MB, ray ~240 MB. Ray's own daemons hold ~300 MB before any
worker (gcs_server 41, raylet 25, runtime-env agent 50, dashboard agent 45 even with the dashboard
off, log monitor 93, another 48) and it prestarts one worker per CPU (~190 MB each with torch).
Memory freed by a task in small pieces stays in a long-lived worker of either engine (kept64_mb)
unless the task ends with ``malloc_trim(0)`` (trimmed_mb). The engine's idle memory: client ~187,
its cluster's process (scheduler, nanny) ~46, the worker ~203, multiprocessing's tracker ~7.
* ``Engine.warm``: every worker imports torch and opens its link to the scheduler. ** a second
app process's start including ``import toolbox.serving`` (torch), not only its link.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ("dask1", "dask2", "ray", "engine")


# ---------------------------------------------------------------------------- memory
def _pss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _tree(pid: int) -> list[int]:
    """``pid`` and all its descendants (from /proc/*/stat parent links)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as fh:
                stat = fh.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def tree_rss_mb(pid: int | None = None) -> float:
    """Sum of VmRSS in MB over ``pid`` (default: this process) and its descendants."""
    total = 0.0
    for p in _tree(pid or os.getpid()):
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) / 1024
        except OSError:
            pass
    return total


def tree_pss_mb(pid: int | None = None) -> tuple[float, int]:
    """(sum of PSS in MB, number of processes) of ``pid`` (default: this process) and all below."""
    pids = _tree(pid or os.getpid())
    return sum(_pss_mb(p) for p in pids), len(pids)


# ------------------------------------------------------------------- tasks (run on workers)
def task_import_torch() -> tuple[float, bool, float]:
    """Import torch (a cold worker pays it once): (started, torch was already imported, ready)."""
    started, had = time.time(), "torch" in sys.modules
    import torch  # noqa: F401

    return started, had, time.time()


def task_started_at(_nonce: int) -> float:
    """The worker's clock when the task started (torch already imported by the warm-up)."""
    started = time.time()
    import torch  # noqa: F401

    return started


def task_allocate(mb: int = 400, chunk_kb: int = 4096, trim: bool = False) -> int:
    """Allocate ``mb`` MB in ``chunk_kb`` tensors, touch them, free them (a training's transient
    memory: small chunks come from malloc's arenas, big ones from mmap)."""
    import torch

    held = [torch.ones(chunk_kb * 256) for _ in range(mb * 1024 // chunk_kb)]
    total = int(sum(t.numel() for t in held))
    del held
    if trim:
        malloc_trim()
    return total


def malloc_trim() -> None:
    """Give the pages freed in every malloc arena back to the system (glibc)."""
    import ctypes
    import gc

    gc.collect()
    ctypes.CDLL("libc.so.6").malloc_trim(0)


def _read(path: str) -> str:
    return Path(path).read_text(encoding="ascii") if os.path.exists(path) else ""


def _log(path: str, text: str) -> None:
    with open(path, "a", encoding="ascii") as fh:
        fh.write(text + "\n")


def dask_progress_task(qname: str, evname: str, steps: int, step_s: float, log: str) -> str:
    """Report progress on a distributed.Queue; stop at the first report after the event is set."""
    from distributed import Event, Queue

    queue, stop = Queue(qname), Event(evname)
    _log(log, f"start {time.time():.6f}")
    try:
        for i in range(steps):
            time.sleep(step_s)
            queue.put((i, time.time()))
            if stop.is_set():
                return "cancelled"
        return "done"
    finally:
        _log(log, f"end {time.time():.6f}")


def dask_plain_task(steps: int, step_s: float, log: str) -> str:
    """A running task with no cooperative check: does Future.cancel stop it?"""
    _log(log, f"start {time.time():.6f}")
    try:
        for _ in range(steps):
            time.sleep(step_s)
        return "done"
    finally:
        _log(log, f"end {time.time():.6f}")


def dedup_task(log: str, seconds: float) -> str:
    """Count executions in ``log``; long enough that the second submission arrives while it runs."""
    _log(log, f"run {os.getpid()} {time.time():.6f}")
    time.sleep(seconds)
    return "trained"


# ---------------------------------------------------------------------------- Dask
def run_dask(workers: int) -> dict:
    res: dict = {}
    t0 = time.perf_counter()
    from distributed import Client, Event, LocalCluster, Queue

    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                           dashboard_address=None, memory_limit=0)
    client = Client(cluster)
    client.wait_for_workers(workers)
    res["start_s"] = time.perf_counter() - t0
    try:
        _measure_dask(client, cluster, workers, res, Event, Queue)
    finally:
        client.close()
        cluster.close()
    return res


def _measure_dask(client, cluster, workers, res, Event, Queue) -> None:
    time.sleep(3)
    res["cold_mb"] = tree_pss_mb()[0]
    t = time.time()
    client.submit(task_import_torch, pure=False).result()
    res["first_s"] = time.time() - t
    client.run(task_import_torch)  # every worker warm
    time.sleep(3)
    res["idle_mb"], res["procs"] = tree_pss_mb()
    res["rss_mb"] = tree_rss_mb()
    res["breakdown"] = breakdown()

    lat = []
    for i in range(10):
        t = time.time()
        started = client.submit(task_started_at, i, pure=False).result()
        lat.append((started - t) * 1000)
    res["start_ms"] = statistics.median(lat)

    for chunk in (4096, 64):
        client.submit(task_allocate, 400, chunk, pure=False).result()
        time.sleep(3)
        res[f"kept{chunk}_mb"] = tree_pss_mb()[0] - res["idle_mb"]
    client.run(malloc_trim)
    client.submit(task_allocate, 400, 64, True, pure=False).result()
    time.sleep(3)
    res["trimmed_mb"] = tree_pss_mb()[0] - res["idle_mb"]

    # a fresh worker process per training: restart the worker, then run the task there
    fresh = []
    for i in range(2):
        t = time.time()
        client.restart_workers(list(client.scheduler_info()["workers"]))
        client.wait_for_workers(workers)
        _, had, ready = client.submit(task_import_torch, pure=False).result()
        assert not had
        fresh.append(ready - t)
    res["fresh_s"] = statistics.median(fresh)
    client.run(task_import_torch)

    # progress latency and cooperative cancel
    log = tempfile.mktemp(prefix="engine_dask_")
    delays, cancels = [], []
    for rep in range(3):
        q, ev = Queue(f"p{rep}"), Event(f"e{rep}")
        fut = client.submit(dask_progress_task, f"p{rep}", f"e{rep}", 400, 0.025, log,
                            key=f"progress-{rep}")
        for _ in range(40):
            i, sent = q.get(timeout=30)
            delays.append((time.time() - sent) * 1000)
        t = time.time()
        ev.set()
        fut.result(timeout=30)
        end = float(_read(log).split()[-1])
        cancels.append((end - t) * 1000)
        os.unlink(log)
    res["progress_ms"] = (statistics.median(delays), _p95(delays))
    res["cancel_ms"] = statistics.median(cancels)

    fut = client.submit(dask_plain_task, 60, 0.05, log, key="plain")
    while not os.path.exists(log):
        time.sleep(0.01)
    time.sleep(0.3)
    fut.cancel()
    time.sleep(1.0)
    res["plain_cancel"] = "stops" if "end" in _read(log) else "runs on"
    os.unlink(log)

    # dedup across two app processes through the scheduler's task keys
    addr = cluster.scheduler_address
    fut = client.submit(dedup_task, log, 4.0, key="train-abc123")
    other = _second_process(
        "import time; t = time.time()\n"
        "from distributed import Client\n"
        f"c = Client({addr!r})\n"
        "print('ATTACH', time.time() - t, flush=True)\n"
        "from benchmarks.engine_compare import dedup_task\n"
        f"print(c.submit(dedup_task, {log!r}, 4.0, key='train-abc123').result())\n"
        "c.close()\n")
    fut.result()
    res["dedup"] = _read(log).count("run ")
    res["attach_s"] = other
    os.unlink(log)


# ---------------------------------------------------------------------------- the adapter
def engine_training(log: str, steps: int, step_s: float):
    """A toy training for toolbox.serving.engine: logs its start and end, reports every step."""

    def train(report):
        _log(log, f"start {time.time():.6f}")
        try:
            for i in range(steps):
                time.sleep(step_s)
                report((i + 1) / steps, time.time())
            return "done"
        finally:
            _log(log, f"end {time.time():.6f}")

    return train


def engine_started_at(report) -> float:
    """A toy training that returns when it started (the worker's clock)."""
    return time.time()


def run_engine() -> dict:
    """The chosen engine through its adapter (toolbox/serving/engine.py): one worker, its own
    launcher process, progress through the scheduler's metadata, cancel by releasing the key."""
    res: dict = {}
    from toolbox.serving.engine import Engine

    t0 = time.perf_counter()
    eng = Engine(address="", workers=1)
    eng.client()
    res["start_s"] = time.perf_counter() - t0
    t = time.perf_counter()
    eng.warm().join()
    res["first_s"] = time.perf_counter() - t
    try:
        _measure_engine(eng, res)
    finally:
        eng.close()
    return res


def _measure_engine(eng, res) -> None:
    time.sleep(3)
    res["idle_mb"], res["procs"] = tree_pss_mb()
    res["rss_mb"] = tree_rss_mb()
    res["breakdown"] = breakdown()
    lat = []
    for i in range(10):
        t = time.time()
        job = eng.submit(f"start-{i}", engine_started_at)
        lat.append((job.result() - t) * 1000)
        job.release()
    res["start_ms"] = statistics.median(lat)
    for chunk in (64,):
        job = eng.submit("alloc", lambda report: task_allocate(400, chunk))
        job.result()
        job.release()
        time.sleep(3)
        res["trimmed_mb"] = tree_pss_mb()[0] - res["idle_mb"]

    log = tempfile.mktemp(prefix="engine_adapter_")
    delays, cancels = [], []
    for rep in range(3):
        job = eng.submit(f"progress-{rep}", engine_training(log, 400, 0.025))
        n = 0
        while n < 40:
            if job.poll():
                delays.append((time.time() - job.partial) * 1000)
                n += 1
            time.sleep(0.005)
        t = time.time()
        job.cancel()
        while "end" not in _read(log):
            time.sleep(0.002)
        cancels.append((float(_read(log).split()[-1]) - t) * 1000)
        os.unlink(log)
    res["progress_ms"] = (statistics.median(delays), _p95(delays))
    res["cancel_ms"] = statistics.median(cancels)
    res["plain_cancel"] = "stops"  # releasing the key: the next report raises Cancelled

    addr = eng.client().scheduler.address
    job = eng.submit("train-abc123", lambda report: dedup_task(log, 4.0))
    other = _second_process(
        "import time; t = time.time()\n"
        "from toolbox.serving.engine import Engine\n"
        f"e = Engine(address={addr!r}); e.client()\n"
        "print('ATTACH', time.time() - t, flush=True)\n"
        "from benchmarks.engine_compare import dedup_task\n"
        f"j = e.submit('train-abc123', lambda report: dedup_task({log!r}, 4.0))\n"
        "print(j.result()); e.close()\n")
    job.result()
    job.release()
    res["dedup"] = _read(log).count("run ")
    res["attach_s"] = other
    os.unlink(log)


# ---------------------------------------------------------------------------- Ray
def run_ray() -> dict:
    res: dict = {}
    t0 = time.perf_counter()
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             configure_logging=True, logging_level="ERROR")
    ray.get(ray.remote(lambda: 0).remote())  # a worker is up
    res["start_s"] = time.perf_counter() - t0
    try:
        _measure_ray(ray, res)
    finally:
        ray.shutdown()
    return res


def _measure_ray(ray, res) -> None:
    time.sleep(3)
    res["cold_mb"] = tree_pss_mb()[0]
    imp = ray.remote(num_cpus=1)(task_import_torch)
    t = time.time()
    ray.get(imp.remote())
    res["first_s"] = time.time() - t
    ray.get([imp.remote() for _ in range(2)])
    time.sleep(3)
    res["idle_mb"], res["procs"] = tree_pss_mb()
    res["rss_mb"] = tree_rss_mb()
    res["breakdown"] = breakdown()

    at = ray.remote(num_cpus=1)(task_started_at)
    lat = []
    for i in range(10):
        t = time.time()
        lat.append((ray.get(at.remote(i)) - t) * 1000)
    res["start_ms"] = statistics.median(lat)

    alloc = ray.remote(num_cpus=1)(task_allocate)
    for chunk in (4096, 64):
        ray.get(alloc.remote(400, chunk))
        time.sleep(3)
        res[f"kept{chunk}_mb"] = tree_pss_mb()[0] - res["idle_mb"]
    ray.get([ray.remote(num_cpus=1)(malloc_trim).remote() for _ in range(2)])
    ray.get(alloc.remote(400, 64, True))
    time.sleep(3)
    res["trimmed_mb"] = tree_pss_mb()[0] - res["idle_mb"]

    fresh_task = ray.remote(num_cpus=1, max_calls=1)(task_import_torch)
    fresh = []
    for _ in range(6):  # the first calls may land on the warm workers (which then exit)
        t = time.time()
        _, had, ready = ray.get(fresh_task.remote())
        if not had:
            fresh.append(ready - t)
    res["fresh_s"] = statistics.median(fresh)

    @ray.remote(num_cpus=1)
    def progress(steps: int, step_s: float, log: str):
        _log(log, f"start {time.time():.6f}")
        try:
            for i in range(steps):
                time.sleep(step_s)
                yield (i, time.time())
        finally:
            _log(log, f"end {time.time():.6f}")

    log = tempfile.mktemp(prefix="engine_ray_")
    delays, cancels = [], []
    for _ in range(3):
        gen = progress.remote(400, 0.025, log)
        for _ in range(40):
            i, sent = ray.get(next(gen))
            delays.append((time.time() - sent) * 1000)
        t = time.time()
        ray.cancel(gen)
        while "end" not in _read(log):
            time.sleep(0.002)
        end = float(_read(log).split()[-1])
        cancels.append((end - t) * 1000)
        os.unlink(log)
    res["progress_ms"] = (statistics.median(delays), _p95(delays))
    res["cancel_ms"] = statistics.median(cancels)
    res["plain_cancel"] = "stops"  # ray.cancel interrupts the running task (measured just above)

    # dedup: a named actor per request; the second process gets the same actor
    @ray.remote(num_cpus=1, max_restarts=0)
    class Training:
        def __init__(self):
            self.ran = False

        def run(self, log: str, seconds: float) -> str:
            if not self.ran:
                self.ran = True
                return dedup_task(log, seconds)
            return "already ran"

    t = time.time()
    actor = Training.options(name="train-abc123", namespace="rl", get_if_exists=True).remote()
    ray.get(actor.__ray_ready__.remote())
    res["actor_s"] = time.time() - t
    ref = actor.run.remote(log, 4.0)
    addr = ray.get_runtime_context().gcs_address
    other = _second_process(
        "import time; t = time.time()\n"
        "import ray\n"
        f"ray.init(address={addr!r}, namespace='rl', log_to_driver=False, logging_level='ERROR')\n"
        "print('ATTACH', time.time() - t, flush=True)\n"
        "a = ray.get_actor('train-abc123')\n"
        f"print(ray.get(a.run.remote({log!r}, 4.0)))\n"
        "ray.shutdown()\n")
    ray.get(ref)
    res["dedup"] = _read(log).count("run ")
    res["attach_s"] = other
    ray.kill(actor)
    os.unlink(log)


# ---------------------------------------------------------------------------- driver
def _p95(values: list[float]) -> float:
    return sorted(values)[max(0, round(0.95 * len(values)) - 1)]


def _second_process(code: str) -> float:
    """Run ``code`` in a new Python process (a second app process): seconds it took to connect."""
    out = subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, timeout=120,
                         capture_output=True, text=True)
    return float(next(x for x in out.stdout.splitlines() if x.startswith("ATTACH")).split()[1])


def breakdown(pid: int | None = None) -> dict[str, float]:
    """PSS in MB by process over the tree of ``pid`` (default: this process): ``comm`` and the
    start of its command line."""
    out: dict[str, float] = {}
    for p in _tree(pid or os.getpid()):
        try:
            comm = Path(f"/proc/{p}/comm").read_text().strip()
            cmd = Path(f"/proc/{p}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        name = "client" if p == (pid or os.getpid()) else f"{comm}: {cmd[:60]}"
        out[name] = round(out.get(name, 0.0) + _pss_mb(p), 1)
    return out


def child(config: str) -> dict:
    import torch  # noqa: F401  (the web process has torch imported)

    res = {"config": config}
    res["client_mb"] = tree_pss_mb()[0]
    if config == "engine":
        res.update(run_engine())
    else:
        res.update(run_dask(int(config[-1])) if config.startswith("dask") else run_ray())
    time.sleep(1)
    res["left_procs"] = tree_pss_mb()[1] - 1
    res["left"] = [k for k in breakdown() if k != "client"]
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--child", choices=CONFIGS)
    ap.add_argument("--only", default=",".join(CONFIGS))
    ap.add_argument("--json")
    args = ap.parse_args()
    os.environ["PYTHONPATH"] = str(ROOT)  # workers import this module's tasks by name
    if args.child:
        sys.path.insert(0, str(ROOT))
        print("RESULT " + json.dumps(child(args.child)), flush=True)
        return
    rows = []
    for config in args.only.split(","):
        out = subprocess.run([sys.executable, "-m", "benchmarks.engine_compare", "--child", config],
                             cwd=ROOT, capture_output=True, text=True, timeout=900, check=False)
        line = [x for x in out.stdout.splitlines() if x.startswith("RESULT ")]
        if not line:
            print(f"{config}: failed\n{out.stderr[-3000:]}", file=sys.stderr)
            continue
        rows.append(json.loads(line[-1][7:]))
        print(json.dumps(rows[-1]), flush=True)
    _table(rows)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))


def _table(rows: list[dict]) -> None:
    cols = [("config", "{}"), ("client_mb", "{:.0f}"), ("start_s", "{:.1f}"), ("idle_mb", "{:.0f}"),
            ("procs", "{}"), ("cold_mb", "{:.0f}"), ("first_s", "{:.2f}"), ("start_ms", "{:.1f}"),
            ("fresh_s", "{:.2f}"),
            ("kept4096_mb", "{:.0f}"), ("kept64_mb", "{:.0f}"),
            ("trimmed_mb", "{:.0f}"),
            ("rss_mb", "{:.0f}"), ("progress_ms", "{0[0]:.1f}/{0[1]:.1f}"),
            ("cancel_ms", "{:.0f}"), ("plain_cancel", "{}"), ("dedup", "{}"),
            ("attach_s", "{:.1f}"),
            ("left_procs", "{}")]
    cells = [[c for c, _ in cols]] + [[f.format(r[c]) if c in r else "-" for c, f in cols]
                                      for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(cols))]
    for row in cells:
        print("  ".join(v.rjust(w) for v, w in zip(row, widths)))


if __name__ == "__main__":
    main()
