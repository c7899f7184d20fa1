"""The one place that chooses the compute device.

Order of precedence:
1. the environment variable ``RL_TOOLBOX_DEVICE`` (``auto``, ``cpu``, ``cuda`` or ``cuda:N``);
2. otherwise ``cuda`` when ``torch.cuda.is_available()``, else ``cpu``.

An override that is malformed, or that asks for CUDA on a machine without it, raises
``ValueError`` with a sentence saying what to change.
"""

from __future__ import annotations

import os
import re

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
