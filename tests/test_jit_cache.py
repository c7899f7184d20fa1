"""The kernel cache cannot break the app: a damaged entry is discarded and rebuilt, an unwritable
folder is replaced by a private one, and with no writable folder at all the kernels compile without
a cache and the server trains on the readable paths (toolbox/jit.py, toolbox/warm_up.py).

Every case runs in a child process with ``RL_TOOLBOX_NUMBA_CACHE`` pointing to a temporary copy, on
two small kernels of the app (one per compiled path; ``tests/kernel_targets.py``): seconds, not the
minute the full warm-up takes on an empty cache."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # each test compiles the kernels in a subprocess with a fresh cache

ROOT = Path(__file__).resolve().parent.parent
RUN = "import json; from tests.kernel_targets import outputs; print('OUT' + json.dumps(outputs()))"
NOBODY = 65534


def child(code: str, cache: Path | None, home: Path | None = None, user: int | None = None,
          check: bool = True) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter at the repository root with the kernel cache at ``cache``
    (unset: the default under ``home``), as ``user`` (root only: another user, for whom the folders
    are read-only)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    env.pop("RL_TOOLBOX_NUMBA_CACHE", None)
    if cache is not None:
        env["RL_TOOLBOX_NUMBA_CACHE"] = str(cache)
    if home is not None:
        env["HOME"] = str(home)
    cmd = [sys.executable, "-c", code]
    if user is not None:
        cmd = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", *cmd]
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    if check:
        assert done.returncode == 0, done.stdout + done.stderr
    return done


def outputs_of(done: subprocess.CompletedProcess) -> dict:
    line = next(line for line in done.stdout.splitlines() if line.startswith("OUT"))
    return json.loads(line[3:])


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, dict]:
    """A cache holding the two kernels, and what they compute."""
    cache = tmp_path_factory.mktemp("cache")
    done = child(RUN, cache)
    files = sorted(cache.rglob("*.nb[ic]"))
    assert {f.suffix for f in files} == {".nbi", ".nbc"}, files
    return cache, outputs_of(done)


def cache_files(cache: Path) -> list[Path]:
    return sorted(p.relative_to(cache) for p in cache.rglob("*.nb[ic]"))


def test_the_cache_is_used(built):
    """A second process loads the kernels instead of compiling them: no file is written again."""
    cache, expected = built
    before = {p: (cache / p).stat().st_mtime_ns for p in cache_files(cache)}
    assert outputs_of(child(RUN, cache)) == expected
    assert {p: (cache / p).stat().st_mtime_ns for p in cache_files(cache)} == before


def damaged_copy(cache: Path, name: Path, keep: float, where: Path) -> tuple[Path, int]:
    """A copy of ``cache`` in ``where`` with the file ``name`` cut to ``keep`` of its size; returns
    the copy and the file's whole size."""
    copy = where / name.as_posix().replace("/", "_")
    shutil.copytree(cache, copy)
    whole = (cache / name).read_bytes()
    (copy / name).write_bytes(whole[: int(len(whole) * keep)])
    return copy, len(whole)


def test_each_truncated_cache_file_is_discarded_and_rebuilt(built, tmp_path):
    """Every file of the cache in turn, indexes (.nbi) and machine code (.nbc), cut to half its size
    (today: "UnpicklingError: pickle data was truncated" on every training): the kernels compute the
    same numbers, the file is written again whole, and the log names it."""
    cache, expected = built
    names = cache_files(cache)
    assert any(n.suffix == ".nbi" for n in names) and any(n.suffix == ".nbc" for n in names)
    for name in names:
        copy, size = damaged_copy(cache, name, 0.5, tmp_path)
        done = child(RUN, copy)
        assert outputs_of(done) == expected, name
        assert "discarded" in done.stderr and name.name in done.stderr, done.stderr
        assert (copy / name).stat().st_size == size, f"{name} was not rebuilt"


@pytest.mark.parametrize("suffix", [".nbi", ".nbc"])
def test_an_empty_cache_file_is_discarded_and_rebuilt(built, tmp_path, suffix):
    cache, expected = built
    name = next(n for n in cache_files(cache) if n.suffix == suffix)
    copy, size = damaged_copy(cache, name, 0.0, tmp_path)
    assert outputs_of(child(RUN, copy)) == expected
    assert (copy / name).stat().st_size == size


def test_without_the_check_a_truncated_index_breaks_the_kernel(built, tmp_path):
    """The check above is what saves the app: the same damage done after it ran (after
    ``toolbox.jit`` was imported) makes the kernel fail as it did before."""
    cache, _ = built
    index = next(n for n in cache_files(cache) if n.suffix == ".nbi")
    shutil.copytree(cache, tmp_path / "c")
    path = tmp_path / "c" / index
    damage = (f"import toolbox.jit, pathlib; p = pathlib.Path({str(path)!r}); "
              "p.write_bytes(p.read_bytes()[:50]); ")
    done = child(damage + RUN, tmp_path / "c", check=False)
    assert done.returncode != 0, done.stdout
    assert "pickle data was truncated" in done.stderr, done.stderr


# ---- read-only folders: `docker run --read-only`, a read-only home holding the cache ---

def _mount_namespaces() -> bool:
    """Whether this process may make folders read-only for a child in its own mount namespace
    (root)."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return False
    return subprocess.run(["unshare", "-m", "true"], capture_output=True).returncode == 0


def read_only_child(code: str, home: Path, read_only: list[Path], env_extra: dict | None = None
                    ) -> subprocess.CompletedProcess:
    """``code`` in a child whose ``read_only`` folders cannot be written: bind-mounted read-only in
    a private mount namespace (as root: what ``docker run --read-only`` does), else write permission
    removed."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1", HOME=str(home),
               NUMBA_DEBUG_CACHE="1", **(env_extra or {}))
    env.pop("RL_TOOLBOX_NUMBA_CACHE", None)
    cmd = [sys.executable, "-c", code]
    if _mount_namespaces():
        mounts = " && ".join(f"mount --bind '{p}' '{p}' && mount -o remount,bind,ro '{p}' '{p}'"
                             for p in read_only)
        cmd = ["unshare", "-m", "sh", "-c", mounts + ' && exec "$@"', "sh", *cmd]
    else:
        for p in read_only:
            for sub in [p, *p.rglob("*")]:
                if not sub.is_symlink():
                    sub.chmod(sub.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    try:
        return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    finally:
        if not _mount_namespaces():
            for p in read_only:
                for sub in [p, *p.rglob("*")]:
                    if not sub.is_symlink():
                        sub.chmod(sub.stat().st_mode | stat.S_IWUSR)


@pytest.fixture
def read_only_home(built, tmp_path) -> Path:
    """A home folder holding the built cache where the app looks for it
    (``~/.cache/rl-toolbox/numba``)."""
    cache, _ = built
    home = tmp_path / "home"
    shutil.copytree(cache, home / ".cache" / "rl-toolbox" / "numba")
    return home


def test_read_only_home_and_app_files_load_the_cache_from_a_private_copy(built, read_only_home):
    """Today: "cannot cache function 'tanh32': no locator available" at start. Now the read-only
    cache is copied to a private ``mkdtemp`` folder (mode 700, not a fixed name in the shared
    temporary folder), its kernels are loaded, not compiled, and the log says why."""
    _, expected = built
    code = ("import os, stat, toolbox.jit as j; print('DIR', j.CACHE_DIR); "
            "print('MODE', oct(stat.S_IMODE(os.stat(j.CACHE_DIR.parent).st_mode))); " + RUN)
    done = read_only_child(code, read_only_home, [read_only_home, ROOT])
    assert done.returncode == 0, done.stdout + done.stderr
    assert outputs_of(done) == expected
    private = Path(next(line[4:] for line in done.stdout.splitlines() if line.startswith("DIR ")))
    assert private.parent.name.startswith("rl-toolbox-numba-")
    assert not private.is_relative_to(read_only_home)
    assert "MODE 0o700" in done.stdout
    assert "not writable" in done.stderr and str(private) in done.stderr, done.stderr
    assert "data saved" not in done.stdout, "the kernels were compiled again instead of loaded"
    shutil.rmtree(private.parent, ignore_errors=True)


NO_TEMP = ("import tempfile\n"
           "def refuse(*a, **k):\n"
           "    raise PermissionError(30, 'Read-only file system', '/tmp')\n"
           "tempfile.mkdtemp = refuse\n")
TRAIN_READABLE = """
import torch
from toolbox import jit, warm_up
from toolbox.ppo.config import PPOConfig
from toolbox.ppo.train import train
from toolbox.dial.compiled import choose_backend
from toolbox.dial.config import DialConfig
print('DIR', jit.CACHE_DIR, jit._JIT['cache'])
status = warm_up.warm(['tests.kernel_targets:small'])
print('STATUS', status.state, status.reason)
r = train(PPOConfig(num_envs=2, num_steps=16, total_timesteps=64), [0])[0]
print('PPO', r.backend, len(r.iteration_steps))
print('DIAL', choose_backend(DialConfig(), torch.device('cpu')))
"""


def test_no_writable_folder_at_all_trains_on_the_readable_path(read_only_home, tmp_path):
    """Read-only home, app files and temporary folder: the kernels are decorated without a cache (no
    error at import), the warm-up marks them unavailable, PPO and DIAL train on the readable paths,
    the log says why."""
    temp = [Path(p) for p in ("/tmp", "/var/tmp", "/usr/tmp") if Path(p).is_dir()]
    extra = {}
    if not _mount_namespaces():  # this user cannot make the shared temporary folder read-only
        code = NO_TEMP + TRAIN_READABLE
        temp = []
    else:
        code = TRAIN_READABLE
        extra = {"TMPDIR": str(tmp_path)}  # read-only too: tmp_path is under /tmp
    done = read_only_child(code, read_only_home, [read_only_home, ROOT, *temp], extra)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "DIR None False" in done.stdout
    assert "STATUS unavailable no writable folder" in done.stdout
    assert "PPO tensor 2" in done.stdout and "DIAL tensor" in done.stdout
    assert "no disk cache" in done.stderr, done.stderr
    assert "compiled kernels unavailable" in done.stderr, done.stderr


def test_two_checkouts_with_the_same_sources_get_their_own_cache_folder(tmp_path):
    """Numba files kernels under their source folder's path: a second checkout shares none of this
    one's entries, so it must not share the folder (and the warm-up's marker in it) either."""
    from toolbox import jit

    here = Path(jit.__file__).resolve().parent
    copies = [tmp_path / "a" / "toolbox", tmp_path / "b" / "toolbox"]
    for copy in copies:
        for name in jit.KERNEL_SOURCES:
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(here / name, copy / name)
    first, second = (jit.sources_hash(c) for c in copies)
    assert first != second
    assert jit.sources_hash(copies[0]) == first  # the same checkout finds its own folder again
    (copies[0] / "kernels.py").write_text((here / "kernels.py").read_text() + "\n# edited\n")
    assert jit.sources_hash(copies[0]) != first  # an edited source compiles afresh
