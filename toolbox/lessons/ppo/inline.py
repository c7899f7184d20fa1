"""Source text copied from modules by name: the definitions a piece of code needs, with theirs.

:mod:`toolbox.lessons.ppo.script` writes the standalone PPO script out of the readable reference's
own source; this module finds what that source needs. Starting from some code, every name it
uses is looked up in its module: a top-level definition there is copied (function, class,
constant), a name imported from another project module is copied from that module the same way
(recursively), and a name imported from the standard library or an allowed package becomes one
import line. Nothing is run: modules are read with :func:`toolbox.lessons.ppo.source.module_source`
and parsed with :mod:`ast`.
"""

from __future__ import annotations

import ast
import importlib.util
import io
import re
import sys
import tokenize
from collections.abc import Callable
from dataclasses import dataclass, field

from toolbox.lessons.ppo.source import MARKER, module_source

PROJECT = "toolbox"
"""The project's package: names imported from it are copied, never imported."""
ALLOWED_PACKAGES = frozenset({"torch", "numpy", "gymnasium"})
"""Third-party packages the generated code may import (besides the standard library)."""


@dataclass
class Module:
    """One module's source: its top-level definitions and import bindings by name."""

    name: str
    source: str
    tree: ast.Module
    defs: dict[str, ast.stmt]
    imports: dict[str, tuple[str, str | None]]
    """local name -> (module, attribute): ``import numpy as np`` gives ``np -> ("numpy", None)``,
    ``from torch import nn`` gives ``nn -> ("torch", "nn")``."""

    @property
    def lines(self) -> list[str]:
        return self.source.splitlines()


def read_module(name: str) -> Module:
    """Parse module ``name`` (ValueError when it is not installed)."""
    source = module_source(name)
    tree = ast.parse(source)
    defs: dict[str, ast.stmt] = {}
    imports: dict[str, tuple[str, str | None]] = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            defs[node.name] = node
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                for n in ast.walk(target):
                    if isinstance(n, ast.Name):
                        defs[n.id] = node
        elif isinstance(node, ast.Import):
            for a in node.names:
                imports[a.asname or a.name.split(".")[0]] = (
                    (a.name, None) if a.asname else (a.name.split(".")[0], None))
        elif isinstance(node, ast.ImportFrom) and node.module and node.module != "__future__":
            for a in node.names:
                imports[a.asname or a.name] = (node.module, a.name)
    return Module(name, source, tree, defs, imports)


def _bound(fn: ast.AST) -> set[str]:
    """Names a function (or lambda) binds: its parameters and every name assigned in its body
    (nested scopes included: a conservative answer for finding module-level names)."""
    names = set()
    for n in ast.walk(fn):
        if isinstance(n, ast.arg):
            names.add(n.arg)
        elif isinstance(n, ast.Name) and isinstance(n.ctx, (ast.Store, ast.Del)):
            names.add(n.id)
        elif isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and n is not fn:
            names.add(n.name)
        elif isinstance(n, ast.alias):
            names.add(n.asname or n.name.split(".")[0])
    return names


def free_names(node: ast.AST, local: frozenset[str] = frozenset()):
    """The ``Name`` loads of ``node`` that no enclosing function binds, and the ``Attribute``
    nodes on such names (``rng.uniform``): what the code takes from its module."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
        a = node.args
        params = [*a.posonlyargs, *a.args, *a.kwonlyargs, *[x for x in (a.vararg, a.kwarg) if x]]
        outer = [*getattr(node, "decorator_list", []), *a.defaults,
                 *[d for d in a.kw_defaults if d is not None],
                 *[x.annotation for x in params if x.annotation is not None],
                 *[r for r in [getattr(node, "returns", None)] if r is not None]]
        for child in outer:
            yield from free_names(child, local)
        inner = local | _bound(node)
        for child in node.body if isinstance(node.body, list) else [node.body]:
            yield from free_names(child, inner)
        return
    if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id not in local:
        yield node
    if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
            and node.value.id not in local):
        yield node
    for child in ast.iter_child_nodes(node):
        yield from free_names(child, local)


def is_project(module: str) -> bool:
    return module == PROJECT or module.startswith(PROJECT + ".")


def is_project_module(module: str, attr: str | None) -> bool:
    """Whether the binding ``(module, attr)`` names a project module (``from toolbox import
    rng``)."""
    if not is_project(module):
        return False
    if attr is None:
        return True
    spec = importlib.util.find_spec(module)
    if spec is None or spec.submodule_search_locations is None:
        return False  # a module, not a package: `attr` is a name defined in it
    return importlib.util.find_spec(f"{module}.{attr}") is not None


def allowed_import(module: str) -> bool:
    root = module.split(".")[0]
    return root in ALLOWED_PACKAGES or root in sys.stdlib_module_names


def node_lines(m: Module, node: ast.stmt) -> tuple[int, int]:
    """First and last line (1-based) of ``node``, its decorators included."""
    first = min([d.lineno for d in getattr(node, "decorator_list", [])] + [node.lineno])
    return first, node.end_lineno


def definition_text(m: Module, node: ast.stmt) -> str:
    """The source lines of a top-level definition, without marker comments and without decorators
    from packages the generated code may not import (e.g. Numba's ``register_jitable``: the plain
    Python function stays)."""
    first, last = node_lines(m, node)
    dropped: set[int] = set()
    for d in getattr(node, "decorator_list", []):
        root = d.func if isinstance(d, ast.Call) else d
        while isinstance(root, ast.Attribute):
            root = root.value
        binding = m.imports.get(root.id) if isinstance(root, ast.Name) else None
        if binding is not None and not allowed_import(binding[0]) and not is_project(binding[0]):
            dropped.update(range(d.lineno, d.end_lineno + 1))
    lines = [line for number, line in enumerate(m.lines[first - 1:last], start=first)
             if number not in dropped and not MARKER.match(line)]
    return "\n".join(lines)


def rewrite_names(text: str, renames: dict[str, str], strip: frozenset[str] = frozenset()) -> str:
    """``text`` with every name token in ``renames`` replaced and every ``alias.`` prefix of an
    alias in ``strip`` removed (``rng.uniform`` -> ``uniform``); strings and comments untouched."""
    tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    edits = []  # (row, start col, end col, replacement)
    for i, tok in enumerate(tokens):
        if tok.type != tokenize.NAME:
            continue
        after = tokens[i + 1] if i + 1 < len(tokens) else None
        before = tokens[i - 1] if i else None
        attribute = before is not None and before.string == "."
        if tok.string in strip and not attribute and after is not None and after.string == ".":
            edits.append((tok.start[0], tok.start[1], after.end[1], ""))
        elif tok.string in renames:
            edits.append((tok.start[0], tok.start[1], tok.end[1], renames[tok.string]))
    lines = text.split("\n")
    for row, start, end, new in sorted(edits, reverse=True):
        line = lines[row - 1]
        lines[row - 1] = line[:start] + new + line[end:]
    return "\n".join(lines)


@dataclass
class Item:
    """A copied top-level definition: where from, its name(s) and its text."""

    module: str
    name: str
    line: int
    text: str
    strip: frozenset[str] = frozenset()
    """aliases of project modules whose prefix the text drops (their names are copied alongside)"""


@dataclass
class Inliner:
    """Collects the definitions some code needs (:meth:`need`) and the imports they use.

    ``provided``: ``(module, name)`` bindings the caller writes itself (skipped);
    ``namespaces``: project modules kept as a namespace under an alias (``L.pg_loss``): the
    attributes used are collected in ``namespace_names`` instead of being copied at top level.
    """

    provided: frozenset[tuple[str, str]] = frozenset()
    namespaces: frozenset[str] = frozenset()
    rewrite: Callable[[str, str, str], str] | None = None
    """``(module, name, text) -> text``: a change to a copied definition before it is read"""
    items: list[Item] = field(default_factory=list)
    imports: set[tuple[str, str | None, str]] = field(default_factory=set)
    namespace_names: dict[str, list[str]] = field(default_factory=dict)
    _modules: dict[str, Module] = field(default_factory=dict)
    _done: set[tuple[str, str]] = field(default_factory=set)

    def module(self, name: str) -> Module:
        if name not in self._modules:
            self._modules[name] = read_module(name)
        return self._modules[name]

    def need(self, module: str, name: str) -> None:
        """Copy the definition of ``name`` from ``module`` (and what it needs) unless done."""
        if (module, name) in self._done or (module, name) in self.provided:
            return
        m = self.module(module)
        if name not in m.defs:
            raise ValueError(f"{module} defines no {name!r} to copy into the script.")
        node = m.defs[name]
        names = {n.id for t in getattr(node, "targets", [getattr(node, "target", None)])
                 if t is not None for n in ast.walk(t) if isinstance(n, ast.Name)} or {name}
        self._done.update((module, n) for n in names)
        text = definition_text(m, node)
        if self.rewrite is not None:
            text = self.rewrite(module, name, text)
        item = Item(module, name, node_lines(m, node)[0], text)
        self.items.append(item)
        item.strip = self.uses(m, text)

    def uses(self, m: Module, text: str) -> frozenset[str]:
        """Record what ``text`` (code of module ``m``) uses: copy its project definitions, note its
        imports. Returns the aliases of project modules whose attributes were copied."""
        stripped = set()
        for node in free_names(ast.parse(text)):
            if isinstance(node, ast.Attribute):
                binding = m.imports.get(node.value.id)
                if binding is not None and is_project_module(*binding):
                    target = binding[0] if binding[1] is None else f"{binding[0]}.{binding[1]}"
                    if target in self.namespaces:
                        names = self.namespace_names.setdefault(target, [])
                        if node.attr not in names:
                            names.append(node.attr)
                    else:
                        stripped.add(node.value.id)
                        self.need(target, node.attr)
            elif node.id in m.defs:
                self.need(m.name, node.id)
            elif node.id in m.imports:
                self.bind(node.id, *m.imports[node.id])
        return frozenset(stripped)

    def bind(self, local: str, module: str, attr: str | None) -> None:
        if is_project(module):
            if not is_project_module(module, attr):
                if local != attr:
                    raise ValueError(f"{module}.{attr} is imported as {local!r}; a copied "
                                     f"definition keeps its own name, so import it unrenamed.")
                self.need(module, attr)
            return  # a project module used by attribute: handled in `uses`
        if not allowed_import(module):
            raise ValueError(f"the script may import only the standard library and "
                             f"{', '.join(sorted(ALLOWED_PACKAGES))}; the reference uses {module}.")
        self.imports.add((module, attr, local))


def import_lines(imports: set[tuple[str, str | None, str]]) -> str:
    """Import statements for ``(module, attribute, local name)`` bindings: the standard library
    first, then the allowed packages, each sorted."""
    plain, froms = set(), {}
    for module, attr, local in imports:
        if attr is None:
            plain.add(f"import {module}" + ("" if local == module else f" as {local}"))
        else:
            froms.setdefault(module, set()).add(attr if local == attr else f"{attr} as {local}")
    lines = sorted(plain, key=lambda s: s.split()[1])
    lines += [f"from {m} import {', '.join(sorted(names))}" for m, names in froms.items()]

    def group(line: str) -> tuple[int, str, bool, str]:
        module = line.split()[1]
        third_party = module.split(".")[0] not in sys.stdlib_module_names
        return (int(third_party), module, line.startswith("from"), line)

    lines.sort(key=group)
    out, last = [], None
    for line in lines:
        g = group(line)[0]
        if last is not None and g != last:
            out.append("")
        out.append(line)
        last = g
    return "\n".join(out)


_ROLE = re.compile(r":(?:class|func|meth|mod|data|attr):`(~?)([\w.]+)`")


def plain_roles(text: str) -> str:
    """Sphinx cross-references in docstrings as plain code: ``:class:`~a.b.C``` -> ````C````."""
    return _ROLE.sub(lambda m: "``" + (m[2].rsplit(".", 1)[-1] if m[1] else m[2]) + "``", text)


def prune_methods(texts: list[str], classes: list[str]) -> list[str]:
    """``classes`` (texts of top-level definitions) with the methods of each class that no code in
    ``texts`` or ``classes`` names removed, repeatedly, dunder methods kept: a copied helper class
    shows only what is used. Other definitions pass unchanged."""
    classes = list(classes)
    while True:
        counts: dict[str, int] = {}
        for text in texts + classes:
            for tok in tokenize.generate_tokens(io.StringIO(text).readline):
                if tok.type == tokenize.NAME:
                    counts[tok.string] = counts.get(tok.string, 0) + 1
        changed = False
        for k, text in enumerate(classes):
            cls = ast.parse(text).body[0]
            if not isinstance(cls, ast.ClassDef):
                continue
            lines = text.split("\n")
            drop: set[int] = set()
            for node in cls.body:
                if (isinstance(node, ast.FunctionDef) and not node.name.startswith("__")
                        and counts.get(node.name, 0) <= 1):
                    first = min([d.lineno for d in node.decorator_list] + [node.lineno])
                    drop.update(range(first - 1, node.end_lineno))
                    # the blank line before it goes too
                    if first >= 2 and not lines[first - 2].strip():
                        drop.add(first - 2)
            if drop:
                classes[k] = "\n".join(x for i, x in enumerate(lines) if i not in drop)
                changed = True
        if not changed:
            return classes
