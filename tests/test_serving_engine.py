"""The training engine (toolbox/serving/engine.py) on a local Dask cluster of one worker process.

Toy functions stand for trainings: they report progress, count their runs in a file, and stop
when ``report`` raises :class:`Cancelled`. A second :class:`Engine` connected to the same
scheduler plays a second app process (the scheduler sees two clients).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("distributed")

from toolbox.serving.cluster import (
    ENV_MEMORY,
    NO_SPILL,
    WORKER_MEMORY_MB,
    worker_memory_limit,
)
from toolbox.serving.engine import ENV_ADDRESS, Engine
from toolbox.serving.job import Cancelled
from toolbox.serving.remote import run_remote, run_remote_batch

pytestmark = pytest.mark.slow  # trainings in the engine's worker processes


def _wait_for(predicate, timeout: float = 10.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def counted(log: str, steps: int, step_s: float):
    """A toy training: log its start, report ``steps`` times, log how it ended, return its pid."""

    def train(report):
        with open(log, "a", encoding="ascii") as fh:
            fh.write("start\n")
        try:
            for i in range(steps):
                time.sleep(step_s)
                report((i + 1) / steps, {"step": i})
        except Cancelled:
            with open(log, "a", encoding="ascii") as fh:
                fh.write("cancelled\n")
            raise
        with open(log, "a", encoding="ascii") as fh:
            fh.write("done\n")
        return os.getpid()

    return train


def failing(report):
    """A toy training whose request is bad."""
    report(0.5)
    raise ValueError("Choose at least one seed.")


@pytest.fixture(scope="module")
def engine():
    eng = Engine(address="", workers=1)
    eng.warm().join()
    yield eng
    eng.close()


@pytest.fixture
def log(tmp_path) -> str:
    return str(tmp_path / "runs.log")


def _lines(log: str) -> list[str]:
    return Path(log).read_text(encoding="ascii").split() if os.path.exists(log) else []


def test_nothing_starts_before_the_first_training(monkeypatch):
    monkeypatch.delenv(ENV_ADDRESS, raising=False)
    eng = Engine()
    assert not eng.started and eng.address is None and eng.worker_pids() == []


def test_a_training_runs_in_a_worker_process_and_streams_its_progress(engine, log):
    job = engine.submit("toy-progress", counted(log, 4, 0.15))
    seen = list(job.updates(interval=0.05))
    pid = job.result(timeout=30)
    assert pid != os.getpid() and pid in engine.worker_pids()
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and 0 < len(fractions) <= 4
    assert seen[0][1] == {"step": round(fractions[0] * 4) - 1}
    job.release()


def test_identical_requests_from_two_app_processes_train_once(engine, log):
    other = Engine(address=engine.client().scheduler.address)
    try:
        first = engine.submit("toy-dedup", counted(log, 6, 0.1))
        assert _wait_for(lambda: "start" in _lines(log))
        second = other.submit("toy-dedup", counted(log, 6, 0.1))
        assert second.result(timeout=30) == first.result(timeout=30)
        assert _lines(log) == ["start", "done"]
        first.release()
        second.release()
    finally:
        other.close()


def test_a_cancelled_training_stops_at_its_next_report(engine, log):
    job = engine.submit("toy-cancel", counted(log, 600, 0.05))
    assert _wait_for(lambda: job.poll())
    t0 = time.monotonic()
    job.cancel()
    assert _wait_for(lambda: "cancelled" in _lines(log), timeout=5)
    assert time.monotonic() - t0 < 2.0
    again = engine.submit("toy-cancel", counted(log, 2, 0.05))  # asked again: trains again
    again.result(timeout=30)
    assert _lines(log)[-2:] == ["start", "done"]
    again.release()


def test_one_app_process_giving_up_does_not_stop_another_ones_training(engine, log):
    other = Engine(address=engine.client().scheduler.address)
    try:
        mine = engine.submit("toy-shared", counted(log, 600, 0.05))
        theirs = other.submit("toy-shared", counted(log, 600, 0.05))
        assert _wait_for(lambda: mine.poll())
        mine.cancel()
        time.sleep(0.5)
        assert _lines(log) == ["start"] and not theirs.done()
        theirs.cancel()
        assert _wait_for(lambda: "cancelled" in _lines(log), timeout=5)
    finally:
        other.close()


def test_a_paused_training_lets_a_short_one_use_its_worker(engine, tmp_path):
    long_log, short_log = str(tmp_path / "long.log"), str(tmp_path / "short.log")
    long = engine.submit("toy-long", counted(long_log, 60, 0.05))
    assert _wait_for(lambda: long.poll())
    long.pause()
    short = engine.submit("toy-short", counted(short_log, 2, 0.05))
    short.result(timeout=10)  # the only worker slot was free for it
    assert not long.done() and "done" not in _lines(long_log)
    long.resume()
    long.result(timeout=30)
    assert _lines(long_log) == ["start", "done"]
    long.release()
    short.release()


def test_a_bad_request_comes_back_with_its_message(engine):
    job = engine.submit("toy-bad", failing)
    with pytest.raises(ValueError, match="at least one seed"):
        job.result(timeout=30)
    job.release()


def test_the_cluster_setting_points_the_app_at_a_running_cluster(engine, monkeypatch, log):
    monkeypatch.setenv(ENV_ADDRESS, engine.client().scheduler.address)
    eng = Engine()
    try:
        assert eng.address == engine.client().scheduler.address
        job = eng.submit("toy-remote", counted(log, 1, 0.01))
        assert job.result(timeout=30) in engine.worker_pids()
        assert eng._cluster is None  # it started nothing of its own
        job.release()
    finally:
        eng.close()


def allocate(report):
    """Allocate ~300 MB in 64 kB tensors (as a training's many small ones), free them, report."""
    import torch

    held = [torch.ones(16 * 1024) for _ in range(300 * 16)]
    report(1.0)
    del held
    return os.getpid()


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc")
def test_memory_a_training_freed_goes_back_to_the_system(engine):
    pid = engine.worker_pids()[0]
    before = _rss_mb(pid)
    job = engine.submit("toy-memory", allocate)
    assert job.result(timeout=60) == pid
    job.release()
    assert _rss_mb(pid) - before < 60  # without malloc_trim: ~300 MB stays


def arenas_setting(report):
    """A toy training that returns its worker's malloc arena setting."""
    report(1.0)
    return os.environ.get("MALLOC_ARENA_MAX")


def test_the_local_cluster_s_workers_keep_two_malloc_arenas(engine, monkeypatch):
    # set at the cluster's start unless the app's own environment names one (toolbox/memory.py)
    expected = os.environ.get("MALLOC_ARENA_MAX") or "2"
    assert engine.submit("toy-arenas", arenas_setting).result(timeout=30) == expected


@pytest.mark.slow
def test_closing_ends_the_local_cluster_processes(monkeypatch):
    monkeypatch.delenv(ENV_ADDRESS, raising=False)
    eng = Engine(workers=1)
    eng.client()
    pids = [eng._cluster.proc.pid, *eng.worker_pids()]
    assert len(pids) == 2 and os.getpid() not in pids
    eng.close()
    assert _wait_for(lambda: not any(os.path.exists(f"/proc/{p}") for p in pids), timeout=10)


def test_run_remote_is_a_drop_in_for_calling_the_training(engine, log):
    seen = []
    pid = run_remote("toy-dropin", counted(log, 3, 0.1), lambda f, p=None: seen.append(f),
                     engine=engine, interval=0.02)
    assert pid in engine.worker_pids()
    assert seen and seen == sorted(seen)


def test_run_remote_pauses_the_training_while_the_local_report_blocks(engine, tmp_path):
    long_log, short_log = str(tmp_path / "long.log"), str(tmp_path / "short.log")
    done = []

    def report(fraction, partial=None):
        if not done:  # the runner's yield: a short training passes while this report waits
            job = engine.submit("toy-passing", counted(short_log, 2, 0.05))
            done.append(job.result(timeout=20))
            job.release()

    run_remote("toy-yielding", counted(long_log, 20, 0.05), report, engine=engine,
               interval=0.02, pause_after=0.2)
    assert done and _lines(long_log) == ["start", "done"] and _lines(short_log)[-1] == "done"


def test_run_remote_gives_the_training_up_when_the_local_report_cancels(engine, log):
    def report(fraction, partial=None):
        raise Cancelled("nobody watches")

    with pytest.raises(Cancelled):
        run_remote("toy-dropin-cancel", counted(log, 600, 0.05), report, engine=engine,
                   interval=0.02)
    assert _wait_for(lambda: "cancelled" in _lines(log), timeout=5)


@pytest.mark.slow
def test_the_local_cluster_ends_with_the_app_process_that_started_it(tmp_path):
    script = tmp_path / "app.py"
    script.write_text(
        "import os, sys, time\n"
        f"sys.path.insert(0, {str(Path(__file__).resolve().parent.parent)!r})\n"
        "from toolbox.serving.engine import Engine\n"
        "e = Engine(address='', workers=1)\n"
        "e.client()\n"
        "print(e._cluster.proc.pid, *e.worker_pids(), flush=True)\n"
        "time.sleep(120)\n")
    app = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        pids = [int(p) for p in app.stdout.readline().split()]
        assert len(pids) == 2
    finally:
        app.kill()  # no clean shutdown: the launcher sees its stdin close
        app.wait()
    assert _wait_for(lambda: not any(os.path.exists(f"/proc/{p}") for p in pids), timeout=20)


def die(report):
    """A toy training whose process ends (as when the system kills it for memory)."""
    report(0.5)
    os._exit(1)


def test_a_training_whose_process_dies_fails_with_a_sentence(engine):
    job = engine.submit("toy-die", die)
    with pytest.raises(ValueError, match="process ended"):
        job.result(timeout=60)
    job.release()
    assert _wait_for(lambda: len(engine.worker_pids()) == 1, timeout=30)  # its nanny restarted it


@pytest.mark.slow
def test_a_local_cluster_whose_process_ended_is_started_again(monkeypatch, log):
    monkeypatch.delenv(ENV_ADDRESS, raising=False)
    eng = Engine(workers=1)
    try:
        eng.client()
        eng._cluster.proc.kill()
        eng._cluster.proc.wait()
        job = eng.submit("toy-again", counted(log, 1, 0.01))
        assert job.result(timeout=60) in eng.worker_pids()
    finally:
        eng.close()


def batch_of_counters(payloads, reports):
    """A toy ``run_batch``: request i counts to ``payloads[i]`` steps; a dropped one stops."""
    results, live = [None] * len(payloads), set(range(len(payloads)))
    for step in range(max(payloads)):
        if not live:
            break
        time.sleep(0.05)
        for i in sorted(live):
            try:
                reports[i](min(step + 1, payloads[i]) / payloads[i], step)
            except Cancelled:
                live.discard(i)
                continue
            if step + 1 >= payloads[i]:
                results[i] = (i, os.getpid())
                live.discard(i)
    return results


def test_run_remote_batch_is_a_drop_in_for_a_batch_and_drops_one_request(engine):
    seen = {0: [], 1: []}

    def report_for(i):
        def report(fraction, partial=None):
            seen[i].append(fraction)
            if i == 1 and fraction >= 0.2:
                raise Cancelled("nobody watches request 1")

        return report

    results = run_remote_batch(["req-a", "req-b"], batch_of_counters, [6, 40],
                               [report_for(0), report_for(1)], engine=engine, interval=0.02)
    assert results[0] == (0, results[0][1]) and results[0][1] in engine.worker_pids()
    assert results[1] is None  # dropped: run_batch saw Cancelled from its report
    assert seen[0][-1] == 1.0 and seen[1] and max(seen[1]) < 0.5


def test_each_worker_of_the_local_cluster_has_the_memory_limit(engine):
    limits = engine.client().run(lambda dask_worker: dask_worker.memory_manager.memory_limit)
    assert set(limits.values()) == {WORKER_MEMORY_MB * 2**20}


def test_the_local_cluster_s_workers_spill_nothing_to_disk(engine):
    # spill files were named after the task key: a request's key is longer than a file name may be
    spill = engine.client().run(lambda dask_worker: (
        dask_worker.memory_manager.memory_target_fraction,
        dask_worker.memory_manager.memory_spill_fraction))
    assert set(spill.values()) == {(False, False)}


def test_serve_sh_gives_its_workers_the_same_settings():
    script = (Path(__file__).resolve().parent.parent / "deploy" / "serve.sh").read_text()
    for name, value in NO_SPILL.items():
        env = "DASK_" + name.upper().replace(".", "__").replace("-", "_")
        assert f"{env}={value}" in script


def hog(report):
    """A toy training that holds ~700 MB (written, so resident) until its worker is stopped."""
    held = b"\x01" * (700 * 2**20)
    time.sleep(30)
    report(1.0)
    return len(held)


@pytest.mark.slow
def test_a_training_over_the_workers_memory_limit_fails_with_a_sentence(monkeypatch):
    monkeypatch.delenv(ENV_ADDRESS, raising=False)
    monkeypatch.setenv(ENV_MEMORY, "600")  # the cluster's child reads it when it starts
    eng = Engine(workers=1)
    try:
        job = eng.submit("toy-hog", hog)
        t0 = time.monotonic()
        with pytest.raises(ValueError, match="out of memory"):
            job.result(timeout=60)
        assert time.monotonic() - t0 < 25  # stopped by the nanny, not by the toy's own end
        job.release()
        assert _wait_for(lambda: len(eng.worker_pids()) == 1, timeout=30)  # restarted
    finally:
        eng.close()


def test_the_memory_limit_setting():
    assert worker_memory_limit({}) == WORKER_MEMORY_MB * 2**20
    assert worker_memory_limit({ENV_MEMORY: " 1200 "}) == 1200 * 2**20
    assert worker_memory_limit({ENV_MEMORY: "0"}) is None  # Dask's default
    assert worker_memory_limit({ENV_MEMORY: "lots"}) == WORKER_MEMORY_MB * 2**20
