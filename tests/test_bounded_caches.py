"""Every Streamlit cache keyed by arguments is bounded: the arguments come from widget values any
client can send (a script over the protocol sends what a browser cannot), and an unbounded cache
grows with every distinct value for as long as the server runs."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHES = ("cache_data", "cache_resource")


def unbounded_caches(source: str, name: str = "<src>") -> list[str]:
    """``file:line function`` of each ``st.cache_data``/``st.cache_resource`` function that takes
    hashed arguments (names without a leading underscore) and has no ``max_entries``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        args = node.args
        hashed = [a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)
                  if not a.arg.startswith("_")]
        for deco in node.decorator_list:
            call = deco if isinstance(deco, ast.Call) else None
            target = call.func if call else deco
            if isinstance(target, ast.Attribute) and target.attr in CACHES and hashed:
                keywords = {k.arg for k in call.keywords} if call else set()
                if "max_entries" not in keywords:
                    found.append(f"{name}:{node.lineno} {node.name}")
    return found


def test_every_cache_keyed_by_arguments_has_a_bound():
    problems = []
    for folder in ("app_pages", "ui"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            problems += unbounded_caches(path.read_text(encoding="utf-8"),
                                         str(path.relative_to(ROOT)))
    assert not problems, "caches without max_entries: " + ", ".join(problems)


def test_the_check_finds_an_unbounded_cache():
    src = ("@st.cache_data(show_spinner=False)\ndef f(sigma): ...\n"
           "@st.cache_data\ndef g(x): ...\n"
           "@st.cache_data(max_entries=8)\ndef h(x): ...\n"
           "@st.cache_resource\ndef k(): ...\n"
           "@st.cache_data\ndef m(_team): ...\n")
    assert unbounded_caches(src) == ["<src>:2 f", "<src>:4 g"]
