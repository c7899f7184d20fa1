"""Where a stored number came from: the machine and the library versions that computed it, and
the backend function that computes what a page shows (:func:`qualified_name`).

Floating-point results differ between CPUs (vector width, fused multiply-adds, the order of a
sum) and between library versions, so a stored result carries this record, and a page that shows
it can say a retrain elsewhere gives statistically the same, not identical, numbers.
"""

from __future__ import annotations

import platform
import sys
from functools import lru_cache
from pathlib import Path
from typing import Callable

PROVENANCE_KEYS = ("cpu", "cpu_capability", "machine", "python", "torch", "numpy", "numba")


@lru_cache(maxsize=1)
def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo`` on Linux, ``platform.processor()`` elsewhere)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine_provenance() -> dict:
    """``{"cpu", "cpu_capability", "machine", "python", "torch", "numpy", "numba"}`` as strings:
    the CPU model, the vector instructions torch's CPU kernels use (``AVX512``, ``AVX2``,
    ``DEFAULT``), the architecture and the versions of everything that rounds a training's
    floats."""
    import numba
    import numpy
    import torch

    return {
        "cpu": cpu_model(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "machine": platform.machine(),
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "numba": numba.__version__,
    }


def provenance_sentence(meta: dict) -> str:
    """One sentence for a page: which machine computed the stored numbers, and what a retrain
    gives."""
    cpu = meta.get("cpu", "an unrecorded CPU")
    versions = ", ".join(f"{k} {meta[k]}" for k in ("torch", "numpy", "numba") if k in meta)
    made = f"Computed on {cpu}" + (
        f" ({meta['cpu_capability']} kernels)" if "cpu_capability" in meta else "")
    made += f" with {versions}." if versions else "."
    return (
        made + " A retrain on another machine gives statistically the same curves, not identical "
        "ones: CPUs round float32 sums differently, and a learning run amplifies the difference."
    )


def qualified_name(fn: Callable) -> str:
    """``module.qualname`` of a function, e.g. ``toolbox.gumbel.sampling.sample_gumbel``.

    Pages name the function behind an equation or a download with this, read from the function
    object, so a renamed or moved function changes the page with it."""
    return f"{fn.__module__}.{fn.__qualname__}"
