""""Run it yourself": one PPO variant as a standalone script (torch, numpy and gymnasium only),
generated from the readable reference's own source.

:func:`standalone_script` writes the file from
- ``standalone_ppo.py.template``: the frame (the module docstring, ``parse_args``, ``main``);
- ``Args``: ``PPOConfig``'s fields with the chosen variant's values as defaults, each with the
  docstring line ``PPOConfig`` has for it, and ``PPOConfig``'s own ``batch_size``,
  ``minibatch_size``, ``num_iterations`` and ``validate``, copied from its source;
- :class:`GymnasiumCartPole` (below): Gymnasium's own CartPole-v1 behind the interface of the
  toolbox's batched CartPole;
- the readable PPO, ``toolbox/ppo/reference.py``: ``ReferencePPO`` (named ``PPO``) and what it
  needs (``layer_init``, ``Agent``, …), its source text with ``config`` named ``args``, the
  ``BatchedCartPole(...)`` it builds replaced by a ``GymnasiumCartPole(...)``, marker comments
  removed; the loss it calls as ``L.<name>`` (``toolbox/ppo/loss.py``) as a class ``L`` of those
  functions;
- the toolbox helpers these use (random streams, running statistics, argument checks), copied
  from their modules by :mod:`toolbox.lessons.ppo.inline`, at the end of the file.

So a change of the reference changes the script; tests/test_ppo_script.py runs both and checks
that they compute the same numbers.
"""

from __future__ import annotations

import ast
import inspect
import json
import math
import re
import textwrap
from dataclasses import fields
from functools import lru_cache
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch

from toolbox.lessons.ppo import assemble, inline
from toolbox.ppo.config import PPOConfig

TEMPLATE = Path(__file__).with_name("standalone_ppo.py.template")
CHECK_FILE = Path(__file__).resolve().parents[3] / "results" / "ppo_script_check.json"
"""The script's own runs at the advised budgets (``benchmarks/ppo_script_check.py``)."""
SCRIPT_FIELDS = (
    ("seed", 1, ("seed of the run: network initialization, action sampling, minibatch shuffles, "
                 "environment resets")),
    ("env_id", "CartPole-v1", "the Gymnasium environment"),
    ("save_json", "", ("write every episode's return and every iteration's debug values to this "
                       "JSON file ('' = do not)")),
)
"""Fields of the script's ``Args`` ahead of PPOConfig's: (name, default, docstring)."""
REFERENCE, LOSS, CONFIG = "toolbox.ppo.reference", "toolbox.ppo.loss", "toolbox.ppo.config"
RENAMES = {"config": "args", "PPOConfig": "Args", "ReferencePPO": "PPO"}
"""Names of the reference's source changed in the script (CleanRL calls the settings ``args``)."""
ARGS_METHODS = ("batch_size", "minibatch_size", "num_iterations", "validate")
"""``PPOConfig``'s derived settings and checks, copied into ``Args``."""
FRAME_IMPORTS = frozenset({
    ("argparse", None, "argparse"), ("dataclasses", None, "dataclasses"),
    ("dataclasses", "dataclass", "dataclass"), ("json", None, "json"), ("time", None, "time"),
    ("gymnasium", None, "gym"), ("numpy", None, "np"), ("torch", None, "torch"),
})
"""What the frame (template, ``Args``, :class:`GymnasiumCartPole`) imports itself."""
RESOLVE_DEVICE = '''\
def resolve_device(device=None) -> torch.device:
    """The device to compute on: ``device`` ("cpu", "cuda", a ``torch.device``), the CPU when None.
    (The RL Toolbox's own version also reads an environment variable and checks the request.)"""
    return torch.device("cpu" if device is None else device)'''
"""The script's stand-in for ``toolbox.device.resolve_device`` (which reads the app's settings)."""


class GymnasiumCartPole:
    """``num_envs`` copies of Gymnasium's own ``env_id`` (CartPole-v1) stepped together, behind the
    interface of the RL Toolbox's batched CartPole that the PPO code below was written for: torch
    tensors in and out, same-step autoreset, and ``infos["final_obs"]``, every environment's
    observation before any reset (equal to ``obs`` where no episode ended)."""

    def __init__(self, env_id: str, num_envs: int, seed: int, device=None):
        # same-step autoreset: when an episode ends, the returned observation is already the next
        # episode's first one and the true last observation is in infos["final_obs"]
        self.envs = gym.vector.SyncVectorEnv(
            [lambda: gym.make(env_id) for _ in range(num_envs)],
            autoreset_mode=gym.vector.AutoresetMode.SAME_STEP,
        )
        self.seed, self.device = int(seed), device

    def reset(self) -> torch.Tensor:
        """Reset every environment (environment i from seed + i); returns ``obs (N, 4)`` float32."""
        obs, _ = self.envs.reset(seed=self.seed)
        return torch.tensor(obs, dtype=torch.float32, device=self.device)

    def step(self, actions: torch.Tensor):
        """One step with ``actions (N,)``: ``(obs, reward, terminated, truncated, infos)``."""
        obs, reward, terminated, truncated, infos = self.envs.step(actions.cpu().numpy())
        final_obs = obs.copy()
        for i in np.flatnonzero(infos.get("_final_obs", [])):
            final_obs[i] = infos["final_obs"][i]
        return (
            torch.tensor(obs, dtype=torch.float32, device=self.device),
            torch.tensor(reward, dtype=torch.float32, device=self.device),
            torch.tensor(terminated, dtype=torch.bool, device=self.device),
            torch.tensor(truncated, dtype=torch.bool, device=self.device),
            {"final_obs": torch.tensor(final_obs, dtype=torch.float32, device=self.device)},
        )

    def close(self) -> None:
        self.envs.close()


@lru_cache(maxsize=1)
def field_docs() -> dict[str, str]:
    """``{field: docstring}`` of ``PPOConfig``, read from the docstring lines under its fields in
    the source."""
    cls = inline.read_module(CONFIG).defs["PPOConfig"]
    docs, previous = {}, None
    for node in cls.body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            previous = node.target.id
        elif (previous and isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
              and isinstance(node.value.value, str)):
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
        return "float | None"
    return type(value).__name__


def args_block(config: PPOConfig, seed: int = 1) -> str:
    """The fields of the script's ``Args`` dataclass: one ``name: type = value`` line per field,
    then its docstring, with ``config``'s values as the defaults."""
    docs = field_docs()
    lines = []
    rows = [(n, seed if n == "seed" else d, doc) for n, d, doc in SCRIPT_FIELDS]
    rows += [(f.name, getattr(config, f.name), docs.get(f.name, "")) for f in fields(PPOConfig)]
    for name, value, doc in rows:
        lines.append(f"    {name}: {_annotation(name, value)} = {_literal(value)}")
        if doc:
            lines.append(f'    """{doc.replace(chr(34) * 3, chr(39) * 3)}"""')
    return "\n".join(lines) + "\n"


def _use_gymnasium(module: str, name: str, text: str) -> str:
    """The reference's ``BatchedCartPole(E, device=…, env_keys=rng.stream_key(seed, …))`` as
    ``GymnasiumCartPole(config.env_id, E, seed, device=…)``: Gymnasium's CartPole, seeded with
    the run's seed."""
    if module != REFERENCE:
        return text
    return assemble.use_gymnasium(text, "BatchedCartPole", "GymnasiumCartPole", "config")


def _loss_class(inl: inline.Inliner) -> str:
    """The loss functions the reference calls as ``L.<name>``, as static methods of a class ``L``
    (the reference's own lines then read the same in the script)."""
    loss = inl.module(LOSS)
    summary = ast.get_docstring(loss.tree).split("\n\n")[0]
    parts = ["class L:", textwrap.indent(f'"""{summary}\n"""', "    ")]
    for name in sorted(inl.namespace_names.get(LOSS, []), key=lambda n: loss.defs[n].lineno):
        text = inline.definition_text(loss, loss.defs[name])
        if any(n in loss.defs for n in assemble.names_used(text) if n != name):
            raise ValueError(f"L.{name} uses another definition of the loss module; the script "
                             f"keeps each loss function on its own.")
        inl.uses(loss, text)
        parts += ["", "    @staticmethod", textwrap.indent(text, "    ")]
    return "\n".join(parts)


def _args_methods(inl: inline.Inliner) -> str:
    """``PPOConfig``'s derived settings and ``validate``, as written in its class (dedented)."""
    config = inl.module(CONFIG)
    texts = []
    for node in config.defs["PPOConfig"].body:
        if isinstance(node, ast.FunctionDef) and node.name in ARGS_METHODS:
            first, last = inline.node_lines(config, node)
            texts.append(textwrap.dedent("\n".join(config.lines[first - 1:last])))
    text = "\n\n".join(texts)
    inl.uses(config, text)
    return inline.rewrite_names(text, RENAMES).replace('"PPOConfig"', '"Args"')


@lru_cache(maxsize=1)
def script_parts() -> dict[str, str]:
    """The variant-independent parts of the script, written from the current source of the
    reference, the loss, ``PPOConfig`` and the helpers: ``IMPORTS``, ``ARGS_METHODS``,
    ``ENVIRONMENT``, ``PPO``, ``HELPERS``. ``script_parts.cache_clear()`` reads the sources
    again."""
    inl = inline.Inliner(
        provided=frozenset({(CONFIG, "PPOConfig"), ("toolbox.device", "resolve_device")}),
        namespaces=frozenset({LOSS}), rewrite=_use_gymnasium)
    inl.need(REFERENCE, "ReferencePPO")
    args_methods = _args_methods(inl)
    loss_class = _loss_class(inl)
    ppo = []
    for item in sorted((i for i in inl.items if i.module == REFERENCE), key=lambda i: i.line):
        if "L" in assemble.names_used(item.text) and loss_class not in ppo:
            ppo.append(loss_class)  # the loss just before the first code that calls it
        ppo.append(inline.rewrite_names(item.text, RENAMES, item.strip))
    environment = inspect.getsource(GymnasiumCartPole).rstrip()
    copied = [i for i in inl.items if i.module != REFERENCE]
    frame = [TEMPLATE.read_text(encoding="utf-8"), args_methods, environment, *ppo]
    texts = inline.prune_methods(frame, [inline.rewrite_names(i.text, {}, i.strip) for i in copied])
    defined = {n: "" for n in ("Args", "parse_args", "main", "GymnasiumCartPole", "L",
                               "resolve_device")}
    defined.update((n, t) for t in ppo for n in assemble.defines(t))
    helpers = [RESOLVE_DEVICE,
               *assemble.module_sections(inl, list(zip(copied, texts)), defined)]
    return {
        "IMPORTS": "from __future__ import annotations\n\n"
                   + inline.import_lines(inl.imports | FRAME_IMPORTS),
        "ARGS_METHODS": textwrap.indent(args_methods, "    "),
        "ENVIRONMENT": environment,
        "PPO": inline.plain_roles("\n\n\n".join(ppo)),
        "HELPERS": inline.plain_roles("\n\n\n".join(helpers)),
    }


def script_filename(name: str) -> str:
    """A file name for the script of the variant called ``name``, e.g.
    ``ppo_no_gae_mc_returns.py``."""
    slug = re.sub(r"[^a-z0-9]+", "_", str(name).lower()).strip("_")[:60] or "variant"
    return f"ppo_{slug}.py"


def standalone_script(config: PPOConfig, name: str = "your variant", seed: int = 1) -> str:
    """The text of a standalone PPO script that trains ``config`` on
    ``gymnasium.make("CartPole-v1")``.

    The script imports only torch, numpy, gymnasium and the standard library, takes every setting
    as a command-line option (``--total-timesteps 30000``) and prints ``final mean return (last
    10 episodes): …`` at the end. Raises ``ValueError`` for settings that cannot be trained
    (``PPOConfig.validate``).
    """
    if not isinstance(config, PPOConfig):
        raise ValueError(f"the script is written from a PPOConfig; got {type(config).__name__}.")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a whole number ≥ 0; got {seed!r}.")
    config.validate()
    parts = script_parts()
    title = " ".join(str(name).split())[:80]
    text = TEMPLATE.read_text(encoding="utf-8")
    text = text.replace("@ARGS@\n", args_block(config, seed) + "\n" + parts["ARGS_METHODS"] + "\n")
    text = text.replace("@TITLE@", title.replace('"""', "'''").replace("\\", "/"))
    text = text.replace("@FILENAME@", script_filename(name))
    for key in ("IMPORTS", "ENVIRONMENT", "PPO", "HELPERS"):
        text = text.replace(f"@{key}@", parts[key])
    return text


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
        "One file, written from the page's own readable PPO (the code in the cards above: Args, "
        "Agent with layer_init, get_value, get_action_and_value, the loss functions, the PPO "
        "class), every detail a named setting of `args`. It needs only torch, numpy and "
        "gymnasium: `pip install torch numpy gymnasium`, then "
        f"`python {script_filename(name)}` trains {config.total_timesteps:,} steps, the budget set "
        "above (every setting is an option: `--seed 2`). "
    )
    tail = ("It trains on Gymnasium's own CartPole-v1, whose episodes start from Gymnasium's own "
            "random draws, so its curve is like the page's runs, not equal to them; everything "
            "else (initialization, actions, shuffles) follows the seed as on the page.")
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
