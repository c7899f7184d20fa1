"""The compiled continuous-PPO kernel's named arguments (:mod:`.compiled_kernel`), as
:mod:`toolbox.ppo.layout` names CartPole's.

* :data:`TOWER`: where each parameter block sits in one tower's row of ``theta (K·R, P)``, the
  layout of :mod:`~toolbox.ppo.continuous.stacked` (so the tensor runner's initialization and its
  mapping to the reference's parameter names serve this path too); :data:`OUT`: the tower's output
  columns ``[μ, log σ(s), V]``;
* :class:`Settings`: the runs' hyper-parameters, one ``(R,)`` array per
  :class:`~toolbox.ppo.continuous.args.Args` field of the same name, and their on/off details as
  the columns :data:`SWITCH` names of one ``switches (R, 13)`` array;
* :class:`Sizes`, :class:`Params`, :class:`Envs`, :class:`Keys`, :class:`Stats`,
  :class:`Rollout`, :class:`Log`: the runs' state.

Numba passes named tuples to compiled code field by field (an array field is the host's own
buffer, nothing is copied), and a global named tuple of integers is a compile-time constant:
``fl[SWITCH.norm_obs]`` costs what ``fl[4]`` would.
"""

from __future__ import annotations

import math
from collections import namedtuple
from dataclasses import fields
from typing import Sequence

import numpy as np

from toolbox.ppo.continuous import stacked
from toolbox.ppo.continuous.args import Args

TowerLayout = namedtuple("TowerLayout", [name for name, _, _ in stacked.LAYOUT])
TOWER = TowerLayout(*(stacked.OFFSETS[name][0] for name in TowerLayout._fields))
"""Offsets of ``W1 (3, 64), b1, W2 (64, 64), b2, W3 (64, 3), b3, log_std (1,), offdiag (1,)`` in
one tower's row (weights ``(in, out)``)."""
OUT = namedtuple("OutputColumn", "mean log_std value")(
    stacked.COL_MEAN, stacked.COL_LOGSTD, stacked.COL_VALUE)
"""The columns of a tower's output ``y (n, 3)``."""

HYPER_PARAMETERS = ("learning_rate", "adam_eps", "clip_coef", "ent_coef", "vf_coef",
                    "max_grad_norm", "gae_lambda", "obs_clip", "reward_clip")
SWITCHES = ("gaussian_policy", "state_independent_std", "shared_network", "clip_action",
            "norm_obs", "clip_obs", "norm_reward", "clip_reward", "anneal_lr", "norm_adv",
            "clip_surrogate", "clip_vloss", "clip_grad")
SWITCH = namedtuple("Switch", SWITCHES)(*range(len(SWITCHES)))
"""The column of each on/off detail in ``Settings.switches`` (``fl[SWITCH.clip_action]``).
Not here: ``orthogonal_init`` acts when the host draws the initial parameters, ``gae`` sets
``gae_lambda`` to 1, and ``independent_actions`` changes nothing for one action component (its
correlation parameter gets a zero gradient and stays 0, as in the reference)."""
_names = {f.name for f in fields(Args)}
assert not set(HYPER_PARAMETERS + SWITCHES) - _names, "setting names are Args fields"

Settings = namedtuple("Settings", HYPER_PARAMETERS + ("switches",))
Settings.__doc__ = """Per-run hyper-parameters, ``(R,)`` float64 arrays named as :class:`Args`'
fields (``learning_rate`` is the initial one, ``gae_lambda`` is 1 without GAE); ``switches
(R, 13)`` bool, columns :data:`SWITCH`."""

Sizes = namedtuple("Sizes", "runs towers steps envs minibatch epochs iterations gamma target_kl")
Sizes.__doc__ = """What every run of one call shares: ``R`` runs, ``K`` towers per run in
``theta`` (1: all runs share a trunk, 2: actor and critic), ``T`` steps per rollout, ``E``
environments per run, ``M`` rows per minibatch, update ``epochs``, the budget's ``iterations``
(the learning rate anneals over them), the discount ``gamma`` and ``target_kl`` (inf: none)."""

Params = namedtuple("Params", "theta exp_avg exp_avg_sq adam_step")
Params.__doc__ = """The parameters ``theta (K·R, P)`` (tower-major rows laid out by
:data:`TOWER`), Adam's moments ``exp_avg, exp_avg_sq (K·R, P)`` and each run's step count
``adam_step (R,)`` int64."""

Envs = namedtuple("Envs", "state elapsed resets episode_return")
Envs.__doc__ = """The ``R·E`` pendulums (run-major, float64 ``state (R·E, 2)`` = ``[θ, θ̇]``),
their steps into the episode ``elapsed (R·E,)`` int64, reset draws so far ``resets (R·E,)`` int64
(the counter of the next one) and the return of the running episode ``episode_return (R·E,)``
float64 (the environment's own rewards)."""

Keys = namedtuple("Keys", "env action permutation")
Keys.__doc__ = """The random streams' keys (:mod:`toolbox.rng`), int64: reset draws ``env
(R·E,)``, action noise ``action (R, E)``, minibatch shuffles ``permutation (R,)``."""

Stats = namedtuple("Stats", "obs_mean obs_var obs_count discounted ret_var ret_mean ret_count")
Stats.__doc__ = """Running statistics per (run, environment), float64 (CleanRL's
per-environment wrappers): observations ``obs_mean, obs_var (R, E, 3)``; the discounted return
``discounted (R, E)`` and its moments ``ret_mean, ret_var (R, E)``; one sample per step each, so
one count per run: ``obs_count, ret_count (R,)``."""

Rollout = namedtuple("Rollout", "next_obs next_done obs actions logprobs rewards dones values "
                                "advantages returns")
Rollout.__doc__ = """The rollout in the runner's precision, run-major (run ``r``'s batch is the
contiguous block ``[r]``, transition ``t·E + e`` as CleanRL flattens it): the observation after
the last step ``next_obs (R, E, 3)`` and ``next_done (R, E)``; per step ``obs (R, T, E, 3)`` and
``actions, logprobs, rewards, dones, values, advantages, returns (R, T, E)``."""

DEBUG_COLUMNS = ("pg_loss", "v_loss", "entropy", "approx_kl", "clipfrac", "grad_norm")
DEBUG = namedtuple("DebugColumn", DEBUG_COLUMNS)(*range(len(DEBUG_COLUMNS)))
"""The reference's ``update()`` values (of the last minibatch) in ``Log.debug``'s columns."""
Log = namedtuple("Log", "ep_end ep_return debug")
Log.__doc__ = """Per iteration ``i`` of a call: episode ends ``ep_end (n, R, T, E)`` bool, their
returns ``ep_return (n, R, T, E)`` float64 and ``debug (n, R, 6)`` float64 (:data:`DEBUG`)."""


def _setting(args: Args, name: str) -> float:
    if name == "gae_lambda":  # [detail:gae] off: λ = 1, returns bootstrapped at the end
        return args.gae_lambda if args.gae else 1.0
    return getattr(args, name)


def settings(run_args: Sequence[Args]) -> Settings:
    """The :class:`Settings` of runs with ``run_args`` (one per run)."""
    values = {name: np.array([_setting(a, name) for a in run_args], np.float64)
              for name in HYPER_PARAMETERS}
    switches = np.array([[getattr(a, name) for name in SWITCHES] for a in run_args], np.bool_)
    return Settings(switches=switches, **values)


def sizes(args: Args, runs: int, towers: int) -> Sizes:
    """The :class:`Sizes` of ``runs`` runs of ``args``' structure in ``towers`` towers each."""
    return Sizes(runs, towers, args.num_steps, args.num_envs, args.minibatch_size,
                 args.update_epochs, args.num_iterations, float(args.gamma),
                 math.inf if args.target_kl is None else float(args.target_kl))
