""""Run it yourself": one PPO variant as a standalone script (torch, numpy and gymnasium only).

The script's body is ``standalone_ppo.py.template`` (CleanRL-shaped: an ``Args`` dataclass, an
``Agent`` with ``layer_init``, ``get_value`` and ``get_action_and_value``, the losses under CleanRL's
names, every toggle a named ``if``); :func:`standalone_script` writes the chosen ``PPOConfig`` into
the defaults of its ``Args``, each field with the docstring line ``PPOConfig`` has for it.
"""

from __future__ import annotations

import ast
import inspect
import json
import math
import re
from dataclasses import fields
from functools import lru_cache
from pathlib import Path

from toolbox.ppo import config as _config
from toolbox.ppo.config import PPOConfig

TEMPLATE = Path(__file__).with_name("standalone_ppo.py.template")
CHECK_FILE = Path(__file__).resolve().parents[3] / "results" / "ppo_script_check.json"
"""The script's own runs at the advised budgets (``benchmarks/ppo_script_check.py``)."""
SCRIPT_FIELDS = (("seed", 1, "seed of the run: network initialization, action sampling, minibatch shuffles, environment resets"),
                 ("env_id", "CartPole-v1", "the Gymnasium environment"))
"""Fields of the script's ``Args`` ahead of PPOConfig's: (name, default, docstring)."""


@lru_cache(maxsize=1)
def field_docs() -> dict[str, str]:
    """``{field: docstring}`` of ``PPOConfig``, read from the docstring lines under its fields in the source."""
    tree = ast.parse(inspect.getsource(_config))
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "PPOConfig")
    docs, previous = {}, None
    for node in cls.body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            previous = node.target.id
        elif previous and isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            docs[previous] = " ".join(node.value.value.split())
            previous = None
        else:
            previous = None
    return docs


def _literal(value) -> str:
    """A Python literal for a config value (``repr``: floats read back exactly)."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"a setting of {value!r} cannot be written into a script.")
    return repr(value)


def _annotation(name: str, value) -> str:
    if name == "target_kl":
        return "Optional[float]"
    return type(value).__name__


def args_block(config: PPOConfig, seed: int = 1) -> str:
    """The body of the script's ``Args`` dataclass: one ``name: type = value`` line per field, then its
    docstring, with ``config``'s values as the defaults."""
    docs = field_docs()
    lines = []
    rows = [(n, seed if n == "seed" else d, doc) for n, d, doc in SCRIPT_FIELDS]
    rows += [(f.name, getattr(config, f.name), docs.get(f.name, "")) for f in fields(PPOConfig)]
    for name, value, doc in rows:
        lines.append(f"    {name}: {_annotation(name, value)} = {_literal(value)}")
        if doc:
            lines.append(f'    """{doc.replace(chr(34) * 3, chr(39) * 3)}"""')
    return "\n".join(lines) + "\n"


def script_filename(name: str) -> str:
    """A file name for the script of the variant called ``name``, e.g. ``ppo_no_gae_mc_returns.py``."""
    slug = re.sub(r"[^a-z0-9]+", "_", str(name).lower()).strip("_")[:60] or "variant"
    return f"ppo_{slug}.py"


def standalone_script(config: PPOConfig, name: str = "your variant", seed: int = 1) -> str:
    """The text of a standalone PPO script that trains ``config`` on ``gymnasium.make("CartPole-v1")``.

    The script imports only torch, numpy and gymnasium, takes every setting as a command-line
    option (``--total-timesteps 30000``) and prints ``final mean return (last 10 episodes): …``
    at the end. Raises ``ValueError`` for settings that cannot be trained (``PPOConfig.validate``).
    """
    if not isinstance(config, PPOConfig):
        raise ValueError(f"the script is written from a PPOConfig; got {type(config).__name__}.")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a whole number ≥ 0; got {seed!r}.")
    config.validate()
    title = " ".join(str(name).split())[:80]
    return (
        TEMPLATE.read_text(encoding="utf-8")
        .replace("@ARGS@\n", args_block(config, seed))
        .replace("@TITLE@", title.replace('"""', "'''").replace("\\", "/"))
        .replace("@FILENAME@", script_filename(name))
    )


def _span(values, fmt: str = "{:.0f}") -> str:
    lo, hi = fmt.format(min(values)), fmt.format(max(values))
    return lo if lo == hi else f"{lo}–{hi}"


def expectations(check: dict) -> dict:
    """What the stored script runs (``CHECK_FILE``'s payload) say, per case: ``seeds``, ``final``
    (each run's mean of its last 10 episodes), ``first_475`` (the first printed step whose last-20
    mean is ≥ 475; None for a run that never got there)."""
    out: dict = {}
    for run in check["runs"]:
        case = out.setdefault(run["case"], {"seeds": [], "final": [], "first_475": []})
        case["seeds"].append(run["seed"])
        case["final"].append(run["final_last10"])
        hit = [s for s, r in zip(run["steps"], run["mean_last20"]) if r >= 475]
        case["first_475"].append(hit[0] if hit else None)
    return out


def load_check(path: str | Path = CHECK_FILE) -> dict | None:
    """The stored script runs, or None if the file is missing."""
    path = Path(path)
    return json.loads(path.read_text()) if path.is_file() else None


def script_advice(config: PPOConfig, name: str = "your variant", check: dict | None = None) -> str:
    """What the page says under the script's download button: how to run it, the budget it trains,
    and what returns to expect — every number from ``check`` (:func:`load_check`), the “all on”
    script's own runs; without it, no numbers."""
    head = (
        "One file, CleanRL-shaped (Args, Agent with layer_init, get_value, get_action_and_value, "
        "the same loss names), every detail a named `if` on its setting. It needs only torch, "
        "numpy and gymnasium: `pip install torch numpy gymnasium`, then "
        f"`python {script_filename(name)}` trains {config.total_timesteps:,} steps, the budget set "
        "above (every setting is an option: `--seed 2`). "
    )
    tail = ("It trains on Gymnasium's own CartPole-v1 with its own random draws, so its curve is "
            "like the page's runs, not equal to them.")
    if check is None:
        return head + tail
    e = expectations(check)
    full, short, quick = e["run500k"], e["run50k"], e["run100k_noanneal"]
    reached = [s for s in full["first_475"] if s is not None]
    when = (f"first reaches 475 at {_span([s / 1000 for s in reached], '{:.0f}k')} steps; "
            if len(reached) == len(full["first_475"]) else "")
    seeds = {k: _span(v["seeds"], "{}") for k, v in e.items()}
    return head + (
        f"What to expect, measured with the “all on” script ({check['meta'].get('date', '?')}, "
        f"one CPU thread): at its default 500,000 steps it learns — the mean return of the last "
        f"20 episodes {when}the last 10 end at {_span(full['final'])} (seeds {seeds['run500k']}). "
        f"The learning rate anneals to 0 over whatever budget is given, so a "
        f"short budget stops learning early: at `--total-timesteps 50000` it ends at "
        f"{_span(short['final'])} (seeds {seeds['run50k']}). A quick run that keeps learning: "
        f"`--total-timesteps 100000 --anneal-lr false`, ending at {_span(quick['final'])} (seeds "
        f"{seeds['run100k_noanneal']}: not every seed is there yet). "
    ) + tail
