"""The layers import one way: reusable < algorithms < serving < lessons < figures < ui
< app_pages/app.

Every ``.py`` file under toolbox/, ui/, app_pages/ and app.py is parsed with ``ast`` (no import is
executed), and every import statement is collected, at any depth (also inside functions, where
an upward import would otherwise hide). See README.md, "Architecture".
"""

from __future__ import annotations

import ast
from functools import lru_cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MAX_LINES = 400

# level 0: reusable parts (used by the algorithms, never using them); environments that live inside
# an algorithm package count here too
REUSABLE = (
    "toolbox", "toolbox.device", "toolbox.checks", "toolbox.running_stats",
    "toolbox.reward_scaling", "toolbox.returns", "toolbox.envs", "toolbox.rng", "toolbox.stats",
    "toolbox.dial.switch", "toolbox.jit",
    "toolbox.kernel_state",  # the kernels' cache folder and state, without Numba
    "toolbox.provenance",  # the machine and versions behind stored results
    "toolbox.memory",  # malloc arenas and trimming of long-lived processes
    "toolbox.nn_init",  # seeded initialization without the global generator
    # compiled building blocks (dense, clipping, optimizers) shared by algorithms
    "toolbox.kernels",
    "toolbox.warm_up",  # names the kernels it warms as strings: the child process imports them
    # the job runner knows no algorithm; algorithms use its batching and cancel contract
    "toolbox.serving",
)
ALGORITHMS = ("toolbox.ppo", "toolbox.dial", "toolbox.gumbel", "toolbox.influence")
# admission, jobs, batching across sessions, server caps: above the algorithms
SERVING = "toolbox.serving"
LEVELS = {0: "reusable", 1: "algorithm", 2: "serving", 3: "lesson", 4: "figures", 5: "ui",
          6: "app_pages/app"}


def _within(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def level(module: str) -> int | None:
    """The layer of a project module (``None``: not classified, which the tests report)."""
    if module == "app" or _within(module, "app_pages"):
        return 6
    if _within(module, "ui"):
        return 5
    if _within(module, "toolbox.figures"):
        return 4
    if _within(module, "toolbox.lessons"):
        return 3
    if _within(module, SERVING):
        return 2
    if any(module == r or (r != "toolbox" and _within(module, r)) for r in REUSABLE):
        return 0
    if any(_within(module, a) for a in ALGORITHMS):
        return 1
    return None


def algorithm_package(module: str) -> str | None:
    return next((a for a in ALGORITHMS if _within(module, a)), None)


def source_files() -> list[Path]:
    files = [p for d in ("toolbox", "ui", "app_pages") for p in sorted((ROOT / d).rglob("*.py"))]
    return files + [ROOT / "app.py"]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@lru_cache(maxsize=None)
def _is_project_module(name: str) -> bool:
    base = ROOT.joinpath(*name.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def imports(tree: ast.AST, module: str, is_package: bool) -> list[tuple[int, str]]:
    """``(line, imported module)`` for every import in ``tree``, at any depth.

    ``from X import a`` counts as importing ``X.a`` when that is a module of the project, else
    ``X``; relative imports are resolved against ``module``.
    """
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".")
                anchor = anchor[: len(anchor) - node.level + (1 if is_package else 0)]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.append((node.lineno, sub if _is_project_module(sub) else base))
    return found


def _parsed():
    for path in source_files():
        yield path, module_name(path), ast.parse(path.read_text(encoding="utf-8"),
                                                 filename=str(path))


def _where(path: Path, line: int) -> str:
    return f"{path.relative_to(ROOT)}:{line}"


def layering_problems(module: str, imported: str) -> str | None:
    """Why ``module`` must not import ``imported`` (``None``: allowed)."""
    top = imported.split(".")[0]
    if top not in ("toolbox", "ui", "app_pages", "app"):
        if _within(module, "toolbox") and top == "streamlit":
            return (
                "toolbox/ never imports streamlit (the backend must not know it runs in a web app)"
            )
        return None
    if _within(module, "toolbox") and top in ("ui", "app_pages", "app"):
        return f"toolbox/ never imports {top} (the backend sits below the app)"
    here, there = level(module), level(imported)
    if here is None or there is None:
        unknown = module if here is None else imported
        return (f"{unknown} is in no layer: add it to REUSABLE or ALGORITHMS in "
                "tests/test_layering.py (or move it)")
    if there > here:
        return (
            f"upward import: {module} is level {here} ({LEVELS[here]}) but {imported} is level "
            f"{there} ({LEVELS[there]}); a module imports only from its own level or below")
    if here == there == 1 and algorithm_package(module) != algorithm_package(imported):
        return (
            f"{algorithm_package(module)} imports another algorithm package ({imported}); "
            "algorithms may share only reusable (level-0) modules")
    return None


# ------------------------------------------------------------------ the checks on the project


def test_every_module_has_a_layer():
    unclassified = [module for _, module, _ in _parsed() if level(module) is None]
    assert not unclassified, (
        f"modules in no layer (add them to REUSABLE or ALGORITHMS): {unclassified}"
    )


def test_imports_run_one_way():
    problems = []
    for path, module, tree in _parsed():
        for line, imported in imports(tree, module, path.name == "__init__.py"):
            why = layering_problems(module, imported)
            if why:
                problems.append(f"{_where(path, line)}: imports {imported}: {why}")
    assert not problems, "imports against the layers:\n" + "\n".join(problems)


def _catches_import_error(handler: ast.ExceptHandler) -> bool:
    types = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return any(isinstance(t, ast.Name) and t.id in ("ImportError",
                                                    "ModuleNotFoundError") for t in types)


def test_no_import_wrapped_in_a_fallback():
    found = [
        f"{_where(path, node.lineno)}: try/except ImportError"
        for path, _, tree in _parsed()
        for node in ast.walk(tree)
        if isinstance(node, ast.Try) and any(_catches_import_error(h) for h in node.handlers)
    ]
    assert not found, (
        "an import that could fail is a dependency to declare (requirements.txt) or an upward "
        "import to remove, never a fallback:\n" + "\n".join(found))


def test_no_module_over_400_lines():
    long = [
        f"{path.relative_to(ROOT)}: {n} lines"
        for path in source_files()
        if path != ROOT / "app.py"
        and (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    ]
    assert not long, f"modules over {MAX_LINES} lines (split them, one job each):\n" + "\n".join(
        long)


# ------------------------------------------------------------------ the
# checker itself finds what it should


def test_checker_finds_imports_inside_functions_and_relative_imports():
    src = ("import torch\ndef f():\n    from toolbox.lessons "
           "import normalization\n    from . import cnet\n")
    found = imports(ast.parse(src), "toolbox.dial.train", is_package=False)
    assert found == [(1, "torch"), (3, "toolbox.lessons.normalization"), (4, "toolbox.dial.cnet")]
    assert "upward import" in layering_problems("toolbox.dial.train",
                                                "toolbox.lessons.normalization")
    assert layering_problems("toolbox.dial.train", "toolbox.dial.cnet") is None


@pytest.mark.parametrize("module, imported, allowed", [
    ("toolbox.ppo.train", "toolbox.running_stats", True),
    ("toolbox.ppo.train", "toolbox.dial.cnet", False),
    ("toolbox.dial.train", "toolbox.envs.cartpole", True),
    ("toolbox.running_stats", "toolbox.ppo.train", False),
    ("toolbox.lessons.normalization.advantages", "toolbox.ppo.train", True),
    ("toolbox.figures.normalization", "toolbox.lessons.normalization", True),
    ("toolbox.lessons.catalogue", "toolbox.figures.style", False),
    ("toolbox.gumbel", "streamlit", False),
    ("toolbox.serving", "ui.common", False),
    ("app_pages.normalization", "toolbox.lessons.normalization", True),
    ("ui.common", "app_pages.home", False),
    ("app_pages.dial", "ui.common", True),
    ("app", "toolbox.lessons", True),
])
def test_layer_rules(module, imported, allowed):
    assert (layering_problems(module, imported) is None) == allowed
