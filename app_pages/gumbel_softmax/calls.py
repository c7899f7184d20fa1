"""The Gumbel-Softmax page's backend calls, cached per input (Streamlit's ``st.cache_data``).

Every call is keyed on all of its inputs; results come back as small numpy arrays (cached values are
pickled, and numpy pickles far faster than tensors). Each part of the page draws from its own random
stream, so moving one control does not reshuffle the others.
"""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import streamlit as st
import torch

from toolbox import gumbel as G
from toolbox.lessons import gumbel as gumbel_lesson
from toolbox.lessons import shared as K

SWEEP_TAUS = tuple(G.log_grid(*K.GS_SWEEP, device="cpu").tolist())
N_RELAXED = K.GS_N_RELAXED  # relaxed samples behind the mean, the simplex and the argmax check
N_CURVE = K.GS_N_CURVE      # samples per τ for the entropy / max-coordinate curves


def generator(seed: int, part: int, device: str = "cpu") -> torch.Generator:
    # one stream per part of the page, so moving one control does not reshuffle the others
    return torch.Generator(device=device).manual_seed(G.stream_seed(seed, part))


def to_numpy(obj):
    """Backend results as numpy (tensors, dicts of them and dataclasses of them)."""
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu().numpy()
    if isinstance(obj, dict):
        return {k: to_numpy(v) for k, v in obj.items()}
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return SimpleNamespace(
            **{f.name: to_numpy(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
        )
    return obj


# ---- cached backend calls (keyed on every input; results are small numpy arrays) --------------


@st.cache_data(show_spinner=False, max_entries=256)
def gumbel_max(values: tuple, mode: str, n: int, seed: int, device: str):
    logits = G.distribution_logits(list(values), mode, device=device)
    return to_numpy(G.gumbel_max_experiment(logits, n, generator(seed, K.GS_PART_MAX, device)))


@st.cache_data(show_spinner=False, max_entries=256)
def relaxed(values: tuple, mode: str, tau: float, seed: int, device: str):
    logits = G.distribution_logits(list(values), mode, device=device)
    return to_numpy(G.relaxed_experiment(logits, tau, N_RELAXED, generator(seed, K.GS_PART_RELAXED,
                                                                           device)))


@st.cache_data(show_spinner=False, max_entries=64)
def curve(values: tuple, mode: str, seed: int, device: str):
    logits = G.distribution_logits(list(values), mode, device=device)
    return to_numpy(G.temperature_sweep(logits, list(SWEEP_TAUS), N_CURVE,
                                        generator(seed, K.GS_PART_CURVE, device)))


@st.cache_data(show_spinner=False, max_entries=256)
def gaussian(mu: float, sigma: float, seed: int, device: str):
    return to_numpy(G.gaussian_reparameterization(mu, sigma, 5, generator(seed, 4, device),
                                                  device=device))


@st.cache_data(show_spinner=False, max_entries=256)
def jacobian(values: tuple, mode: str, tau: float, hard: bool, seed: int, device: str):
    logits = G.distribution_logits(list(values), mode, device=device)
    return to_numpy(G.relaxed_sample_jacobian(logits, tau, hard=hard,
                                              generator=generator(seed, 5, device)))


@st.cache_data(show_spinner=False, max_entries=32)
def graph(kind: str, K: int, hard: bool) -> str:
    return G.computation_graph_dot(kind, K=K, hard=hard)


@st.cache_data(show_spinner=False, max_entries=256)
def estimates_at(values: tuple, mode: str, f: tuple, downstream: str, tau: float, n: int, seed: int,
                 device: str):
    logits = G.distribution_logits(list(values), mode, device=device)
    cmp = G.compare_estimators(logits, list(f), tau, n, generator(seed, 6, device),
                               downstream=downstream)
    spread = {"none": G.reinforce_spread(logits, list(f), 0.0, downstream),
              "J": G.reinforce_spread(logits, list(f), cmp.J, downstream)}
    return to_numpy(cmp), spread


@st.cache_data(show_spinner=False, max_entries=64)
def script(values: tuple, mode: str, f: tuple, downstream: str, tau: float, n: int,
           seed: int) -> str:
    return gumbel_lesson.estimator_script(list(values), mode, list(f), tau, n,
                                          G.stream_seed(seed, 6), downstream)


@st.cache_data(show_spinner=False, max_entries=64)
def sweep(values: tuple, mode: str, f: tuple, downstream: str, n: int, seed: int, device: str):
    logits = G.distribution_logits(list(values), mode, device=device)
    return to_numpy(G.estimator_sweep(logits, list(f), list(SWEEP_TAUS), n,
                                      generator(seed, 7, device), downstream=downstream))
