"""What the DIAL lesson asks the server to train, and the link (URL) values it accepts.

``lesson_configs`` turns the page's settings into one validated ``DialConfig`` per method;
``job_key`` names that request so identical requests train once; ``link_*`` read a value from a
shared link and raise ``ValueError`` with a sentence that quotes the value cut short by
``shown_value`` (a 100 kB value is not echoed whole). The page shows such messages through
``ui.common.show_error``, which escapes them for Markdown, so a crafted link cannot format the page.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict

from toolbox.dial.config import MAX_AGENTS, METHODS, DialConfig

MAX_SEEDS = 8
"""Seeds one page request may train."""
SHOWN_CHARS = 40
"""A link value is shown back cut to this many characters."""


def shown_value(raw: object, limit: int = SHOWN_CHARS) -> str:
    """``raw`` cut to ``limit`` characters (then "…"), whitespace runs and control characters
    turned into one space. Plain text: escaping for Markdown is the page's job (ui.text.plain)."""
    text = str(raw)
    cut = len(text) > limit
    text = re.sub(r"[\s\x00-\x1f\x7f]+", " ", text[:limit])
    return text + ("…" if cut else "")


def link_int(key: str, raw: str, lo: int, hi: int) -> int:
    """A whole number from ``lo`` to ``hi`` written in a link as ``key=raw``."""
    text = str(raw).strip()
    if not re.fullmatch(r"[+-]?\d{1,18}", text):
        raise ValueError(f"The link sets {key} = {shown_value(raw)}, which is not a whole number; "
                         f"{key} must be a whole number from {lo} to {hi}.")
    value = int(text)
    if not lo <= value <= hi:
        raise ValueError(f"The link sets {key} = {shown_value(raw)}, outside the range this page accepts "
                         f"({lo} to {hi}).")
    return value


def link_float(key: str, raw: str, lo: float, hi: float) -> float:
    """A finite number from ``lo`` to ``hi`` written in a link as ``key=raw``."""
    try:
        value = float(str(raw)[:64])
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or len(str(raw)) > 64:
        raise ValueError(f"The link sets {key} = {shown_value(raw)}, which is not a number; "
                         f"{key} must be a number from {lo:g} to {hi:g}.")
    if not lo <= value <= hi:
        raise ValueError(f"The link sets {key} = {shown_value(raw)}, outside the range this page accepts "
                         f"({lo:g} to {hi:g}).")
    return value


def link_choice(key: str, raw: str, options: tuple[str, ...]) -> str:
    """One of ``options`` written in a link as ``key=raw``."""
    if raw not in options:
        raise ValueError(f"The link sets {key} = {shown_value(raw)}, which is not one of: {', '.join(options)}.")
    return raw


def link_agents(raw: str) -> int:
    """The team size ``n`` from a link: a whole number from 2 to ``MAX_AGENTS``."""
    return link_int("n", raw, 2, MAX_AGENTS)


def lesson_configs(methods: list[str], n_agents: int, param_sharing: bool, input_mode: str, n_batches: int,
                   sigma: float, n_seeds: int) -> dict[str, DialConfig]:
    """One validated ``DialConfig`` per chosen method (the lesson's training request).

    Tests run every 20 batches for n = 3 (as the precomputed n = 3 curves) and every 50 otherwise.
    Raises ``ValueError`` for no method, a seed count outside 1..``MAX_SEEDS`` or any setting
    ``DialConfig.validate`` refuses.
    """
    if not methods:
        raise ValueError("Choose at least one method.")
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ValueError(f"Unknown method {unknown[0]!r}; choose from {', '.join(METHODS)}.")
    if not 1 <= n_seeds <= MAX_SEEDS:
        raise ValueError(f"Choose between 1 and {MAX_SEEDS} seeds; got {n_seeds}.")
    configs = {}
    for m in methods:
        cfg = DialConfig(n_agents=n_agents, method=m, param_sharing=param_sharing, input_mode=input_mode,
                         n_batches=n_batches, sigma=sigma, test_every=20 if n_agents == 3 else 50)
        cfg.validate()
        configs[m] = cfg
    return configs


def job_key(configs: dict[str, DialConfig], n_seeds: int) -> str:
    """A stable name of a training request: equal for equal settings, whatever the order of methods."""
    return "dial:" + json.dumps({m: asdict(c) for m, c in configs.items()} | {"seeds": n_seeds}, sort_keys=True)
