"""The readable PPO's own lines for each detail, read from ``toolbox/ppo/reference.py`` and the
loss it calls, ``toolbox/ppo/loss.py``, as the app runs.

Both files mark the lines of each detail with comment markers named after the ``PPOConfig`` field::

    # [detail:clip_vloss]
    if args.clip_vloss:
        ...
    # [/detail:clip_vloss]

A detail may have several blocks (e.g. where the network is built and where it is used); blocks may
nest (a block of one detail inside another's). The page shows the lines between the markers, so the
code on screen is the code that runs and cannot drift from it.
"""

from __future__ import annotations

import functools
import importlib.util
import re
import textwrap
from dataclasses import fields

from toolbox.ppo.config import PPOConfig

REFERENCE_MODULES = ("toolbox.ppo.reference", "toolbox.ppo.loss")
MARKER = re.compile(r"^\s*#\s*\[(/?)detail:([A-Za-z_][A-Za-z0-9_]*)\]\s*$")
"""A marker comment line, ``# [detail:<field>]`` or ``# [/detail:<field>]``."""


def module_source(name: str) -> str:
    """The text of module ``name`` (e.g. ``"toolbox.ppo.loss"``), read through the import system
    without running it. ValueError for a module that is not installed with this app."""
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        raise ValueError(f"the readable PPO ({name}) is not installed with this app.")
    return spec.loader.get_source(name)


def reference_source() -> str:
    """The text of ``toolbox/ppo/reference.py`` then ``toolbox/ppo/loss.py`` (read through the
    import system, without running them)."""
    return "\n".join(module_source(name) for name in REFERENCE_MODULES)


def detail_blocks(source: str) -> dict[str, list[str]]:
    """``{field: [block text, …]}`` of every marked block in ``source``, in order of appearance.

    Each block is the lines between ``# [detail:field]`` and ``# [/detail:field]``, dedented, with
    every marker line (of any detail, for nested blocks) removed. Raises ``ValueError`` for a block
    that is never closed or a closing marker without its opening one.
    """
    blocks: dict[str, list[str]] = {}
    open_blocks: dict[str, list[str]] = {}  # field -> lines of its block being read
    for number, line in enumerate(source.splitlines(), start=1):
        m = MARKER.match(line)
        if m is None:
            for lines in open_blocks.values():
                lines.append(line)
            continue
        closing, name = m.group(1) == "/", m.group(2)
        if not closing:
            if name in open_blocks:
                raise ValueError(f"line {number}: a block for {name!r} opens inside another "
                                 f"block for {name!r}.")
            open_blocks[name] = []
        else:
            if name not in open_blocks:
                raise ValueError(f"line {number}: the block for {name!r} closes but was never "
                                 f"opened.")
            text = textwrap.dedent("\n".join(open_blocks.pop(name))).strip("\n")
            blocks.setdefault(name, []).append(text)
    if open_blocks:
        raise ValueError(f"the block(s) for {', '.join(sorted(open_blocks))} are never closed.")
    return blocks


@functools.lru_cache(maxsize=1)
def _reference_blocks() -> dict[str, list[str]]:
    # read and parsed once per process: the PPO page shows ~16 detail cards on every load, and
    # re-reading both files for each cost ~6 ms a load (the running code is what was imported)
    return detail_blocks(reference_source())


def detail_lines(field: str, source: str | None = None) -> str:
    """The reference's lines for the ``PPOConfig`` field ``field``: every marked block for it,
    dedented, markers removed, blocks separated by a blank line. ``source``: the text to read
    (default: the reference's own source). Raises ``ValueError`` for a name that is no
    ``PPOConfig`` field or a field with no marked lines.
    """
    names = [f.name for f in fields(PPOConfig)]
    if field not in names:
        raise ValueError(f"{field!r} is not a PPO setting; choose one of {', '.join(names)}.")
    blocks = (_reference_blocks() if source is None else detail_blocks(source)).get(field)
    if not blocks or not any(b.strip() for b in blocks):
        raise ValueError(f"the readable PPO marks no lines for {field!r}.")
    return "\n\n".join(b for b in blocks if b.strip())
