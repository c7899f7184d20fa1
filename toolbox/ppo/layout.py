"""The compiled PPO kernel's named arguments (:mod:`toolbox.ppo.compiled_kernel`), as
:mod:`toolbox.dial.layout` names DIAL's.

* :data:`TOWER`: where each parameter block sits in one tower's row of ``theta (K·R, P)``,
  generated from :data:`toolbox.ppo.agent.LAYOUT`'s names (``TOWER.W2`` is the offset of the
  second layer's weights);
* :class:`Settings`: the runs' hyper-parameters, one ``(R,)`` array per :class:`PPOConfig` field
  of the same name, and their on/off details as the columns :data:`SWITCH` names of one
  ``switches (R, 7)`` array;
* :class:`Sizes`, :class:`Params`, :class:`Envs`, :class:`Keys`, :class:`Moments`,
  :class:`RewardScale`, :class:`Rollout`, :class:`Log`: the group's state, grouped as
  :class:`toolbox.ppo.group.Group` keeps it.

Numba passes named tuples to compiled code field by field (nothing is copied: an array field is
the group's own buffer), and a global named tuple of integers is a compile-time constant, so
``fl[SWITCH.clip_grad]`` costs what ``fl[3]`` did.
"""

from __future__ import annotations

import dataclasses
import math
from collections import namedtuple
from typing import Sequence

import numpy as np

from toolbox.ppo import agent as A
from toolbox.ppo.config import PPOConfig

TowerLayout = namedtuple("TowerLayout", [name for name, _, _ in A.LAYOUT])
TOWER = TowerLayout(*(A.OFFSETS[name][0] for name in TowerLayout._fields))
"""Offsets of ``W1 (4, 64), b1, W2 (64, 64), b2, W3 (64, 3), b3`` in one tower's parameter row
(weights ``(in, out)``, as :mod:`toolbox.ppo.agent` stores them)."""

HYPER_PARAMETERS = ("learning_rate", "anneal_lr", "adam_eps", "clip_coef", "ent_coef", "vf_coef",
                    "max_grad_norm", "target_kl", "gamma", "gae_lambda")
SWITCHES = ("norm_adv", "clip_surrogate", "clip_vloss", "clip_grad", "norm_obs", "norm_reward",
            "bootstrap_truncation")
Switch = namedtuple("Switch", SWITCHES)
SWITCH = Switch(*range(len(SWITCHES)))
"""The column of each on/off detail in ``Settings.switches`` (``fl[SWITCH.norm_adv]``); the order
is the one ``minibatch_grad``'s callers pass."""
_missing = set(HYPER_PARAMETERS + SWITCHES) - {f.name for f in dataclasses.fields(PPOConfig)}
assert not _missing, f"not PPOConfig fields: {_missing}"  # the names are the config's, checked

Settings = namedtuple("Settings", HYPER_PARAMETERS + ("switches",))
Settings.__doc__ = """Per-run hyper-parameters, ``(R,)`` arrays named as :class:`PPOConfig`'s
fields (float64; ``anneal_lr`` bool): ``learning_rate`` is the initial one, ``target_kl`` is inf
for none, ``gae_lambda`` is 1 without GAE (Monte-Carlo returns); ``switches (R, 7)`` bool, columns
:data:`SWITCH`."""

Sizes = namedtuple("Sizes", "runs towers steps envs minibatch epochs iterations")
Sizes.__doc__ = """``R`` runs, ``K`` towers (1: shared trunk, 2: actor and critic), ``T`` steps
per rollout, ``E`` environments per run, ``M`` rows per minibatch, update ``epochs``, and the
runs' number of ``iterations`` (the learning rate anneals over them)."""

Params = namedtuple("Params", "theta exp_avg exp_avg_sq adam_step")
Params.__doc__ = """The parameters ``theta (K·R, P)`` (tower-major rows, laid out by
:data:`TOWER`), Adam's moments ``exp_avg, exp_avg_sq (K·R, P)`` float32 and each run's step count
``adam_step (R,)`` int64."""

Envs = namedtuple("Envs", "state elapsed counter")
Envs.__doc__ = """The ``R·E`` CartPoles (run-major): ``state (R·E, 4)`` float64, ``elapsed (R·E,)``
int64 steps into the episode, and the step ``counter`` their reset noise is drawn at."""

Keys = namedtuple("Keys", "env action permutation")
Keys.__doc__ = """The random streams' keys (:mod:`toolbox.rng`), int64: reset noise ``env (R·E,)``,
action samples ``action (R, E)``, minibatch shuffles ``permutation (R,)``."""

Moments = namedtuple("Moments", "mean var count")
Moments.__doc__ = """Running observation statistics, float64: ``mean, var (R, 4)``, ``count (R,)``
(dummies for runs without observation normalization)."""

RewardScale = namedtuple("RewardScale", "accumulated mean var count")
RewardScale.__doc__ = """Reward scaling's discounted return ``accumulated (R, E)`` and its running
moments ``mean, var, count (R,)``, float64 (dummies for runs without reward scaling)."""

Rollout = namedtuple("Rollout", "next_obs next_raw_obs next_done obs raw_obs keep_raw actions "
                                "logprobs rewards dones values advantages returns")
Rollout.__doc__ = """The rollout buffers, float32: the observation after the last step,
normalized ``next_obs`` and raw ``next_raw_obs (R, E, 4)``, ``next_done (R, E)``; per step
``obs, raw_obs (T, R, E, 4)`` (``raw_obs`` is written when ``keep_raw``: with observation
normalization) and ``actions, logprobs, rewards, dones, values, advantages, returns (T, R, E)``."""

Log = namedtuple("Log", "ep_end debug")
Log.__doc__ = """What the caller logs per iteration ``i`` of a call: episode ends
``ep_end (n, T, R, E)`` bool and ``debug (n, R, len(DEBUG_COLUMNS))`` float64."""


def _setting(config: PPOConfig, name: str):
    """``config``'s value of setting ``name`` as the kernel reads it."""
    if name == "target_kl":
        return math.inf if config.target_kl is None else config.target_kl
    if name == "gae_lambda":  # λ = 1 turns GAE into the bootstrapped Monte-Carlo return
        return config.gae_lambda if config.gae else 1.0
    return getattr(config, name)


def settings(configs: Sequence[PPOConfig]) -> Settings:
    """The :class:`Settings` of runs with ``configs`` (one per run)."""
    fields = {name: np.array([_setting(c, name) for c in configs],
                             np.bool_ if name == "anneal_lr" else np.float64)
              for name in HYPER_PARAMETERS}
    switches = np.array([[getattr(c, name) for name in SWITCHES] for c in configs], np.bool_)
    return Settings(switches=switches, **fields)
