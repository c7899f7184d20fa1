""""Run it yourself": one continuous-action PPO variant on Pendulum-v1 as a standalone script
(torch, numpy and gymnasium only), generated from the readable reference's own source.

:func:`standalone_script` writes the file from
- ``standalone_ppo_continuous.py.template``: the frame (the module docstring naming the variant
  and its budget, ``parse_args``, ``main``);
- ``Args``: the class of ``toolbox/ppo/continuous/args.py`` as written there (docstring line per
  field, derived settings, ``validate``), with the chosen variant's values as the defaults and the
  script's own ``seed``, ``env_id`` and ``save_json`` ahead of them;
- :class:`GymnasiumPendulum` (below): Gymnasium's own Pendulum-v1 behind the interface of the
  toolbox's batched Pendulum;
- the readable continuous PPO, ``toolbox/ppo/continuous/reference.py``: ``ReferencePPO`` (named
  ``PPO``) and what it needs (``Agent``, ``ppo_loss``, ``Observe``, …), its source text with the
  ``BatchedPendulum(...)`` it builds replaced by a ``GymnasiumPendulum(...)``;
- the algorithm functions it imports (the losses and GAE of ``toolbox/ppo/loss.py``, the Gaussian
  policy of ``toolbox/ppo/continuous/policy.py``, ``layer_init``) before it, and the toolbox
  helpers (random streams, running statistics, argument checks) at the end of the file, all
  copied from their modules by :mod:`toolbox.lessons.ppo.inline` and laid out by
  :mod:`toolbox.lessons.ppo.assemble`, as the CartPole lesson's script is.

So a change of the reference changes the script; tests/test_ppo_continuous_script.py runs both
and checks that they compute the same numbers.
"""

from __future__ import annotations

import ast
import inspect
import itertools
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
from toolbox.lessons.ppo.script import FRAME_IMPORTS, RESOLVE_DEVICE
from toolbox.ppo.continuous.args import ENV_ID, PENDULUM, Args
from toolbox.ppo.continuous.reference import ACT_DIM, OBS_DIM

TEMPLATE = Path(__file__).with_name("standalone_ppo_continuous.py.template")
CHECK_FILE = Path(__file__).resolve().parents[3] / "results" / "ppo_continuous_script_check.json"
"""The script's own runs at the page's budget (``benchmarks/ppo_continuous_script_check.py``)."""
REFERENCE, ARGS_MODULE = "toolbox.ppo.continuous.reference", "toolbox.ppo.continuous.args"
MATHEMATICS = ("toolbox.ppo.loss", "toolbox.ppo.continuous.policy", "toolbox.ppo.reference")
"""Algorithm modules whose copied functions stand before the PPO code (the rest goes last)."""
RENAMES = {"ReferencePPO": "PPO", "BatchedPendulum": "GymnasiumPendulum", "step_fast": "step"}
"""Names of the reference's source changed in the script."""
SCRIPT_FIELDS = (
    ("seed", 1, ("seed of the run: network initialization, action noise, minibatch shuffles, "
                 "environment resets")),
    ("env_id", ENV_ID, "the Gymnasium environment"),
    ("save_json", "", ("write every episode's return and every iteration's debug values to this "
                       "JSON file ('' = do not)")),
)
"""Fields of the script's ``Args`` ahead of the reference's: (name, default, docstring)."""
ARGS_DOC = ('"""The settings of this run: the variant named at the top of the file. Every field '
            'is a\n    command-line option (parse_args)."""')
_UNMARK = re.compile(r"#\s*\[/?detail:\w+\]\s*")
"""A detail marker followed by a remark on its line: the remark stays, the marker goes."""
FINAL = re.compile(r"final mean return \(last 32 episodes\): ([-\d.na]+)")
"""The script's final score, as the benchmark and the tests read it."""
CPU = re.compile(r"\(([\d.]+) s of CPU time\)")
"""The script's CPU time, as the benchmark reads it."""


class GymnasiumPendulum:
    """``num_envs`` copies of Gymnasium's own ``env_id`` (Pendulum-v1) stepped together, behind the
    interface of the RL Toolbox's batched Pendulum that the PPO code below was written for: torch
    tensors in and out, same-step autoreset (where an episode ended, the returned observation is
    already the next episode's first one), rewards in float64."""

    action_low, action_high = -2.0, 2.0
    """Pendulum-v1's torque bounds (its action space)."""

    def __init__(self, env_id: str, num_envs: int, seed: int, device=None):
        self.envs = gym.vector.SyncVectorEnv(
            [lambda: gym.make(env_id) for _ in range(num_envs)],
            autoreset_mode=gym.vector.AutoresetMode.SAME_STEP,
        )
        obs_shape = self.envs.single_observation_space.shape
        space = self.envs.single_action_space
        if obs_shape != (OBS_DIM,) or space.shape != (ACT_DIM,) or not (
                np.all(space.low == self.action_low) and np.all(space.high == self.action_high)):
            self.envs.close()
            raise SystemExit(
                f"{env_id} has observations of shape {obs_shape} and actions of shape "
                f"{space.shape} in [{space.low}, {space.high}]; this file's networks and action "
                f"clipping are written for Pendulum-v1 ({OBS_DIM} numbers in, {ACT_DIM} torque in "
                f"[{self.action_low}, {self.action_high}] out). For another task, change OBS_DIM, "
                "ACT_DIM and action_low/action_high to its spaces.")
        self.seed, self.device = int(seed), device

    def reset(self) -> torch.Tensor:
        """Reset every environment (environment i from seed + i); returns ``obs (N, 3)`` float32."""
        obs, _ = self.envs.reset(seed=self.seed)
        return torch.tensor(obs, dtype=torch.float32, device=self.device)

    def step(self, actions: torch.Tensor):
        """One step with torques ``actions (N, 1)``: ``(obs, reward, terminated, truncated,
        {})``."""
        obs, reward, terminated, truncated, _ = self.envs.step(actions.cpu().numpy())
        return (
            torch.tensor(obs, dtype=torch.float32, device=self.device),
            torch.tensor(reward, dtype=torch.float64, device=self.device),
            torch.tensor(terminated, dtype=torch.bool, device=self.device),
            torch.tensor(truncated, dtype=torch.bool, device=self.device),
            {},
        )

    def close(self) -> None:
        self.envs.close()


def _use_gymnasium(module: str, name: str, text: str) -> str:
    """The reference's ``BatchedPendulum(E, device=…, env_keys=…(seed, …))`` as
    ``GymnasiumPendulum(args.env_id, E, seed, device=…)``, and its names as the script's."""
    if module != REFERENCE:
        return text
    text = assemble.use_gymnasium(text, "BatchedPendulum", "GymnasiumPendulum", "args")
    return inline.rewrite_names(text, RENAMES)


def _literal(value) -> str:
    """A Python literal for a setting (``repr``: floats read back exactly)."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"a setting of {value!r} cannot be written into a script.")
    return repr(value)


@lru_cache(maxsize=1)
def _args_source() -> str:
    m = inline.read_module(ARGS_MODULE)
    return inline.definition_text(m, m.defs["Args"])


def args_class(args: Args, seed: int = 1) -> str:
    """The script's ``Args``: the reference's class as written, its defaults ``args``'s values, its
    docstring the script's, and the fields of :data:`SCRIPT_FIELDS` first."""
    text = _args_source()
    cls = next(n for n in ast.parse(text).body if isinstance(n, ast.ClassDef))
    lines = text.split("\n")
    edits = []  # (line, start col, end line, end col, new text); one line each here
    for node in cls.body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            v = node.value
            edits.append((v.lineno, v.col_offset, v.end_lineno, v.end_col_offset,
                          _literal(getattr(args, node.target.id))))
    doc = cls.body[0]
    edits.append((doc.lineno, doc.col_offset, doc.end_lineno, doc.end_col_offset, ARGS_DOC))
    for first, start, last, end, new in sorted(edits, reverse=True):
        lines[first - 1:last] = [lines[first - 1][:start] + new + lines[last - 1][end:]]
    extra = [f"    {n}: {type(d).__name__} = {_literal(seed if n == 'seed' else d)}\n"
             + textwrap.fill(f'"""{text}"""', 100, initial_indent="    ",
                             subsequent_indent="    ") for n, d, text in SCRIPT_FIELDS]
    at = doc.lineno  # the docstring is one item of `lines` now: the index after it
    return "\n".join(lines[:at] + ["", *extra] + lines[at + 1:])


@lru_cache(maxsize=1)
def script_parts() -> dict[str, str]:
    """The variant-independent parts of the script, written from the current source of the
    reference and what it calls: ``IMPORTS``, ``ENVIRONMENT``, ``MATHEMATICS``, ``PPO``,
    ``HELPERS``. ``script_parts.cache_clear()`` reads the sources again."""
    _args_source.cache_clear()
    inl = inline.Inliner(
        provided=frozenset({(ARGS_MODULE, "Args"), ("toolbox.device", "resolve_device"),
                            ("toolbox.envs.pendulum", "BatchedPendulum")}),
        rewrite=_use_gymnasium)
    inl.need(REFERENCE, "ReferencePPO")
    args_text = args_class(PENDULUM)
    inl.uses(inl.module(ARGS_MODULE), args_text)
    ppo = [inline.rewrite_names(i.text, {}, i.strip)
           for i in sorted((i for i in inl.items if i.module == REFERENCE), key=lambda i: i.line)]
    environment = inspect.getsource(GymnasiumPendulum).rstrip()
    copied = [i for i in inl.items if i.module != REFERENCE]
    frame = [TEMPLATE.read_text(encoding="utf-8"), args_text, environment, *ppo]
    texts = inline.prune_methods(frame, [inline.rewrite_names(i.text, {}, i.strip) for i in copied])
    defined = {n: "" for n in ("Args", "parse_args", "main", "GymnasiumPendulum")}
    defined.update((n, t) for t in ppo for n in assemble.defines(t))
    pairs = list(zip(copied, texts))
    maths = assemble.module_sections(inl, [p for p in pairs if p[0].module in MATHEMATICS],
                                     defined)
    helpers = assemble.module_sections(inl, [p for p in pairs if p[0].module not in MATHEMATICS],
                                       defined)
    if any("resolve_device" in assemble.names_used(t) for t in texts):
        helpers.insert(0, RESOLVE_DEVICE)
    imports = inl.imports | FRAME_IMPORTS
    if ("torch", "nn", "nn") in imports:  # `from torch import nn` and `import torch.nn as nn`
        imports.discard(("torch.nn", None, "nn"))
    ppo_text = ppo[0]
    for previous, text in itertools.pairwise(ppo):
        constants = all(t.split("\n")[0][:1].isupper() for t in (previous, text))
        ppo_text += ("\n" if constants else "\n\n\n") + text  # constants: no blank lines
    return {"IMPORTS": "from __future__ import annotations\n\n" + inline.import_lines(imports),
            "ENVIRONMENT": environment,
            **{key: _UNMARK.sub("# ", inline.plain_roles(text)) for key, text in (
                ("MATHEMATICS", "\n\n\n".join(maths)), ("PPO", ppo_text),
                ("HELPERS", "\n\n\n".join(helpers)))}}


def script_filename(name: str) -> str:
    """A file name for the script of the variant called ``name``, e.g.
    ``ppo_continuous_norm_obs_off_raw_observations.py``."""
    slug = re.sub(r"[^a-z0-9]+", "_", str(name).lower()).strip("_")[:60] or "variant"
    return f"ppo_continuous_{slug}.py"


def _settings(args: Args, base: Args) -> list[str]:
    return [f"{f.name} = {getattr(args, f.name)!r}" for f in fields(Args)
            if f.name != "total_timesteps" and getattr(args, f.name) != getattr(base, f.name)]


def variant_sentence(args: Args) -> str:
    """What the variant is, in words: the page's Pendulum settings and its departures from them."""
    page = ", ".join(_settings(PENDULUM, Args()))
    changed = _settings(args, PENDULUM)
    if not changed:
        return (f"every detail of CleanRL's ppo_continuous_action.py on, with the page's "
                f"Pendulum settings ({page}).")
    return (f"the page's “all on” ({page}, every detail of CleanRL's ppo_continuous_action.py on) "
            f"with {', '.join(changed)}.")


def standalone_script(args: Args, name: str = "your variant", seed: int = 1) -> str:
    """The text of a standalone PPO script that trains ``args`` on ``gymnasium.make("Pendulum-v1")``
    (16 environments stepped together by Gymnasium's ``SyncVectorEnv``).

    The script imports only torch, numpy, gymnasium and the standard library, says at its top
    which variant it is and its budget, takes every setting as a command-line option
    (``--total-timesteps 4096``) and prints ``final mean return (last 32 episodes): …`` at the
    end. Raises ``ValueError`` for settings that cannot be trained (``Args.validate``).
    """
    if not isinstance(args, Args):
        raise ValueError(f"the script is written from an Args; got {type(args).__name__}.")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a whole number ≥ 0; got {seed!r}.")
    args.validate()
    parts = script_parts()  # first: it may clear the cache of the Args source
    title = " ".join(str(name).split())[:80].replace('"""', "'''").replace("\\", "/")
    variant = textwrap.fill(f"Variant: {title}: {variant_sentence(args)}", 99)
    text = TEMPLATE.read_text(encoding="utf-8")
    for key, value in (("ARGS", args_class(args, seed)), ("TITLE", title),
                       ("VARIANT", variant.removeprefix("Variant: ")),
                       ("BUDGET", f"{args.total_timesteps:,}"),
                       ("ITERATIONS", str(args.num_iterations)), ("ENVS", str(args.num_envs)),
                       ("STEPS", str(args.num_steps)), ("FILENAME", script_filename(name)),
                       *parts.items()):
        text = text.replace(f"@{key}@", value)
    return text


def load_check(path: str | Path = CHECK_FILE) -> dict | None:
    """The stored script runs, or None if the file is missing."""
    path = Path(path)
    return json.loads(path.read_text()) if path.is_file() else None


def _span(values) -> str:
    lo, hi = (f"{v:,.0f}".replace("-", "−") for v in (min(values), max(values)))
    return lo if lo == hi else f"{lo} to {hi}"


def script_note(args: Args, name: str, check: dict | None = None) -> str:
    """What the page says under the download button: what the file is, how to run it, its budget
    and — from ``check`` (:func:`load_check`), the scripts' own runs — what returns to expect."""
    text = (
        f"One file, written from the page's own readable continuous PPO "
        f"(toolbox/ppo/continuous/reference.py and what it calls), every detail a named setting "
        f"of `args`, with the settings of “{name}” as its defaults. It needs only torch, numpy "
        f"and gymnasium: `pip install torch numpy gymnasium`, then "
        f"`python {script_filename(name)}` trains {args.total_timesteps:,} steps, the budget of "
        f"the grid above, on Gymnasium's own Pendulum-v1 (every setting is an option: "
        f"`--seed 2`). Its episodes start from Gymnasium's random draws, so its curve is like "
        f"the page's runs, not equal to them.")
    runs = [r for r in (check or {}).get("runs", []) if r.get("variant") == name]
    if runs:
        finals = [r["final_last32"] for r in runs]
        text += (f" Measured with this script ({check['meta'].get('date', '?')}, one CPU thread, "
                 f"about {np.mean([r['cpu_seconds'] for r in runs]):.0f} s of CPU time a run): "
                 f"the last 32 episodes "
                 f"average {_span(finals)} (seeds {', '.join(str(r['seed']) for r in runs)}); "
                 f"random torques score about −1,250.")
    elif check:
        measured = " and ".join(f"“{v}”" for v in dict.fromkeys(r["variant"]
                                                              for r in check.get("runs", [])))
        text += (f" Expect returns like this variant's in the grid above (the script itself "
                 f"was measured for {measured}).")
    return text
