"""Counter-based random numbers: a run's randomness depends only on its own seed.

Why not one ``torch.Generator`` for the whole batch: then what run *r* draws would depend on how
many runs came before it in the batch, and a (config, seed) pair would learn differently alone and
inside a grid. Here every random number is a hash of (key, counter, index): the same key gives
the same stream whatever else is computed alongside, on any device, with no Python loop over runs.

The hash is the 32-bit "lowbias32" integer finalizer (xor-shift / multiply rounds), computed
in int64 tensors whose values are kept in [0, 2^32).
"""

from __future__ import annotations

import numpy as np
import torch

ENV_STREAM, ACTION_STREAM, PERM_STREAM = 1, 2, 3
"""Stream tags: CartPole's reset noise (:mod:`toolbox.envs.cartpole`), and a PPO run's action
samples and minibatch permutations (:mod:`toolbox.ppo`)."""

_M = 0xFFFFFFFF
_C1 = 0x7FEB352D
_C2 = 0x846CA68B
_GOLDEN = 0x9E3779B9


def hash32(x):
    """The 32-bit hash of ``x`` taken modulo 2^32; returns values in [0, 2^32).

    One definition for three callers: Python integers (counters and seeds), int64 tensors
    (elementwise) and, registered with Numba's ``register_jitable`` by :mod:`toolbox.jit`, the
    compiled kernels' int64 scalars (:mod:`toolbox.kernels`), so every path draws the same bits.
    The products may wrap around in int64 (tensors, compiled code); their low 32 bits, all that
    is kept, are exact anyway."""
    x = x & _M
    x = x ^ (x >> 16)
    x = (x * _C1) & _M
    x = x ^ (x >> 15)
    x = (x * _C2) & _M
    return x ^ (x >> 16)


def counter_code(counter):
    """The constant that :func:`uniform` mixes into every entry drawn at ``counter``."""
    return hash32(counter * _GOLDEN + 0x51ED27)


def uniform_bits(key, code, j):
    """The 32 random bits of entry ``j`` of ``uniform(key, counter, n)`` with
    ``code = counter_code(counter)``: integers, int64 tensors (broadcasting) or compiled scalars."""
    return hash32(hash32(key ^ (j * _GOLDEN + code)) + code)


def stream_key(seed: int, stream: int, index: torch.Tensor | int = 0) -> torch.Tensor | int:
    """Key of random stream ``stream`` (an integer tag) for ``seed`` and member ``index``."""
    base = hash32(hash32(int(seed) & _M) ^ hash32(stream * _GOLDEN + 12345))
    if isinstance(index, torch.Tensor):
        return hash32(index * _GOLDEN + base)
    return hash32(int(index) * _GOLDEN + base)


def env_keys(num_envs: int, device: torch.device, seed: int | None = None,
             keys: torch.Tensor | None = None) -> torch.Tensor:
    """The ``(num_envs,)`` int64 keys of a batched environment's random streams: ``keys`` as given
    (checked), else one :data:`ENV_STREAM` key per environment for ``seed`` (a fresh seed when
    None).
    ValueError for a ``num_envs`` that is not a positive integer or ``keys`` of another shape."""
    if isinstance(num_envs, bool) or not isinstance(num_envs, (int, np.integer)) or num_envs < 1:
        raise ValueError(f"num_envs must be a positive integer; got {num_envs!r}.")
    num_envs = int(num_envs)
    if keys is not None:
        keys = torch.as_tensor(keys, dtype=torch.int64, device=device)
        if keys.shape != (num_envs,):
            raise ValueError(f"env_keys must have shape ({num_envs},); got {tuple(keys.shape)}.")
        return keys
    if seed is None:
        seed = int(np.random.SeedSequence().generate_state(1)[0])
    return stream_key(seed, ENV_STREAM, torch.arange(num_envs, device=device))


def uniform(keys: torch.Tensor, counter: int, n: int,
            dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """U[0, 1) numbers: ``keys (...,)`` int64 and an integer ``counter`` -> ``(..., n)``.

    Entry ``[..., j]`` depends only on ``(keys[...], counter, j)``. float32 results carry 24 random
    bits, float64 results 32.
    """
    j = torch.arange(n, device=keys.device, dtype=torch.int64)
    x = uniform_bits(keys.unsqueeze(-1), counter_code(int(counter)), j)
    if dtype == torch.float64:
        return x.to(torch.float64) * (1.0 / 4294967296.0)
    return (x >> 8).to(dtype) * (1.0 / 16777216.0)
