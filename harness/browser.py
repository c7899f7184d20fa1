"""Headless Chromium for the e2e tests and the classroom benchmark: where it is and how it
starts."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

CHROMIUM = os.environ.get("RL_TOOLBOX_CHROMIUM", "/usr/bin/chromium")
"""Debian's Chromium (playwright's own download is not needed); override with
RL_TOOLBOX_CHROMIUM."""

LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic"]


def chromium_path() -> str | None:
    """The Chromium executable to launch, or ``None`` where none is installed."""
    if Path(CHROMIUM).exists():
        return CHROMIUM
    return shutil.which("chromium")
