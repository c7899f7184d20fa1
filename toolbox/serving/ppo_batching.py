"""PPO requests from different sessions trained together as one batched computation.

A class told "turn off one detail each and train" sends thirty *different* requests. The job runner
(:mod:`toolbox.serving`) hands this module the PPO requests queued while the server was busy;
:func:`train_requests` trains the union of their (config, seed) pairs once (identical pairs of two
requests train once) as one call of :func:`toolbox.ppo.train.train_pairs`, and gives each request
its own runs back, streaming, in its own format. On the tensor path (CUDA) a batch costs about what
its largest group costs (an iteration is bound by per-operation overhead); on the compiled CPU path
a batch costs about the sum of its runs (one compiled loop per run), so the runner keeps a batch
within a time budget (``Limits.batch_max_s``) and batching saves the per-request overheads and the
duplicates.

Each run's randomness comes from its own seed, so a request gets the same runs batched or alone, up
to float rounding of the stacked matrix products (``tests/test_ppo_batching.py``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from toolbox.ppo.config import PPOConfig
from toolbox.ppo.result import TrainResult
from toolbox.ppo.train import check_inputs, train_pairs
from toolbox.serving import Cancelled, ReportFn
from toolbox.serving.caps import check_ppo_runs
from toolbox.serving.cost import nearest_row

Summarize = Callable[[list[TrainResult], "float | None", float], Any]


@dataclass(frozen=True)
class PPORequest:
    """One session's training request: every config with every seed (configs outer, seeds inner).

    ``summarize(runs, fraction, elapsed_s)`` turns the request's runs (in that order) into what its
    page shows: while training with the partial runs, the fraction of the batch done and the seconds
    since it started (for a time-left estimate); once at the end with ``fraction=None``.
    """

    configs: tuple[PPOConfig, ...]
    seeds: tuple[int, ...]
    summarize: Summarize
    device: str | None = None

    @classmethod
    def make(cls, configs: Sequence[PPOConfig], seeds: Sequence[int], summarize: Summarize,
             device=None) -> "PPORequest":
        # the page's request is validated before it queues
        configs, seeds = check_inputs(configs, seeds)
        check_ppo_runs(configs, seeds)
        return cls(tuple(configs), tuple(seeds), summarize, None if device is None else str(device))

    @property
    def pairs(self) -> list[tuple[PPOConfig, int]]:
        return [(c, s) for c in self.configs for s in self.seeds]

    @property
    def size(self) -> int:
        """Runs in the request (what a batch's capacity counts)."""
        return len(self.configs) * len(self.seeds)

    @property
    def memory_mb(self) -> float:
        """Peak memory the request's runs add, from the measured table (jobs/cost_table.json)."""
        return float(nearest_row("ppo", "runs", self.size)["peak_mb"])

    @property
    def work(self) -> int:
        """Environment steps over all runs (what admission and time estimates count)."""
        return sum(c.total_timesteps for c in self.configs) * len(self.seeds)


def union_pairs(requests: Sequence[PPORequest]) -> tuple[list[tuple[PPOConfig, int]],
                                                         list[list[int]]]:
    """The distinct (config, seed) pairs of all ``requests`` (first-seen order) and, per request,
    the index of each of its pairs in that list."""
    index: dict[tuple[PPOConfig, int], int] = {}
    where = []
    for req in requests:
        where.append([index.setdefault(p, len(index)) for p in req.pairs])
    return list(index), where


def train_requests(requests: Sequence[PPORequest], reports: Sequence[ReportFn],
                   callback_every: float = 1.5) -> list:
    """Train every request's runs as one computation; returns each request's
    ``summarize(runs, None, s)``.

    ``reports[i](fraction, partial)`` streams request i's partial summary; when it raises
    :class:`~toolbox.serving.Cancelled` (nobody watches request i any more) that request is dropped
    (its entry in the result is ``None``) and the others go on; when every request is dropped the
    training stops.
    """
    if len(requests) != len(reports):
        raise ValueError("one report callback per request is needed.")
    pairs, where = union_pairs(requests)
    active = [True] * len(requests)
    t0 = time.perf_counter()

    def callback(fraction: float, runs: list[TrainResult]) -> None:
        for i, req in enumerate(requests):
            if active[i]:
                try:
                    reports[i](fraction, req.summarize([runs[k] for k in where[i]], fraction,
                                                       time.perf_counter() - t0))
                except Cancelled:
                    active[i] = False
        if not any(active):
            raise Cancelled("every request of this batch was stopped")

    runs = train_pairs(pairs, device=requests[0].device, callback=callback,
                       callback_every=callback_every)
    seconds = time.perf_counter() - t0
    return [req.summarize([runs[k] for k in where[i]], None, seconds) if active[i] else None
            for i, req in enumerate(requests)]
