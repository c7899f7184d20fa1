"""Train several continuous-action PPO variants over seeds, as few batched computations as possible.

Variants that share :data:`~toolbox.ppo.continuous.tensor.STRUCTURE` (the batch shape, γ, the
network layout) train as one runner: on the CPU the compiled
:class:`~toolbox.ppo.continuous.compiled.CompiledPPO`, on a GPU the batched
:class:`~toolbox.ppo.continuous.tensor.TensorPPO` (``backend=``, as CartPole's
:func:`toolbox.ppo.train.train`). The groups advance one iteration each in turn, so a live
comparison's curves grow together and ``report`` can show them. Used by the lesson's live
training and by ``benchmarks/ppo_continuous_precompute.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from toolbox.device import resolve_device
from toolbox.ppo.compiled import choose_backend
from toolbox.ppo.continuous.args import Args
from toolbox.ppo.continuous.tensor import STRUCTURE, TensorPPO

if TYPE_CHECKING:  # imports Numba: at run time only where a compiled training runs
    from toolbox.ppo.continuous.compiled import CompiledPPO

Report = Callable[[float, list[list[dict]]], None]
"""``report(fraction, runs)``: the fraction of iterations done and the run records so far."""


def group_by_structure(variants: Sequence[Args]) -> list[list[int]]:
    """Indices of ``variants`` grouped by their :data:`STRUCTURE` fields, in first-seen order."""
    groups: dict[tuple, list[int]] = {}
    for i, a in enumerate(variants):
        groups.setdefault(tuple(getattr(a, f) for f in STRUCTURE), []).append(i)
    return list(groups.values())


def _records(ppo: CompiledPPO | TensorPPO, members: list[int], seeds: list[int],
             out: list[list[dict]]) -> None:
    for v, i in enumerate(members):
        out[i] = [{"seed": s, "episode_steps": list(ppo.episode_steps[v * len(seeds) + j]),
                   "episode_returns": list(ppo.episode_returns[v * len(seeds) + j]),
                   "steps_trained": int(ppo.iteration * ppo.args.batch_size)}
                  for j, s in enumerate(seeds)]


def train_variants(variants: Sequence[Args], seeds: Sequence[int], report: Report | None = None,
                   device="cpu", backend: str = "auto", threads: int = 1) -> list[list[dict]]:
    """Every variant × seed. Returns, per variant (input order), one record per seed:
    ``{"seed", "episode_steps", "episode_returns", "steps_trained"}`` (episode ends in environment
    steps of that run, their returns, and the steps trained so far).

    ``backend``: ``"compiled"`` (CPU), ``"tensor"`` (any device) or ``"auto"`` (compiled on the
    CPU, tensor on a GPU and while a server compiles the kernels, see
    :func:`toolbox.ppo.compiled.choose_backend`); ``threads`` splits each compiled group's runs
    across that many threads. ``report(fraction, runs)`` is called after every iteration of every
    group with the records so far (variants of a group not yet started: empty lists); it may raise
    to stop the training (the serving layer's ``Cancelled``)."""
    variants, seeds = list(variants), [int(s) for s in seeds]
    if not variants:
        raise ValueError("choose at least one variant to train.")
    device = resolve_device(device)
    path = choose_backend(backend, device)
    groups = group_by_structure(variants)
    if path == "compiled":
        # Numba, imported where a compiled training runs: the web process of a training cluster
        # imports this module (the page names train_variants) and never runs a kernel
        from toolbox.ppo.continuous.compiled import CompiledPPO

        ppos = [CompiledPPO([variants[i] for i in g], seeds, threads=threads) for g in groups]
    else:
        ppos = [TensorPPO([variants[i] for i in g], seeds, device=device) for g in groups]
    out: list[list[dict]] = [[] for _ in variants]
    total = sum(p.args.num_iterations for p in ppos)
    done = 0
    try:
        while done < total:
            for ppo, members in zip(ppos, groups):
                if ppo.iteration >= ppo.args.num_iterations:
                    continue
                ppo.run_iteration()
                done += 1
                if report is not None:
                    _records(ppo, members, seeds, out)
                    report(done / total, list(out))  # a new list: watchers see a new partial
    finally:  # also when report cancels: the compiled groups' threads end now
        for ppo in ppos:
            if path == "compiled":
                ppo.close()
    for ppo, members in zip(ppos, groups):
        _records(ppo, members, seeds, out)
    return out
