"""Shared pytest setup: the repo root on sys.path, CPU by default, deterministic torch."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# Tests never depend on a GPU: unless a developer asks otherwise, compute on the CPU.
os.environ.setdefault("RL_TOOLBOX_DEVICE", "cpu")
