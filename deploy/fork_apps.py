"""Several app processes that share their imported modules: import once, then fork one Streamlit
server per port (like gunicorn's ``--preload``).

    python deploy/fork_apps.py --ports 8501,8502 [-- STREAMLIT FLAGS...]

Each app process holds torch, numba, pandas, plotly, Streamlit and the lessons' modules: ~270 MB
(PSS) before its first page, most of it written once at import and never again. Started one by
one (``streamlit run app.py`` per port) every process holds its own copy; forked from one process
that imported them, they share those pages copy-on-write (the sum of PSS over the processes counts
them once). This process imports the app's modules (everything ``ui/preload.py`` imports, except
what starts threads: a forked child has only the thread that forked), freezes them out of the
garbage collector (``gc.freeze``: a collection would otherwise write to every object's header and
copy its page), then forks one child per port, which runs ``streamlit run app.py --server.port
PORT`` exactly as the command line does (its first page run imports ``ui/preload.py``, which
starts the kernels' warm-up and the cluster link in that child).

Point the apps at one training cluster (``RL_TOOLBOX_CLUSTER``; ``deploy/serve.sh`` does): without
it each would start its own. SIGTERM or SIGINT stops every app; when one app exits, the others are
stopped and this process exits with its code. Linux and macOS (``os.fork``); never run a torch
computation here before the fork (its thread pools do not survive one).
"""

from __future__ import annotations

import argparse
import gc
import importlib
import logging
import os
import pkgutil
import signal
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SKIP = ("ui.preload",)
"""Modules not imported before the fork: importing them starts threads (each child imports them)."""


def preload() -> list[str]:
    """Import the app's modules into this process (not :data:`SKIP`); returns their names."""
    if ROOT not in sys.path:
        sys.path.insert(0, ROOT)
    # the backend's log goes to stderr, as ui/preload.py sets it (imported modules log already)
    if not logging.getLogger("toolbox").handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logging.getLogger("toolbox").addHandler(handler)
        logging.getLogger("toolbox").setLevel(logging.INFO)
    names = []
    # the app's big imports, and the cluster link, which each app would import on its first page
    # (distributed: +18 MB anonymous per app)
    for name in ("numpy", "pandas", "plotly.graph_objects", "plotly.io", "torch",
                 "streamlit", "streamlit.web.cli", "streamlit.web.bootstrap", "distributed",
                 "cloudpickle"):
        importlib.import_module(name)
        names.append(name)
    # as ui/preload.py: with a training cluster (the default) the kernel modules, and Numba with
    # them, stay out of the app processes; the in-process engine trains in them
    from toolbox.kernel_state import KERNEL_MODULES
    from toolbox.serving.engine import default_engine

    leave_out = set(SKIP) | (set(KERNEL_MODULES) if default_engine() is not None else set())
    for package in (importlib.import_module("toolbox"), importlib.import_module("ui")):
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            if info.name not in leave_out:
                importlib.import_module(info.name)
                names.append(info.name)
    return names


def _child(port: int, flags: list[str]) -> None:
    """In a forked child: run ``streamlit run app.py --server.port PORT FLAGS``; never returns (the
    child exits through ``SystemExit``, so its own exit handlers run: the kernels' compiler, the
    cluster link)."""
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, signal.SIG_DFL)
    try:
        os.chdir(ROOT)
        sys.argv = ["streamlit", "run", "app.py", "--server.port", str(port), *flags]
        from streamlit.web import cli

        cli.main(prog_name="streamlit")
    except SystemExit:
        raise
    except BaseException:  # noqa: BLE001 - reported, and the child ends with an error code
        import traceback

        traceback.print_exc()
        raise SystemExit(1) from None
    raise SystemExit(0)


def serve(ports: list[int], flags: list[str]) -> int:
    """Preload, fork one app per port, wait; returns the exit code of the first app to end."""
    t0 = time.perf_counter()
    names = preload()
    gc.collect()
    gc.freeze()
    print(f"fork_apps: {len(names)} modules imported in {time.perf_counter() - t0:.1f} s; "
          f"apps on ports {', '.join(map(str, ports))}", file=sys.stderr, flush=True)
    children: dict[int, int] = {}
    for port in ports:
        pid = os.fork()
        if pid == 0:
            _child(port, flags)
        children[pid] = port

    def stop(signum, _frame) -> None:
        for pid in children:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        if signum is not None:
            raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    code = 0
    try:
        pid, status = os.wait()
        code = os.waitstatus_to_exitcode(status)
        print(f"fork_apps: the app on port {children.pop(pid)} ended ({code}); stopping the others",
              file=sys.stderr, flush=True)
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    finally:
        stop(None, None)
        for pid in list(children):
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass
    return code


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    flags: list[str] = []
    if "--" in argv:
        at = argv.index("--")
        argv, flags = argv[:at], argv[at + 1:]
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ports", required=True, help="comma-separated ports, one app process each")
    args = ap.parse_args(argv)
    try:
        ports = [int(p) for p in args.ports.split(",") if p.strip()]
    except ValueError:
        ap.error(f"--ports takes numbers separated by commas; got {args.ports!r}")
    if not ports or any(not 0 < p < 65536 for p in ports) or len(set(ports)) != len(ports):
        ap.error(f"--ports takes distinct ports between 1 and 65535; got {args.ports!r}")
    return serve(ports, flags)


if __name__ == "__main__":
    sys.exit(main())
