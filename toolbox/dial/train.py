"""Training runs of DIAL, RIAL and no-communication learners on the Switch Riddle (Foerster et al.
2016).

One training batch = ``B`` episodes played in lock-step, every agent of every episode in one
forward pass of the C-Net (rows = episodes x agents), its TD loss from ``toolbox.dial.rollout``,
one RMSprop step with the gradient norm clipped per network; the target network is copied every
``target_update`` batches. Every ``test_every`` batches the greedy policy is tested in execution
mode on fresh episodes (``toolbox.dial.evaluate``, BatchNorm on each day's test-batch statistics,
as the reference implementation's test; played once per distinct history of visitors, which gives
the same numbers as playing every episode).

Numbers depend on the torch thread count (reductions are split differently): the same seed gives
the same curve on the same device *and* thread count; ``DialResult.torch_threads`` records it.
"""

from __future__ import annotations

import copy
import time
from dataclasses import asdict, dataclass, field
from typing import Callable

import torch
from torch import nn

from toolbox.device import resolve_device
from toolbox.dial.compiled import CompiledBatches, choose_backend
from toolbox.dial.config import DialConfig
from toolbox.dial.evaluate import evaluate_distinct
from toolbox.dial.rollout import rollout_loss
from toolbox.dial.switch import sample_active
from toolbox.dial.team import make_team


@dataclass
class DialResult:
    """What a run produced; lists are aligned with ``epochs`` (one entry per test)."""

    config: dict
    seed: int
    epochs: list[int] = field(default_factory=list)
    """Batches trained when each test ran (0 = before training)."""
    test_normalized_reward: list[float] = field(default_factory=list)
    """Test reward / oracle reward on the same ``test_episodes`` fresh episodes (greedy, execution
    mode)."""
    wall_time_s: list[float] = field(default_factory=list)
    """Seconds since ``train`` started (model creation included) when each test finished."""
    message_hist: list[list[float]] = field(default_factory=list)
    """Per test: fraction of sent pre-DRU messages in each of ``message_bins`` bins."""
    message_edges: list[float] = field(default_factory=list)
    batches_trained: int = 0
    device: str = "cpu"
    torch_threads: int = 0
    """``torch.get_num_threads()`` during training: the numbers depend on it (0 = not recorded)."""
    backend: str = "tensor"
    """Which code trained it: ``"tensor"`` (the readable rollout + autograd) or ``"compiled"``
    (``toolbox.dial.kernel``)."""
    policy: nn.Module | None = None
    """The trained C-Net team (not serialised)."""

    def time_to(self, threshold: float) -> float | None:
        """Wall seconds until the test reward first reached ``threshold`` (None if never)."""
        for r, s in zip(self.test_normalized_reward, self.wall_time_s):
            if r >= threshold:
                return s
        return None

    def batches_to(self, threshold: float) -> int | None:
        for r, e in zip(self.test_normalized_reward, self.epochs):
            if r >= threshold:
                return e
        return None

    def to_dict(self) -> dict:
        d = asdict(_no_policy(self))
        d.pop("policy", None)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "DialResult":
        return cls(
            **{k: v for k, v in d.items() if k in cls.__dataclass_fields__ and k != "policy"})


def _no_policy(r: DialResult) -> DialResult:
    out = copy.copy(r)
    out.policy = None
    return out


def train(config: DialConfig, seed: int, device=None, callback: Callable | None = None,
          backend: str = "auto", on_batch: Callable[[float], None] | None = None) -> DialResult:
    """Train one run. ``callback(fraction_done, result_so_far)`` is called after every test (the
    order of PPO's and the influence lesson's callbacks); ``on_batch(fraction_done)`` after every
    batch (the job runner's report: a long training on the readable path, seconds a batch, yields
    to short ones and stops when cancelled between two batches, not only at its tests, which can
    be minutes apart).

    ``backend`` (the names of PPO's ``train``): ``"tensor"`` runs the readable loop below (rollout,
    autograd, ``torch.optim.RMSprop``); ``"compiled"`` the same batch as compiled code
    (``toolbox.dial.compiled``: CPU; every method with one shared, summed-embedding C-Net);
    ``"auto"`` the compiled one where it applies. Both draw the same random numbers, so a seed
    gives the same run up to rounding. Wall time counts from the start of this call (network
    creation included) for this one seed trained alone.
    """
    config.validate()
    t0 = time.perf_counter()
    dev = resolve_device(device)
    c = config
    gen = torch.Generator(device=dev).manual_seed(seed)
    test_gen = torch.Generator(device=dev).manual_seed(seed + 7_919_000)
    team = make_team(c, seed, dev)
    use = choose_backend(c, dev, backend)
    if use == "compiled":
        fast = CompiledBatches(team, c)
    else:
        target = copy.deepcopy(team)
        for p in target.parameters():
            p.requires_grad_(False)
        opt = torch.optim.RMSprop(team.parameters(), lr=c.lr, momentum=c.momentum)
    edges = torch.linspace(-c.message_range, c.message_range, c.message_bins + 1)
    result = DialResult(config=asdict(c), seed=seed, message_edges=edges.tolist(), device=str(dev),
                        torch_threads=torch.get_num_threads(), backend=use)

    def run_test(batch: int) -> float:
        active = sample_active(c.n_agents, c.test_episodes, test_gen, dev)
        ev = evaluate_distinct(team, c, active)  # = evaluate(...), played once per distinct history
        result.epochs.append(batch)
        result.test_normalized_reward.append(ev["normalized"])
        m = ev["m"][ev["alive"]].float().cpu().clamp(-c.message_range, c.message_range * 0.9999)
        hist = torch.histc(m, bins=c.message_bins, min=-c.message_range, max=c.message_range)
        result.message_hist.append((hist / max(1, m.numel())).tolist())
        result.wall_time_s.append(time.perf_counter() - t0)
        result.batches_trained = batch
        if callback is not None:
            callback(batch / c.n_batches, result)
        return ev["normalized"]

    run_test(0)
    for batch in range(1, c.n_batches + 1):
        if use == "compiled":
            fast.step(gen)
            if batch % c.target_update == 0:
                fast.update_target()
        else:
            loss, _ = rollout_loss(team, target, c, gen, dev)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            for net in team.nets:
                nn.utils.clip_grad_norm_(net.parameters(), c.grad_clip)
            opt.step()
            if batch % c.target_update == 0:
                target.load_state_dict(team.state_dict())
        if on_batch is not None:
            on_batch(batch / c.n_batches)
        if batch % c.test_every == 0 or batch == c.n_batches:
            score = run_test(batch)
            if c.stop_at is not None and score >= c.stop_at:
                break
    result.policy = team
    return result


def train_seeds(config: DialConfig, seeds: list[int], device=None, callback: Callable | None = None,
                on_batch: Callable[[float], None] | None = None) -> list[DialResult]:
    """Train ``config`` for each seed in turn; ``callback(fraction, results_so_far)`` streams all of
    them, ``on_batch(fraction)`` is called after every batch (fraction of all seeds)."""
    config.validate()
    if not seeds:
        raise ValueError("Choose at least one seed.")
    done: list[DialResult] = []
    for i, s in enumerate(seeds):
        def cb(frac, res, i=i):
            if callback is not None:
                callback((i + frac) / len(seeds), done + [res])
        tick = None if on_batch is None else (lambda frac, i=i: on_batch((i + frac) / len(seeds)))
        done.append(train(config, s, device, cb, on_batch=tick))
    return done
