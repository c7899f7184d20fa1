"""The compiled PPO path: a :class:`~toolbox.ppo.group.Group` whose iterations run as one compiled
loop per run.

:class:`CompiledGroup` keeps every buffer, parameter row and random stream of :class:`Group` (it
*is* one: ``results``, ``parameters_of`` and the tests' buffer checks work unchanged) and replaces
:meth:`Group.run_iteration` — hundreds of small tensor operations per iteration — with one call of
:func:`toolbox.ppo.compiled_kernel.run_iterations`, compiled by Numba, for one or several
iterations. Its arguments are the group's tensors seen as NumPy arrays, grouped in the named tuples
of :mod:`toolbox.ppo.layout`. The loop draws its random numbers (action noise, reset noise,
minibatch shuffles) with :mod:`toolbox.rng`'s hash, compiled, bit for bit as the tensor path draws
them, so a run gets the same numbers on both paths to float rounding;
``tests/test_ppo_compiled.py`` checks that against :mod:`toolbox.ppo.reference` for every variant.

The path is CPU-only. Compilation happens once per machine (about 25 s on 2 cores) and is cached
on disk (:func:`toolbox.jit.cache_dir`); :func:`warm_up` loads or compiles it ahead of the first
request. With ``threads > 1`` a group's runs are split into contiguous slices trained side by side
(the compiled loop releases the GIL).
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Sequence

import numpy as np
import torch

from toolbox.kernel_state import compiled_ready, one_blas_thread, warm_once
from toolbox.ppo import layout as L
from toolbox.ppo.config import PPOConfig
from toolbox.ppo.group import Group

BACKENDS = ("auto", "compiled", "tensor")
"""``train(..., backend=)``: ``"compiled"`` (this module, CPU), ``"tensor"`` (the batched tensor
path, any device) or ``"auto"``: compiled on the CPU, tensor on CUDA and while the server compiles
the kernels in the background (:func:`toolbox.jit.compiled_ready`)."""


def choose_backend(backend: str, device: torch.device) -> str:
    """``"compiled"`` or ``"tensor"`` for a requested ``backend`` on ``device`` (ValueError if
    impossible)."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}; got {backend!r}.")
    if backend == "auto":
        # a training asked for while the kernels compile (a fresh server's first minute) would
        # wait for the compiler: it runs on the tensor path instead
        return "compiled" if device.type == "cpu" and compiled_ready() else "tensor"
    if backend == "compiled" and device.type != "cpu":
        raise ValueError(f"the compiled backend runs on the CPU only; got device {device}. "
                         "Use backend='tensor'.")
    return backend


def _np(t: torch.Tensor) -> np.ndarray:
    """A NumPy view of a contiguous CPU tensor (shared memory: the kernel's writes land in the
    tensor)."""
    assert t.is_contiguous() and t.device.type == "cpu"
    return t.numpy()


class CompiledGroup(Group):
    """A :class:`Group` trained by the compiled kernel; ``threads`` splits its runs across that many
    threads."""

    BACKEND = "compiled"

    def __init__(self, configs: Sequence[PPOConfig], seeds: Sequence[int], device: torch.device,
                 threads: int = 1):
        if device.type != "cpu":
            raise ValueError("CompiledGroup runs on the CPU only.")
        one_blas_thread()
        super().__init__(configs, seeds, device)
        R, T, E = self.R, self.T, self.E
        cfg = self.configs
        self.threads = max(1, min(int(threads), R))
        self.settings = L.settings(cfg)
        self.adam_count = np.zeros(R, np.int64)
        # the kernel's own Adam moments (K·R, P), beside the tensor path's torch.optim.Adam it
        # never uses
        self.adam_m = np.zeros(self.theta.shape, np.float32)
        self.adam_v = np.zeros(self.theta.shape, np.float32)
        self.env.state = self.env.state.contiguous().clone()
        self.env.elapsed = self.env.elapsed.contiguous().clone()
        # the running statistics the kernel updates in place (dummies for a group without them)
        if self.obs_norm is not None:
            rms = self.obs_norm.rms
            rms.mean, rms.var = rms.mean.contiguous(), rms.var.contiguous()
            rms.count = rms.count.contiguous()
            self._obs_stats = (rms.mean, rms.var, rms.count)
        else:
            f64 = torch.float64
            self._obs_stats = (torch.zeros(R, 4, dtype=f64), torch.ones(R, 4, dtype=f64),
                               torch.ones(R, dtype=f64))
        if self.rew_scale is not None:
            rs = self.rew_scale
            rms = rs.return_rms
            rs.accumulated_reward = rs.accumulated_reward.contiguous()
            rms.mean, rms.var = rms.mean.contiguous(), rms.var.contiguous()
            rms.count = rms.count.contiguous()
            self._rew_stats = (rs.accumulated_reward, rms.mean, rms.var, rms.count)
        else:
            f64 = torch.float64
            self._rew_stats = (torch.zeros(R, E, dtype=f64), torch.zeros(R, dtype=f64),
                               torch.ones(R, dtype=f64), torch.ones(R, dtype=f64))
        self.next_obs = self.next_obs.contiguous().clone()
        self.next_raw_obs = self.next_raw_obs.contiguous().clone()
        self.next_done = self.next_done.contiguous().clone()
        self.returns = torch.zeros(T, R, E)
        self.rewards.zero_()
        self._env_keys = _np(self.env.env_keys)
        self._action_keys = _np(self.action_keys.contiguous())
        self._perm_keys = _np(self.perm_keys)
        self._pool = ThreadPoolExecutor(self.threads) if self.threads > 1 else None

    def _kernel_args(self, n: int, ep_end: np.ndarray, debug: np.ndarray) -> tuple:
        """``run_iterations``' arguments after the run range: the first iteration, ``n``, then the
        group's state as :mod:`toolbox.ppo.layout`'s named tuples (views: the kernel's writes land
        in the group's tensors)."""
        f = _np
        env = self.env
        return (
            self.iteration + 1, n,
            L.Sizes(self.R, self.K, self.T, self.E, self.M, self.update_epochs,
                    self.num_iterations),
            L.Params(f(self.theta), self.adam_m, self.adam_v, self.adam_count),
            self.settings,
            # the env's private step counter: the reset noise continues its stream where it stands
            L.Envs(f(env.state), f(env.elapsed), env._counter),
            L.Keys(self._env_keys, self._action_keys, self._perm_keys),
            L.Moments(*(f(t) for t in self._obs_stats)),
            L.RewardScale(*(f(t) for t in self._rew_stats)),
            L.Rollout(f(self.next_obs), f(self.next_raw_obs), f(self.next_done), f(self.obs_buf),
                      f(self.raw_obs_buf), self.raw_obs_buf is not self.obs_buf, f(self.actions),
                      f(self.logprobs), f(self.rewards), f(self.dones), f(self.values),
                      f(self.advantages), f(self.returns)),
            L.Log(ep_end, debug),
        )

    def run_iteration(self) -> None:
        """One full PPO iteration of every run, compiled (same numbers as
        :meth:`Group.run_iteration`)."""
        self.run_iterations(1)

    def run_iterations(self, n: int) -> None:
        """``n`` iterations of every run in one compiled call per thread. Afterwards the buffers
        hold the last iteration's batch, and episodes and debug values are logged for each of the
        ``n``."""
        # Numba, imported where a compiled training runs: the web process of a training cluster
        # imports this module (backend choice) and never runs a kernel (toolbox.kernel_state)
        from toolbox.ppo import compiled_kernel as K

        t0 = time.perf_counter()
        R, T, E = self.R, self.T, self.E
        ep_end = np.zeros((n, T, R, E), np.bool_)
        debug = np.zeros((n, R, len(K.DEBUG_COLUMNS)), np.float64)
        args = self._kernel_args(n, ep_end, debug)
        if self._pool is None:
            K.run_iterations(0, R, *args)
        else:
            bounds = np.linspace(0, R, self.threads + 1).round().astype(int)
            futures = [self._pool.submit(K.run_iterations, int(a), int(b), *args)
                       for a, b in zip(bounds[:-1], bounds[1:])]
            for fut in futures:
                fut.result()
        # the kernel drew each rollout's reset noise at the environments' step counter, as
        # BatchedCartPole does
        self.env._counter += n * T
        dbg = torch.from_numpy(debug.astype(np.float32))
        for i in range(n):
            self.iteration += 1
            self.ep_end.copy_(torch.from_numpy(ep_end[i]))
            self._record_episodes()
            for j, key in enumerate(K.DEBUG_COLUMNS):
                self.debug[key].append(dbg[i, :, j].clone())
        self.seconds += time.perf_counter() - t0

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False)
            self._pool = None

    def __del__(self):
        self.close()


@warm_once
def warm_up() -> None:
    """Load (or, on a machine's first use, compile) the kernel by training two tiny iterations of
    every structure the page offers; returns the seconds it took (0 after the first call in a
    process)."""
    for shared in (False, True):
        c = PPOConfig(num_steps=8, total_timesteps=2 * 4 * 8, shared_network=shared,
                      norm_obs=True, norm_reward=True, bootstrap_truncation=True,
                      target_kl=0.01)
        g = CompiledGroup([c], [0], torch.device("cpu"))
        while not g.finished:
            g.run_iteration()
