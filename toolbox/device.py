"""The one place that chooses the compute device and the thread counts.

Order of precedence:
1. the environment variable ``RL_TOOLBOX_DEVICE`` (``auto``, ``cpu``, ``cuda`` or ``cuda:N``);
2. otherwise ``cuda`` when ``torch.cuda.is_available()``, else ``cpu``.

An override that is malformed, or that asks for CUDA on a machine without it, raises
``ValueError`` with a sentence saying what to change.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import threading
from typing import Iterator

import torch

ENV_VAR = "RL_TOOLBOX_DEVICE"
_VALID = re.compile(r"^(auto|cpu|cuda(:\d+)?)$")


def resolve_device(spec: str | torch.device | None = None) -> torch.device:
    """Turn a device request into a ``torch.device``.

    ``spec`` may be a ``torch.device``, a string (``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:1"``)
    or ``None``, which reads ``RL_TOOLBOX_DEVICE`` and falls back to ``"auto"``.
    """
    if isinstance(spec, torch.device):
        spec = str(spec)
    source = "device argument"
    if spec is None:
        spec = os.environ.get(ENV_VAR, "").strip() or "auto"
        source = f"environment variable {ENV_VAR}"
    text = str(spec).strip().lower()
    if not _VALID.match(text):
        raise ValueError(
            f"{source} is {spec!r}, which is not a device. Use 'auto', 'cpu', 'cuda' or "
            f"'cuda:N' (for example `{ENV_VAR}=cpu`)."
        )
    if text == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if text.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ValueError(
                f"{source} asks for {text!r}, but this machine has no usable CUDA GPU "
                f"(torch {torch.__version__}, CUDA build: {torch.version.cuda or 'no'}). "
                f"Unset {ENV_VAR} or set it to 'cpu'."
            )
        index = int(text.split(":")[1]) if ":" in text else 0
        if index >= torch.cuda.device_count():
            raise ValueError(
                f"{source} asks for {text!r}, but only {torch.cuda.device_count()} CUDA "
                f"device(s) exist (cuda:0 .. cuda:{torch.cuda.device_count() - 1})."
            )
        return torch.device(text)
    return torch.device("cpu")


def default_device() -> torch.device:
    """The device backend functions use when called with ``device=None``."""
    return resolve_device(None)


def device_label(device: str | torch.device | None = None) -> str:
    """A short human description, e.g. ``"CUDA · NVIDIA H100"`` or ``"CPU · 2 threads"``."""
    dev = resolve_device(device)
    if dev.type == "cuda":
        return f"CUDA · {torch.cuda.get_device_name(dev)}"
    return f"CPU · {torch.get_num_threads()} threads"


def _read(path) -> str | None:
    try:
        with open(path, encoding="ascii") as fh:
            return fh.read().strip()
    except OSError:
        return None


def cgroup_cpu_limit(cgroup_root: str = "/sys/fs/cgroup") -> float | None:
    """CPUs this process may use under its container's CPU quota, or ``None`` when unlimited.

    cgroup v2: ``cpu.max`` holds ``"<quota> <period>"`` in microseconds (``"max 100000"`` = no
    quota); cgroup v1: ``cpu/cpu.cfs_quota_us`` (−1 = no quota) over ``cpu/cpu.cfs_period_us``.
    ``docker run --cpus 1.5`` writes ``150000 100000`` → 1.5.
    """
    v2 = _read(os.path.join(cgroup_root, "cpu.max"))
    if v2:
        parts = v2.split()
        if len(parts) == 2 and parts[0] != "max":
            try:
                quota, period = int(parts[0]), int(parts[1])
            except ValueError:
                return None
            return quota / period if quota > 0 and period > 0 else None
        return None
    quota, period = (
        _read(os.path.join(cgroup_root, "cpu", name))
        for name in ("cpu.cfs_quota_us", "cpu.cfs_period_us")
    )
    try:
        q, p = int(quota or -1), int(period or 0)
    except ValueError:
        return None
    return q / p if q > 0 and p > 0 else None


def available_cpus(cgroup_root: str = "/sys/fs/cgroup") -> int:
    """Whole CPUs this process can really use: the smallest of the cores it may run on
    (``sched_getaffinity``) and its container's CPU quota (rounded up, at least 1).

    ``os.cpu_count()`` reports the *host's* cores: in a container limited to 2 CPUs on a 64-core
    host it says 64, and sizing the training pool by it would start 32 trainings on 2 CPUs.
    """
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    limit = cgroup_cpu_limit(cgroup_root)
    if limit is not None:
        cores = min(cores, max(1, math.ceil(limit - 1e-9)))
    return max(1, cores)


def training_slots(env: dict | None = None, cgroup_root: str = "/sys/fs/cgroup") -> int:
    """How many trainings a server runs at once: ``RL_TOOLBOX_MAX_TRAININGS`` when set to a positive
    whole number, else one per two usable CPUs (:func:`available_cpus`), at least one.

    Why one per two: each training's thread and the pages' reruns share the CPUs; more
    concurrent trainings than that only make every one of them slower.
    """
    value = (env if env is not None else os.environ).get("RL_TOOLBOX_MAX_TRAININGS", "").strip()
    if value.isdigit() and int(value) > 0:
        return int(value)
    return max(1, available_cpus(cgroup_root) // 2)


def training_threads(env: dict | None = None, cgroup_root: str = "/sys/fs/cgroup") -> int:
    """Torch intra-op threads for one training: ``RL_TOOLBOX_JOB_THREADS`` when set to a positive
    whole number, else 1; never more than the usable CPUs (:func:`available_cpus`).

    Why 1: the trainings are thousands of tiny tensor ops; OpenMP threads spin-waiting for each
    other against the pages' reruns made one PPO run 9x slower on a loaded 2-core machine
    (benchmarks/ppo_throughput.py). More trainings use more cores through :func:`training_slots`.
    """
    value = (env if env is not None else os.environ).get("RL_TOOLBOX_JOB_THREADS", "").strip()
    wanted = int(value) if value.isdigit() and int(value) > 0 else 1
    return max(1, min(wanted, available_cpus(cgroup_root)))


_THREADS_LOCK = threading.Lock()


def _publish_default(n: int) -> None:
    # torch keeps one process-wide "threads for new threads" value, written by every
    # torch.set_num_threads and read by each thread on its first parallel operation; the calling
    # thread's own OpenMP setting is its own. A short-lived thread writes the process-wide value
    # back without touching the caller's setting (its own setting dies with it).
    helper = threading.Thread(target=torch.set_num_threads, args=(n,), name="torch-threads-default")
    helper.start()
    helper.join()


@contextlib.contextmanager
def thread_count(n: int) -> Iterator[int]:
    """Run the body with ``n`` torch threads in *this* thread only; yields the default it restores.

    ``torch.set_num_threads`` alone also becomes the default of every thread created afterwards (the
    server's page reruns run in new threads: after one training they would all run on the training's
    count). Here the default seen by new threads is put back at once, and this thread's own count at
    the end. A thread created in the instant between the two writes can still start with ``n``.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"a thread count must be a positive whole number; got {n!r}.")
    with _THREADS_LOCK:
        # reading first also makes torch initialise this thread now, from the current default,
        # rather than later from whatever the default is then
        default = torch.get_num_threads()
        torch.set_num_threads(n)
        _publish_default(default)
    try:
        yield default
    finally:
        with _THREADS_LOCK:
            torch.set_num_threads(default)


@contextlib.contextmanager
def torch_threads(n: int | None, name: str = "the number of torch threads") -> Iterator[int]:
    """Run the ``with`` block with ``n`` torch intra-op threads in this thread; restore afterwards.

    ``None`` leaves torch's setting as it is. Yields the count in force. Anything else than a
    positive whole number or ``None`` raises ``ValueError`` naming the setting as ``name``. The
    count is set through :func:`thread_count`, so threads created meanwhile (the server's page
    reruns) keep torch's default. Why set it at all: a small network's training is thousands of tiny
    tensor ops, and on a loaded small CPU OpenMP threads spin-waiting for each other made one PPO
    run 9x slower with 2 threads than with 1 (benchmarks/ppo_throughput.py).
    """
    if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 1):
        raise ValueError(f"{name} must be a positive whole number or None; got {n!r}.")
    if n is None:
        yield torch.get_num_threads()
        return
    with thread_count(n):
        yield torch.get_num_threads()
