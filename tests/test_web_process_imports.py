"""The web process of a training cluster never imports Numba (~56 MB resident in each app
process): it reports the kernels' state and checks their cache (``toolbox.kernel_state``), the
training workers load and call the kernels.

``ui/preload.py`` leaves ``toolbox.kernel_state.KERNEL_MODULES`` out of its walk when a cluster
trains; these tests check that the list is exactly the modules that import Numba, and that what the
web process imports then (every other module, every page's imports, a training's submission) leaves
Numba out of ``sys.modules``."""

from __future__ import annotations

import ast
import os
import subprocess
import sys

from tests.test_layering import ROOT, _parsed, imports
from toolbox.kernel_state import KERNEL_MODULES

LAZY_KERNEL_IMPORTS = {
    "toolbox.ppo.compiled": {"toolbox.ppo.compiled_kernel"},
    "toolbox.dial.compiled": {"toolbox.dial.kernel"},
    "toolbox.ppo.continuous.train": {"toolbox.ppo.continuous.compiled"},
}
"""The imports of a kernel module inside a function of another module: each where a compiled
training runs (never in the web process of a cluster)."""


def _run_at_import(node: ast.AST) -> list[ast.stmt]:
    """The import statements in ``node`` that run when its module is imported: not those in a
    function, nor in an ``if TYPE_CHECKING:`` block."""
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return [node]
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
        return []
    if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and (
            node.test.id == "TYPE_CHECKING"):
        return _run_at_import(ast.Module(node.orelse, []))
    return [found for child in ast.iter_child_nodes(node) for found in _run_at_import(child)]


def top_level_imports() -> dict[str, set[str]]:
    """Project module -> what its import imports at once (:func:`_run_at_import`), with the
    module's parent packages."""
    found = {}
    for path, module, tree in _parsed():
        body = ast.Module(_run_at_import(tree), [])
        names = {name for _, name in imports(body, module, path.name == "__init__.py")}
        parts = module.split(".")
        found[module] = names | {".".join(parts[:i]) for i in range(1, len(parts))}
    return found


def numba_importers() -> set[str]:
    """The project modules whose import imports Numba, directly or through project modules."""
    graph = top_level_imports()
    reach = {m for m, names in graph.items() if any(n.split(".")[0] == "numba" for n in names)}
    while True:
        more = {m for m, names in graph.items() if m not in reach and names & reach}
        if not more:
            return reach
        reach |= more


def test_kernel_modules_are_exactly_the_modules_that_import_numba():
    assert numba_importers() == set(KERNEL_MODULES)


def test_kernel_modules_are_imported_only_where_a_compiled_training_runs():
    kernels = set(KERNEL_MODULES)
    lazy = {}
    for path, module, tree in _parsed():
        if module in kernels:
            continue
        found = {name for _, name in imports(tree, module, path.name == "__init__.py")}
        if found & kernels:
            lazy[module] = found & kernels
    assert lazy == LAZY_KERNEL_IMPORTS


# what the app process of a cluster imports: every module of toolbox, ui and app_pages but the
# kernels (ui/preload.py; ui.preload itself starts the warm-up and the engine), every page script's
# imports (Streamlit runs the scripts), and a training's submission (toolbox/serving/engine.py)
WEB_PROCESS = """
import ast, importlib, pathlib, pkgutil, sys
import toolbox, ui, app_pages
from toolbox.kernel_state import KERNEL_MODULES

scripts = {"app_pages.home"} | {m.name for m in pkgutil.walk_packages(app_pages.__path__,
                                                                        "app_pages.")
                                if m.name.endswith(".page")}
for package in (toolbox, ui, app_pages):
    for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        if info.name not in KERNEL_MODULES and info.name not in scripts | {"ui.preload"}:
            importlib.import_module(info.name)
for script in scripts:
    path = pathlib.Path(*script.split(".")).with_suffix(".py")
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            for alias in node.names:
                importlib.import_module(alias.name)
        elif isinstance(node, ast.ImportFrom):
            importlib.import_module(node.module)

from toolbox import warm_up
from toolbox.ppo.train import train
from toolbox.serving import engine

warm_up.warmed(warm_up.KERNELS)
engine._call("key", train, 1)
print("NUMBA" if "numba" in sys.modules else "NO NUMBA")
"""


def test_the_web_process_of_a_cluster_imports_no_numba(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT), RL_TOOLBOX_NUMBA_CACHE=str(tmp_path))
    done = subprocess.run([sys.executable, "-c", WEB_PROCESS], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == "NO NUMBA"

