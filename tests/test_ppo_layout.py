"""The compiled PPO kernel's named arguments (toolbox.ppo.layout) say what they name: each
parameter block's offset is the tensor path's, each per-run setting is its config field's value,
and each switch column holds the detail it is named after. No compiled code runs here."""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from toolbox.ppo import agent as A
from toolbox.ppo import layout as L
from toolbox.ppo.config import PPOConfig


def test_tower_offsets_are_the_agents_blocks():
    assert L.TOWER._fields == tuple(name for name, _, _ in A.LAYOUT)
    for name in L.TOWER._fields:
        assert getattr(L.TOWER, name) == A.OFFSETS[name][0]


def test_settings_are_named_and_filled_from_the_config_fields():
    config_fields = {f.name for f in dataclasses.fields(PPOConfig)}
    assert set(L.HYPER_PARAMETERS) <= config_fields
    assert set(L.SWITCHES) <= config_fields
    configs = [
        PPOConfig(),
        PPOConfig(learning_rate=1e-3, anneal_lr=False, gamma=0.9, target_kl=0.02, gae=False,
                  clip_grad=False, norm_obs=True, bootstrap_truncation=True, adam_eps=1e-8),
    ]
    s = L.settings(configs)
    for name in L.HYPER_PARAMETERS:
        column = getattr(s, name)
        assert column.shape == (2,), name
        if name not in ("target_kl", "gae_lambda"):
            assert list(column) == [getattr(c, name) for c in configs], name
    assert s.anneal_lr.dtype == np.bool_
    # the two settings the kernel reads in its own terms: no target KL, and GAE off (λ = 1)
    assert s.target_kl[0] == math.inf and s.target_kl[1] == 0.02
    assert s.gae_lambda[0] == configs[0].gae_lambda and s.gae_lambda[1] == 1.0
    assert s.switches.shape == (2, len(L.SWITCHES)) and s.switches.dtype == np.bool_
    for name in L.SWITCHES:
        column = s.switches[:, getattr(L.SWITCH, name)]
        assert list(column) == [getattr(c, name) for c in configs], name
