"""A virtual environment built from ``requirements.txt`` alone, as a newcomer builds it.

The README's run command is ``pip install -r requirements.txt && streamlit run app.py``; the
Dockerfile runs the same install. :func:`build` does exactly that install in a new venv, so
a module the app imports but only ``requirements-dev.txt`` provides (scipy once) fails here
as it fails for a lecturer.

The venv is cached outside the checkout, under ``$RL_TOOLBOX_VENV_CACHE`` (default
``~/.cache/rl-toolbox``), keyed by the hash of ``requirements.txt``, the Python version and
the machine: a changed file builds a new one; an unchanged one costs nothing after the first
build. The build starts in a background thread when the test is collected (tests/conftest.py)
so that it overlaps the unit tests.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import platform
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REQUIREMENTS = ROOT / "requirements.txt"
INSTALL_COMMAND = ("pip", "install", "-r", "requirements.txt")
"""The README's and the Dockerfile's install command (tests/e2e/test_fresh_install.py checks both
say it)."""


def cache_root() -> Path:
    return Path(os.environ.get("RL_TOOLBOX_VENV_CACHE") or Path.home() / ".cache" / "rl-toolbox")


def venv_path() -> Path:
    h = hashlib.sha256(REQUIREMENTS.read_bytes())
    h.update(f"{sys.version}|{platform.machine()}|{sys.platform}".encode())
    return cache_root() / f"fresh-venv-{h.hexdigest()[:16]}"


def python_of(venv: Path) -> Path:
    return venv / "bin" / "python"


def _install_env() -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV",
                                                            "PYTHONHOME")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    # A machine that reaches PyPI but not PyTorch's CPU index (CI here) would otherwise retry that
    # index five times for every package: 9.5 min instead of about 2 (measured). See README.
    env.setdefault("PIP_RETRIES", "0")
    return env


def build(venv: Path) -> float:
    """Create ``venv`` and run the README's install in it (skipped when already complete).

    Returns the seconds spent (0 when cached). Raises ``RuntimeError`` with the end of pip's log.
    """
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(venv.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two test runs on one machine build it once
        done = venv / ".complete"
        if done.exists():
            return 0.0
        t0 = time.monotonic()
        shutil.rmtree(venv, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        log_path = venv / "pip-install.log"
        with open(log_path, "w") as log:
            proc = subprocess.run([str(python_of(venv)), "-m", *INSTALL_COMMAND], cwd=ROOT,
                                  env=_install_env(), stdout=log, stderr=subprocess.STDOUT)
        seconds = time.monotonic() - t0
        if proc.returncode != 0:
            tail = log_path.read_text(errors="replace")[-3000:]
            raise RuntimeError(
                "`pip install -r requirements.txt` failed "
                f"in a fresh venv ({seconds:.0f} s):\n{tail}")
        done.write_text(f"{seconds:.1f}\n")
        return seconds


_thread: threading.Thread | None = None
_outcome: dict = {}


def start_background_build() -> None:
    """Start :func:`build` in a background thread (once)."""
    global _thread
    if _thread is not None:
        return

    def work():
        try:
            _outcome["seconds"] = build(venv_path())
        except BaseException as err:  # noqa: BLE001 - reported by wait()
            _outcome["error"] = err

    _thread = threading.Thread(target=work, name="fresh-venv-build", daemon=True)
    _thread.start()


def wait(timeout: float = 1800) -> tuple[Path, float]:
    """The built venv and the seconds its build took (0 = cached); raises what the build raised."""
    start_background_build()
    _thread.join(timeout)
    if _thread.is_alive():
        raise TimeoutError(f"the fresh venv was not built within {timeout:.0f} s")
    if "error" in _outcome:
        raise _outcome["error"]
    return venv_path(), _outcome.get("seconds", 0.0)
