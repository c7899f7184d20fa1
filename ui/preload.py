"""Import every heavy module once, from the top of ``app.py``, before any page runs.

Thirty students opening one link on a cold server start thirty script threads at once, each
importing what its page needs. Under ``benchmarks/classroom_load.py`` plotly's lazy
``import_module("pandas")`` in one thread received the *partially initialised* pandas that
another thread was still importing (``AttributeError: partially initialized module 'pandas' has
no attribute 'Series'``): Python hands out a half-imported module when waiting for it could
deadlock on import locks. Importing everything here, where a script thread holds no other import
lock, makes the first thread do the work and the others wait for it; later runs find the modules
in ``sys.modules`` and pay nothing.
"""

from __future__ import annotations

import gc
import importlib
import logging
import pkgutil
from collections.abc import Collection

# First, before the big imports allocate: at most two glibc malloc arenas (Streamlit runs every
# session's script in a thread of its own, and each thread could get an arena that keeps what it
# freed; toolbox/memory.py).
from toolbox import memory

memory.limit_arenas()

import numpy  # noqa: E402, F401
import pandas  # noqa: E402, F401
import plotly.graph_objects  # noqa: E402, F401
import plotly.io  # noqa: E402, F401
import torch  # noqa: E402, F401

import toolbox  # noqa: E402
import ui  # noqa: E402

# The backend logs what the server should know (the kernel cache's fallbacks, the compile): to the
# server's stderr, set before the first toolbox import so that the cache's own checks are seen too.
if not logging.getLogger("toolbox").handlers:
    _handler = logging.StreamHandler()
    _handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.getLogger("toolbox").addHandler(_handler)
    logging.getLogger("toolbox").setLevel(logging.INFO)


def preload(leave_out: Collection[str] = ()) -> list[str]:
    """Import every module of ``toolbox`` and ``ui`` but those named in ``leave_out``; returns the
    names imported."""
    names = []
    for package in (toolbox, ui):
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            if info.name != __name__ and info.name not in leave_out:
                importlib.import_module(info.name)
                names.append(info.name)
    return names


# With a training cluster the kernel modules stay out: only they import Numba (~56 MB resident in
# each app process, measured), the workers call the kernels, and no page imports them
# (tests/test_web_process_imports.py). The in-process engine trains here: everything is imported.
from toolbox.kernel_state import KERNEL_MODULES  # noqa: E402
from toolbox.serving import RUNNER  # noqa: E402

PRELOADED = preload(leave_out=KERNEL_MODULES if RUNNER.engine is not None else ())

# Streamlit runs a full garbage collection after every script run (runner.postScriptGC), holding the
# GIL while it walks every object: ~170 ms here, most of it torch's, plotly's and pandas' module
# objects, which live as long as the server. Thirty sessions rerunning a page spent about a quarter
# of the server's time in it (py-spy, DIAL page). Frozen, they are left out of every later
# collection. That collection after each run is now off (.streamlit/config.toml, postScriptGC):
# Python's generational collector frees what the pages create, and the frozen modules keep its
# full collections short.
gc.collect()
gc.freeze()

# The compiled PPO and DIAL kernels: loaded from Numba's disk cache, or on a machine's first start
# compiled by a child process (25-65 s) while trainings run on the readable paths
# (toolbox/warm_up.py). What happened, and why the readable paths train if the cache cannot be used,
# goes to the server's log. With a training cluster the web process only sees that the cache is
# complete: the workers load the kernels (loaded here they held ~115 MB that nothing used).
from toolbox import warm_up  # noqa: E402

warm_up.start(load=RUNNER.engine is None)

# Trainings run on the training cluster's worker processes (toolbox/serving/engine.py), never in the
# web process: it starts now, in the background, so the first Train press does not wait for it.
if RUNNER.engine is not None:
    RUNNER.engine.warm()

# Every 20 s: closed tabs' sessions whose reconnect window has passed are dropped (Streamlit would
# keep them until the next disconnect: ui/sessions.py), garbage is collected and the freed pages go
# back to the system (toolbox/memory.py), so the server returns to its idle size after a class.
from ui.sessions import expire_disconnected  # noqa: E402

memory.trim_every(before=expire_disconnected)
