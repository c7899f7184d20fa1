"""PPO on CartPole-v1 for many (config, seed) pairs in one batched computation.

The mathematics is CleanRL ``ppo.py``'s, line for line, when every core toggle is on:

* rollout of ``num_steps`` steps in ``num_envs`` environments per run, actions sampled from the
  categorical policy, same-step autoreset and ``done = terminated or truncated``;
* GAE(λ): ``δ_t = r_t + γ V(s_{t+1}) (1 − d_{t+1}) − V(s_t)``,
  ``Â_t = δ_t + γ λ (1 − d_{t+1}) Â_{t+1}``, returns ``R_t = Â_t + V(s_t)``;
* ``update_epochs`` epochs over a shuffled batch split into ``num_minibatches``; loss
  ``L = L^{clip} − c₂ H + c₁ L^{V}`` with
  ``L^{clip} = mean max(−Â r, −Â clip(r, 1 − ε, 1 + ε))``, ``r = exp(log π − log π_old)``,
  ``L^{V} = ½ mean max((V − R)², (V_old + clip(V − V_old, −ε, ε) − R)²)``;
* global gradient-norm clipping to ``max_grad_norm`` and Adam (ε = 1e-5) with a linearly annealed
  learning rate; optional early stop of the epochs once ``approx_kl > target_kl``.

Runs whose configs share the structure (``num_envs``, ``num_steps``, ``num_minibatches``,
``update_epochs``, ``total_timesteps``, ``shared_network``, ``gamma``) form a *group* trained as
one stacked computation (see :mod:`toolbox.ppo.agent`); every other difference (toggles,
coefficients) is a per-run column. Groups advance in lock-step so progress streams evenly.

Each run's randomness (initial parameters, reset noise, action samples, minibatch shuffles)
comes only from its own seed (:mod:`toolbox.rng`), so a (config, seed) pair starts from the
same parameters and sees the same first rollout alone or inside any grid.

Modules: this one is the driver (input checks, grouping, the lock-step loop, progress callbacks);
:mod:`toolbox.ppo.group` holds a group's state, rollout and advantages, :mod:`toolbox.ppo.update`
its loss, gradient and optimizer step, :mod:`toolbox.ppo.result` what a run returns. The same
algorithm written to be read top to bottom, one run at a time, is :mod:`toolbox.ppo.reference`.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Sequence

import numpy as np
import torch

from toolbox.device import resolve_device, torch_threads
from toolbox.ppo.compiled import CompiledGroup, choose_backend
from toolbox.ppo.config import PPOConfig
from toolbox.ppo.group import Group, structure_key
from toolbox.ppo.result import DEBUG_KEYS, TrainResult

__all__ = ["DEBUG_KEYS", "Group", "TrainResult", "check_inputs", "make_groups", "rollout_batch",
           "train", "train_pairs"]


def check_inputs(configs, seeds) -> tuple[list[PPOConfig], list[int]]:
    if isinstance(configs, PPOConfig):
        configs = [configs]
    configs = list(configs)
    seeds = [seeds] if isinstance(seeds, (int, np.integer)) else list(seeds)
    if not configs:
        raise ValueError("choose at least one variant to train.")
    if not seeds:
        raise ValueError("choose at least one seed: with zero seeds there is nothing to train.")
    for s in seeds:
        if isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 0:
            raise ValueError(f"seeds must be whole numbers ≥ 0; got {s!r}.")
    if len(set(int(s) for s in seeds)) != len(seeds):
        raise ValueError(
            "the seeds must be distinct (a repeated seed would train the same run twice).")
    for c in configs:
        if not isinstance(c, PPOConfig):
            raise ValueError(f"every config must be a PPOConfig; got {type(c).__name__}.")
        c.validate()
    return configs, [int(s) for s in seeds]


def make_groups(configs, seeds, device=None, backend: str = "tensor",
                threads: int = 1) -> tuple[list[Group], list[tuple[int, int]]]:
    """Group the (config, seed) pairs by structure; returns the groups and, per pair, (group, row).
    ``backend`` as :func:`train` (here ``"tensor"`` by default: tests and callers inspect the tensor
    path's groups); ``threads``: the compiled path's threads."""
    configs, seeds = check_inputs(configs, seeds)
    dev = resolve_device(device)
    return _group_pairs([(c, s) for c in configs for s in seeds], dev, choose_backend(backend, dev),
                        threads)


def check_pairs(pairs) -> list[tuple[PPOConfig, int]]:
    """Validate ``[(config, seed), …]`` (distinct pairs); ValueError otherwise."""
    pairs = list(pairs)
    if not pairs:
        raise ValueError("choose at least one (variant, seed) pair to train.")
    out = []
    for c, s in pairs:
        check_inputs([c], [s])
        out.append((c, int(s)))
    if len(set(out)) != len(out):
        raise ValueError(
            "the (variant, seed) pairs must be distinct (a "
            "repeated pair would train the same run twice).")
    return out


def _group_pairs(
    pairs, dev, backend: str = "tensor", threads: int = 1
) -> tuple[list[Group], list[tuple[int, int]]]:
    by_key: dict[tuple, list[int]] = {}
    for i, (c, _) in enumerate(pairs):
        by_key.setdefault(structure_key(c), []).append(i)
    groups, where = [], [None] * len(pairs)
    for gi, members in enumerate(by_key.values()):
        cs, ss = [pairs[i][0] for i in members], [pairs[i][1] for i in members]
        groups.append(CompiledGroup(cs, ss, dev,
                                    threads=threads) if backend == "compiled" else Group(cs, ss,
                                                                                         dev))
        for row, i in enumerate(members):
            where[i] = (gi, row)
    return groups, where  # type: ignore[return-value]


def train(
    configs: PPOConfig | Sequence[PPOConfig],
    seeds: int | Sequence[int],
    device=None,
    callback: Callable[[float, list[TrainResult]], Any] | None = None,
    callback_every: float = 2.0,
    num_threads: int | None = None,
    backend: str = "auto",
) -> list[TrainResult]:
    """Train every (config, seed) pair, batched; returns one :class:`TrainResult` per pair.

    Order of the results: configs outer, seeds inner (``[(c0, s0), (c0, s1), …, (c1, s0), …]``).
    ``callback(fraction, partial_results)`` is called at most every ``callback_every`` seconds
    and at the end with the results so far (same order). Raises ``ValueError`` for settings that
    cannot be trained (see ``PPOConfig.validate``), zero seeds or too many runs.

    ``num_threads``: torch intra-op threads for this call (``None``: leave torch's default). The hot
    loop is thousands of tiny tensor ops per iteration; on a loaded 2-core CPU, OpenMP's 2 threads
    waiting for each other made one 500k-step run 9x slower than 1 thread (293 s vs 32 s, see
    benchmarks/ppo_throughput.py). With torch's OpenMP build the setting is per OS thread, so a
    job thread (toolbox.serving) can use 1 without touching the rest of the server; it is restored
    after (:func:`toolbox.device.torch_threads`).

    ``backend``: ``"compiled"`` (:mod:`toolbox.ppo.compiled`, CPU: one compiled loop per run, about
    6x faster on one run), ``"tensor"`` (the batched tensor code, any device) or ``"auto"``
    (compiled on the CPU, tensor on CUDA). Both compute the reference's numbers to float rounding; a
    long run's curve then drifts apart as any two float orders do. The compiled path splits a
    group's runs across ``num_threads`` threads (default 1).
    """
    groups, where = make_groups(configs, seeds, device, backend, num_threads or 1)
    with torch_threads(num_threads, "num_threads"):
        return _train_groups(groups, where, callback, callback_every)


def train_pairs(
    pairs: Sequence[tuple[PPOConfig, int]],
    device=None,
    callback: Callable[[float, list[TrainResult]], Any] | None = None,
    callback_every: float = 2.0,
    backend: str = "auto",
    threads: int = 1,
) -> list[TrainResult]:
    """Train each ``(config, seed)`` pair of ``pairs`` (any mix, not a grid), batched as
    :func:`train` does; returns one :class:`TrainResult` per pair, in order. This is how requests
    from different sessions train together as one computation (:mod:`toolbox.serving.ppo_batching`).
    ``backend`` as :func:`train`; ``threads``: the compiled path's threads.
    """
    dev = resolve_device(device)
    groups, where = _group_pairs(check_pairs(pairs), dev, choose_backend(backend, dev), threads)
    return _train_groups(groups, where, callback, callback_every)


CHUNK_S, MAX_CHUNK = 0.25, 64
"""Each group runs as many iterations per call as take about CHUNK_S seconds (at most MAX_CHUNK):
the compiled path gives the GIL back to Python once per call, and on a busy server every return
waits for it (30 watching sessions made a 2-second training take 29 s at one iteration per call);
progress and Stop still act within a fraction of a second."""


def _train_groups(groups, where, callback, callback_every) -> list[TrainResult]:
    total = sum(g.num_iterations * g.R * g.B for g in groups)

    def partial() -> list[TrainResult]:
        res = [g.results() for g in groups]
        return [res[gi][row] for gi, row in where]

    last_cb = time.perf_counter()
    chunk = [1] * len(groups)  # iterations per call, grown to about CHUNK_S seconds a call
    while not all(g.finished for g in groups):
        for i, g in enumerate(groups):
            if not g.finished:
                n = min(chunk[i], g.num_iterations - g.iteration)
                t = time.perf_counter()
                g.run_iterations(n)
                chunk[i] = max(
                    1, min(MAX_CHUNK, int(CHUNK_S * n / max(time.perf_counter() - t, 1e-6)))
                )
        if callback is not None and time.perf_counter() - last_cb >= callback_every:
            done = sum(g.iteration * g.R * g.B for g in groups)
            callback(done / total, partial())
            last_cb = time.perf_counter()
    out = partial()
    if callback is not None:
        callback(1.0, out)
    return out


def rollout_batch(
    config: PPOConfig, seed: int, train_iterations: int = 0, device=None
) -> dict[str, torch.Tensor]:
    """One real PPO batch from an agent trained for ``train_iterations`` updates (0 = fresh init).

    Returns tensors: ``obs (T, E, 4)`` (raw observations the agent saw, before any observation
    normalization), ``rewards (T, E)`` (raw environment rewards), ``dones (T, E)`` (CleanRL's
    ``dones[t]``: the episode ended just before step t), ``values``, ``advantages`` (GAE) and
    ``returns`` ``(T, E)``.
    """
    if isinstance(train_iterations, bool) or not isinstance(train_iterations,
                                                            int) or train_iterations < 0:
        raise ValueError(f"train_iterations must be a whole number ≥ 0; got {train_iterations!r}.")
    config = config.replace(total_timesteps=max(config.total_timesteps,
                                                (train_iterations + 1) * config.batch_size))
    (g,), _ = make_groups([config], [seed], device)
    for _ in range(train_iterations):
        g.run_iteration()
    g.next_rollout()
    return {
        "obs": g.raw_obs_buf[:, 0].clone(),
        "rewards": g.raw_rewards[:, 0].clone(),
        "dones": g.dones[:, 0].clone(),
        "values": g.values[:, 0].clone(),
        "advantages": g.advantages[:, 0].clone(),
        "returns": g.returns[:, 0].clone(),
    }
