"""The greedy test of a trained team in execution mode, with either kind of BatchNorm statistics.

Execution mode: the DRU discretises, ``1{m > 0}``, and there is no exploration. The C-Net's
BatchNorm layers still need statistics, and there are two choices:

* ``"batch"`` (what the learning curves use, as the reference implementation's test): each day's
  forward pass normalises with the mean and variance of that day's whole test batch — all
  ``B`` episodes (1,000 by default) and, with parameter sharing, all ``n`` agents pooled. Every
  agent's output then depends on the other episodes and agents in the batch: this
  is *not* decentralised execution.
* ``"running"`` (``model.eval()``, what decentralised execution would allow): the running averages
  accumulated during training. They pool all days of all training batches, while the hidden
  features drift from day to day, so a policy trained with batch statistics can fall apart
  (``batchnorm_comparison`` measures it).
"""

from __future__ import annotations

import contextlib
import threading
import weakref

import torch
from torch import nn

from toolbox.device import resolve_device
from toolbox.dial.config import DialConfig
from toolbox.dial.episodes import Episodes
from toolbox.dial.switch import oracle_reward, sample_active
from toolbox.dial.team import Team

BATCHNORM_MODES = ("batch", "running")

_locks: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_locks_guard = threading.Lock()


def _team_lock(team: Team) -> threading.Lock:
    """One lock per team: a test switches the team's mode and BatchNorm momentum (and hooks) while
    it plays, so two sessions testing one shared trained team at once must take turns."""
    with _locks_guard:
        lock = _locks.get(team)
        if lock is None:
            lock = _locks[team] = threading.Lock()
        return lock


@contextlib.contextmanager
def _test_mode(team: Team, batchnorm: str, batch_hook=None):
    """Hold ``team`` for a test (its lock, no autograd) in the mode ``batchnorm`` asks for, and put
    it back as it was afterwards, also on an error: ``"batch"``: training mode with BatchNorm
    momentum 0 (batch statistics, running averages left as they are; ``batch_hook`` registered as a
    forward hook on every BatchNorm); ``"running"``: eval mode."""
    if batchnorm not in BATCHNORM_MODES:
        raise ValueError(f"batchnorm must be one of {BATCHNORM_MODES}; got {batchnorm!r}.")
    with _team_lock(team), torch.no_grad():
        was_training = team.training
        bns = [m for m in team.modules() if isinstance(m, nn.BatchNorm1d)]
        momenta = [m.momentum for m in bns]
        hooks = []
        if batchnorm == "batch":
            team.train()
            for m in bns:
                m.momentum = 0.0
                if batch_hook is not None:
                    hooks.append(m.register_forward_hook(batch_hook))
        else:
            team.eval()
        try:
            yield
        finally:
            for h in hooks:
                h.remove()
            for m, mom in zip(bns, momenta):
                m.momentum = mom
            team.train(was_training)


def _test_result(ms, bits, tells, alives, reward, active: torch.Tensor, n_agents: int) -> dict:
    """The dict ``evaluate`` returns, from its per-day lists of ``(B,)`` tensors and the episodes'
    rewards."""
    oracle = oracle_reward(active, n_agents)
    norm = (reward.sum() / oracle.sum()).item() if oracle.sum() > 0 else float("nan")
    return {"m": torch.stack(ms, 1), "bit_in": torch.stack(bits, 1), "tell": torch.stack(tells, 1),
            "alive": torch.stack(alives, 1), "reward": reward, "oracle": oracle, "normalized": norm}


def evaluate(team: Team, config: DialConfig, active: torch.Tensor,
             batchnorm: str = "batch") -> dict:
    """Greedy execution-mode play of the episodes ``active: (B, T)``.

    DRU discretised ``1{m > 0}``, no exploration; BatchNorm on the batch statistics of each day
    (``batchnorm="batch"``: use a large batch, >= a few hundred episodes, so these are population
    statistics) or on the running averages from training (``"running"``). The running averages
    are left untouched either way. Returns per-day tensors ``(B, T)``: ``m`` (visitor's pre-DRU
    message, or its RIAL bit as +-1), ``bit_in`` (bit the visitor received), ``tell`` (visitor's
    greedy decision), ``alive`` (episode still running at the start of the day), plus
    ``reward (B,)``, ``oracle (B,)`` and ``normalized`` (sum reward / sum oracle).
    """
    c = config
    ms, bits, tells, alives = [], [], [], []
    with _test_mode(team, batchnorm):
        ep = Episodes(team, c, active)
        for t in range(active.shape[1]):
            bits.append(ep.msg[ep.rows, active[:, t]])
            d = ep.day(t)
            ms.append(d.m)
            tells.append(d.tell)
            alives.append(d.alive)
    return _test_result(ms, bits, tells, alives, ep.reward, active, c.n_agents)


def batchnorm_comparison(team: Team, config: DialConfig, n_episodes: int = 1000, seed: int = 0,
                         device=None) -> dict:
    """The same trained team tested on the same ``n_episodes`` fresh episodes with both kinds of
    statistics.

    Returns ``{"batch": normalized reward with each day's test-batch statistics (episodes and
    agents pooled), "running": normalized reward with the training running averages (eval mode),
    "n_episodes": n_episodes}``.
    """
    if n_episodes < 1:
        raise ValueError(f"Need at least one test episode; got {n_episodes}.")
    dev = resolve_device(device)
    active = sample_active(config.n_agents, n_episodes,
                           torch.Generator(device=dev).manual_seed(seed), dev)
    return {
        mode: evaluate(team, config, active, mode)["normalized"] for mode in BATCHNORM_MODES
    } | {"n_episodes": n_episodes}


def evaluate_distinct(team: Team, config: DialConfig, active: torch.Tensor,
                      batchnorm: str = "batch") -> dict:
    """``evaluate`` computed once per distinct history: the same dict, the same numbers, less work.

    The greedy test is deterministic, so on day ``t`` every episode whose visitors on days
    ``0..t`` are the same (its *prefix*) is in exactly the same state: the same inputs, hidden
    states and decisions. Day ``t`` is therefore played on one row per distinct prefix (for n = 3
    there are at most 3, 9, 27, ... of them, against 1,000 episodes), and each row stands for
    ``count`` episodes: BatchNorm's batch statistics are the count-weighted mean and (biased)
    variance, which equal the statistics of the full batch. The per-episode tensors are read back
    through each episode's prefix. Only rounding differs from ``evaluate`` (the sums are taken in
    another order); ``tests/test_dial_evaluate.py`` checks both agree.
    """
    c = config
    B, T = active.shape
    weights: list[torch.Tensor] = []  # the current day's count per distinct row

    def weighted_statistics(module, inputs, output):
        x = inputs[0]
        w = weights[0].repeat_interleave(x.shape[0] // weights[0].shape[0]).to(x.dtype)[:, None]
        mean = (w * x).sum(0) / w.sum()
        var = (w * (x - mean) ** 2).sum(0) / w.sum()
        return nn.functional.batch_norm(x, mean, var, module.weight, module.bias, False, 0.0,
                                        module.eps)

    # each episode's prefix, numbered
    group = torch.zeros(B, dtype=torch.long, device=active.device)
    ep = None
    ms, bits, tells, alives = [], [], [], []
    with _test_mode(team, batchnorm, weighted_statistics):
        for t in range(T):
            key = group * c.n_agents + active[:, t]
            uniq, group, counts = torch.unique(key, return_inverse=True, return_counts=True)
            # yesterday's prefix of each row
            parent = torch.div(uniq, c.n_agents, rounding_mode="floor")
            first = torch.full((uniq.shape[0],), B, dtype=torch.long, device=active.device)
            first = first.scatter_reduce(0, group, torch.arange(B, device=active.device), "amin")
            # a representative episode per row
            rep_active = active[first]
            if ep is None:
                ep = Episodes(team, c, rep_active)
            else:
                ep.active = rep_active
                ep.select(parent, t)
            weights[:] = [counts]
            bits.append(ep.msg[ep.rows, ep.active[:, t]][group])
            d = ep.day(t)
            ms.append(d.m[group])
            tells.append(d.tell[group])
            alives.append(d.alive[group])
    return _test_result(ms, bits, tells, alives, ep.reward[group], active, c.n_agents)
