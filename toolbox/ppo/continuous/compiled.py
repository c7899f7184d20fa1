"""The compiled continuous-PPO path: variants × seeds trained by Numba-compiled loops on the CPU.

:class:`CompiledPPO` takes :class:`~toolbox.ppo.continuous.tensor.TensorPPO`'s arguments and
offers its attributes (``params`` in the reference's names, the rollout buffers, the episode
logs), and runs each iteration as one call of
:func:`toolbox.ppo.continuous.compiled_kernel.run_iterations` per thread. Its state is NumPy
arrays grouped in :mod:`toolbox.ppo.continuous.layout`'s named tuples. The random numbers (reset
draws, action noise, minibatch shuffles) are :mod:`toolbox.rng`'s hash, compiled, bit for bit as
the reference draws them; the initial parameters are drawn by the reference's own ``Agent`` in
torch (:func:`~toolbox.ppo.continuous.stacked.init_theta`), so a run starts exactly as its
reference run. ``tests/test_ppo_continuous_compiled.py`` checks two iterations against the
reference in float64 for every toggle.

Compilation happens once per machine per precision and is cached on disk
(:func:`toolbox.jit.cache_dir`); the first instance on a machine compiles the rollout's and the
update's kernels in two processes at once (:meth:`CompiledPPO._build_kernels`). :func:`warm_up`
loads or compiles the float32 kernels.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch

from toolbox import jit, rng
from toolbox.jit import one_blas_thread, warm_once
from toolbox.ppo.continuous import compiled_kernel as CK
from toolbox.ppo.continuous import layout as L
from toolbox.ppo.continuous import stacked
from toolbox.ppo.continuous.args import PENDULUM, Args
from toolbox.ppo.continuous.reference import OBS_DIM
from toolbox.ppo.continuous.tensor import check_variants

DTYPES = {torch.float32: np.float32, torch.float64: np.float64}
CHUNK = 16
"""Iterations per compiled call: the episode log of a call is ``(n, R, T, E)`` (a grid of 170 runs
logged 100 iterations at once would take 140 MB); 16 keep it small and the calls few."""
TINY = PENDULUM.replace(num_envs=2, num_steps=8, num_minibatches=2, update_epochs=1,
                        total_timesteps=16)
"""One iteration of 2 envs × 8 steps: what the warm-ups train to load or compile the kernels."""


class CompiledPPO:
    """R = len(variants) · len(seeds) runs (variant-major, run ``r = v·S + s``), trained by the
    compiled kernel; ``threads`` splits them into that many contiguous slices trained side by side
    (the kernel releases the GIL).

    ``dtype``: ``torch.float32`` (fast) or ``torch.float64`` (the equality tests). After each
    :meth:`run_iteration`: ``params`` (reference name -> ``(R, ...)``), the rollout ``obs
    (R, T, E, 3)``, ``actions (R, T, E, 1)``, ``logprobs``/``rewards``/``dones``/``values``/
    ``advantages``/``returns`` ``(R, T, E)`` (torch views of the kernel's buffers), the
    reference's logged values of the last iteration ``debug`` (name -> ``(R,)``) and, per run,
    ``episode_returns[r]`` and ``episode_steps[r]`` (the run's environment steps at each end).
    Unlike the tensor runner it supports ``target_kl`` (each run stops its own epochs).
    """

    BACKEND = "compiled"

    def __init__(self, args: Args | Sequence[Args], seeds, dtype: torch.dtype = torch.float32,
                 device="cpu", threads: int = 1, *, _compile_in_child: bool = True):
        if torch.device(device).type != "cpu":
            raise ValueError(f"the compiled runner trains on the CPU only; got device {device}. "
                             "Use the tensor runner (TensorPPO) on a GPU.")
        if dtype not in DTYPES:
            raise ValueError(f"dtype must be torch.float32 or torch.float64; got {dtype}.")
        self.variants = check_variants(args)
        self.seeds = [int(s) for s in seeds]
        if not self.seeds:
            raise ValueError("give at least one seed.")
        one_blas_thread()
        self.args = base = self.variants[0]
        self.run_args = [a for a in self.variants for _ in self.seeds]
        self.run_seeds = [s for _ in self.variants for s in self.seeds]
        R, E, T = len(self.run_args), base.num_envs, base.num_steps
        self.shared = [a.shared_network for a in self.run_args]
        self.R, self.K = R, 1 if all(self.shared) else 2
        self.dtype, ft = dtype, DTYPES[dtype]
        self.threads = max(1, min(int(threads), R))
        self.sizes = L.sizes(base, R, self.K)
        self.settings = L.settings(self.run_args)
        theta = stacked.init_theta(self.run_args, self.run_seeds, self.K, dtype, "cpu")
        self.params_ = L.Params(theta.numpy(), np.zeros(theta.shape, ft), np.zeros(theta.shape, ft),
                                np.zeros(R, np.int64))
        index = torch.arange(E)
        env_keys = [rng.stream_key(s, rng.ENV_STREAM, index) for s in self.run_seeds]
        action_keys = [rng.stream_key(s, rng.ACTION_STREAM, index) for s in self.run_seeds]
        self.keys = L.Keys(torch.cat(env_keys).numpy(), torch.stack(action_keys).numpy(),
                           np.array([rng.stream_key(s, rng.PERM_STREAM) for s in self.run_seeds],
                                    np.int64))
        self.envs = L.Envs(np.zeros((R * E, 2)), np.zeros(R * E, np.int64),
                           np.zeros(R * E, np.int64), np.zeros(R * E))
        zeros, ones = (lambda *s: np.zeros(s)), (lambda *s: np.ones(s))
        # the running statistics start at mean 0, variance 1, count 1e-4 (Gymnasium's)
        self.stats = L.Stats(zeros(R, E, OBS_DIM), ones(R, E, OBS_DIM), np.full(R, 1e-4),
                             zeros(R, E), ones(R, E), zeros(R, E), np.full(R, 1e-4))
        self.buf = L.Rollout(np.zeros((R, E, OBS_DIM), ft), np.zeros((R, E), ft),
                             np.zeros((R, T, E, OBS_DIM), ft),
                             *(np.zeros((R, T, E), ft) for _ in range(7)))
        self._build_kernels(_compile_in_child)
        CK.start_runs(self.sizes, self.settings, self.envs, self.keys, self.stats, self.buf)
        self.iteration = 0
        self.seconds = 0.0
        self.debug: dict[str, np.ndarray] = {}
        self.episode_returns: list[list[float]] = [[] for _ in range(R)]
        self.episode_steps: list[list[int]] = [[] for _ in range(R)]
        self._pool = ThreadPoolExecutor(self.threads) if self.threads > 1 else None

    def _kernel_calls(self) -> list[tuple]:
        """``(kernel, arguments)`` of each kernel's calls here: the types its machine code is
        for."""
        log = L.Log(np.zeros((1, 1, 1, 1), np.bool_), np.zeros((1, 1, 1, 1)),
                    np.zeros((1, 1, len(L.DEBUG_COLUMNS))))
        sz, p, s, buf = self.sizes, self.params_, self.settings, self.buf
        return [(CK.start_runs, (sz, s, self.envs, self.keys, self.stats, buf)),
                (CK.rollout_run, (0, 1, sz, p.theta, s, self.envs, self.keys, self.stats, buf,
                                  log.ep_end[0], log.ep_return[0])),
                (CK.advantages_run, (0, sz, p.theta, s, buf)),
                (CK.update_run, (0, 1, sz, p, s, buf, self.keys.permutation[0], log.debug[0, 0]))]

    def _build_kernels(self, in_child: bool) -> None:
        """Load the kernels, or on a machine's first use compile them: when both groups
        (``CK.ROLLOUT_KERNELS``, ``CK.UPDATE_KERNELS``) must compile, the rollout's compile in a
        child process while this one compiles the update's. Measured on 2 cores, empty cache, a
        fresh process's first 1-run training: 16.3–16.6 s in one process, 10.2–10.4 s so."""
        if not in_child:
            return  # each kernel loads or compiles at its first call
        calls = self._kernel_calls()
        cold = {k for k, a in calls if not jit.is_built(k, a)}
        child = None
        if cold & set(CK.ROLLOUT_KERNELS) and cold & set(CK.UPDATE_KERNELS):
            name = "float32" if self.dtype == torch.float32 else "float64"
            child = jit.compile_in_child(__name__, "rollout", name)
        for kernel, a in calls:
            if child is None or kernel in CK.UPDATE_KERNELS:
                jit.build(kernel, a)
        jit.join_child(child)  # the rollout's kernels are then loaded from the cache when called

    @property
    def finished(self) -> bool:
        return self.iteration >= self.args.num_iterations

    def run_iteration(self) -> dict[str, np.ndarray]:
        """One iteration of every run; returns the reference's logged values, name -> ``(R,)``."""
        self.run_iterations(1)
        return self.debug

    def run_iterations(self, n: int) -> None:
        """``n`` iterations of every run, up to :data:`CHUNK` per compiled call (per thread)."""
        for start in range(0, n, CHUNK):
            self._run_chunk(min(CHUNK, n - start))

    def _run_chunk(self, n: int) -> None:
        t0 = time.perf_counter()
        R, T, E = self.R, self.args.num_steps, self.args.num_envs
        log = L.Log(np.zeros((n, R, T, E), np.bool_), np.zeros((n, R, T, E)),
                    np.zeros((n, R, len(L.DEBUG_COLUMNS))))
        state = (self.sizes, self.params_, self.settings, self.envs, self.keys, self.stats,
                 self.buf, log)
        first = self.iteration + 1
        if self._pool is None:
            CK.run_iterations(0, R, first, n, *state)
        else:
            bounds = np.linspace(0, R, self.threads + 1).round().astype(int)
            futures = [self._pool.submit(CK.run_iterations, int(a), int(b), first, n, *state)
                       for a, b in zip(bounds[:-1], bounds[1:])]
            for fut in futures:
                fut.result()
        for i in range(n):
            steps_before = (self.iteration + i) * T * E
            for r, t, e in zip(*np.nonzero(log.ep_end[i])):
                self.episode_returns[r].append(float(log.ep_return[i, r, t, e]))
                self.episode_steps[r].append(int(steps_before + (t + 1) * E))
        self.iteration += n
        self.debug = {k: log.debug[-1, :, j].copy() for j, k in enumerate(L.DEBUG_COLUMNS)}
        self.seconds += time.perf_counter() - t0

    @property
    def params(self) -> dict[str, torch.Tensor]:
        """The reference's parameters by name, ``(R, ...)`` (copies)."""
        return stacked.reference_params(torch.from_numpy(self.params_.theta), self.K, self.shared)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False)
            self._pool = None

    def __del__(self):
        self.close()

    # --- the rollout in the reference's names (torch views of the kernel's buffers) ------------
    obs = property(lambda self: torch.from_numpy(self.buf.obs))
    actions = property(lambda self: torch.from_numpy(self.buf.actions).unsqueeze(-1))
    logprobs = property(lambda self: torch.from_numpy(self.buf.logprobs))
    rewards = property(lambda self: torch.from_numpy(self.buf.rewards))
    dones = property(lambda self: torch.from_numpy(self.buf.dones))
    values = property(lambda self: torch.from_numpy(self.buf.values))
    advantages = property(lambda self: torch.from_numpy(self.buf.advantages))
    returns = property(lambda self: torch.from_numpy(self.buf.returns))


@warm_once
def warm_up() -> None:
    """Load (or, on a machine's first use, compile) the float32 kernels by training one tiny
    iteration of each network structure; returns the seconds it took (0 after the first call in a
    process)."""
    CompiledPPO([TINY, TINY.replace(shared_network=True)], [0]).run_iteration()


def _build_rollout(dtype_name: str) -> None:
    """The child of :meth:`CompiledPPO._build_kernels`: load or compile ``CK.ROLLOUT_KERNELS`` for
    ``dtype_name`` (``float32`` or ``float64``) into the shared cache."""
    dtype = {"float32": torch.float32, "float64": torch.float64}[dtype_name]
    ppo = CompiledPPO([TINY], [0], dtype, _compile_in_child=False)  # compiles start_runs
    for kernel, a in ppo._kernel_calls():
        if kernel in CK.ROLLOUT_KERNELS:
            jit.build(kernel, a)


if __name__ == "__main__":  # python -m toolbox.ppo.continuous.compiled rollout float32
    import sys

    if sys.argv[1:2] != ["rollout"] or len(sys.argv) != 3:
        sys.exit("usage: python -m toolbox.ppo.continuous.compiled rollout float32|float64")
    _build_rollout(sys.argv[2])
