"""Writing a standalone script from the definitions :class:`toolbox.lessons.ppo.inline.Inliner`
collected: the readable reference's environment swapped for Gymnasium's, and the copied
definitions laid out module by module under a header line, each name defined once.

Shared by the downloadable scripts of the CartPole lesson (:mod:`toolbox.lessons.ppo.script`)
and of the continuous-control lesson (:mod:`toolbox.lessons.ppo_continuous.script`).
"""

from __future__ import annotations

import ast
import itertools
import textwrap

from toolbox.lessons.ppo import inline


def names_used(text: str) -> set[str]:
    """The module-level names ``text`` uses (see :func:`inline.free_names`)."""
    return {n.id for n in inline.free_names(ast.parse(text)) if isinstance(n, ast.Name)}


def defines(text: str) -> set[str]:
    """The top-level names a definition's text binds."""
    node = ast.parse(text).body[0]
    if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
        return {node.name}
    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
    return {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}


def use_gymnasium(text: str, batched: str, replacement: str, settings: str) -> str:
    """Every ``<batched>(E, device=…, env_keys=rng.stream_key(seed, …))`` call of ``text`` as
    ``<replacement>(<settings>.env_id, E, seed, device=…)``: Gymnasium's own environment, seeded
    with the run's seed, in place of the toolbox's batched copy of it."""
    calls = [n for n in ast.walk(ast.parse(text)) if isinstance(n, ast.Call)
             and isinstance(n.func, ast.Name) and n.func.id == batched]
    for call in calls:
        kw = {k.arg: k.value for k in call.keywords}
        keys = kw.get("env_keys")
        if (len(call.args) != 1 or "device" not in kw or not isinstance(keys, ast.Call)
                or not keys.args):
            raise ValueError(f"the reference builds its {batched} in a way the script cannot "
                             f"rewrite: expected {batched}(num_envs, device=…, "
                             f"env_keys=…(seed, …)).")
        seg = ast.get_source_segment
        old = seg(text, call)
        new = (f"{replacement}({settings}.env_id, {seg(text, call.args[0])}, "
               f"{seg(text, keys.args[0])}, device={seg(text, kw['device'])})")
        if text.count(old) != 1:
            raise ValueError(f"the reference's {old!r} is ambiguous to rewrite.")
        text = text.replace(old, new)
    return text


def module_sections(inl: inline.Inliner, copied: list[tuple[inline.Item, str]],
                    defined: dict[str, str]) -> list[str]:
    """The copied definitions ``(item, text)`` grouped by module (in order of first appearance),
    each group in its module's line order under a ``# ---- <path>.py: <docstring line>`` header.

    ``defined`` (``{name: text}``, updated) holds what the script already defines: a definition
    equal to one there is dropped (a type alias in two modules), a different one with the same
    name raises ``ValueError`` (the script could not hold both)."""
    sections = []
    for module in dict.fromkeys(i.module for i, _ in copied):
        mine = []
        for _, t in sorted(((i, t) for i, t in copied if i.module == module),
                           key=lambda pair: pair[0].line):
            names = defines(t)
            if all(defined.get(n) == t for n in names):
                continue  # the same definition in two modules (a type alias): once is enough
            if any(n in defined for n in names):
                raise ValueError(f"{module} defines {', '.join(sorted(names))} differently from "
                                 f"another part of the script: the script cannot hold both.")
            defined.update((n, t) for n in names)
            mine.append(t)
        if not mine:
            continue
        doc = (ast.get_docstring(inl.module(module).tree) or "").split("\n")[0]
        head = textwrap.fill(f"{module.replace('.', '/')}.py: {doc}", 96,
                             initial_indent="# ---- ", subsequent_indent="# ")
        body = mine[0]
        for previous, text in itertools.pairwise(mine):
            constants = all(t.split("\n")[0][:1].isupper() or t.startswith("_")
                            for t in (previous, text))  # consecutive constants: no blank lines
            body += ("\n" if constants else "\n\n\n") + text
        sections.append(head + "\n\n" + body)
    return sections
