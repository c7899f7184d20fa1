"""The code behind the lesson: "Run it yourself" scripts and the names of the functions the page
shows.

``estimator_script`` writes a short standalone script (torch only) that compares the gradient
estimators on given settings and prints the numbers ``compare_estimators`` computes for the same
settings and seed (on the CPU; a GPU draws other random numbers from the same seed).
"""

from __future__ import annotations

from typing import Sequence

from toolbox.gumbel.estimators import DOWNSTREAM
from toolbox.gumbel.inputs import MODES, check_f_values, check_n, check_tau, distribution_logits

_TEMPLATE = '''"""Gradient estimators for a categorical sample, on the settings of the RL Toolbox's Gumbel-Softmax page.

Objective: J(theta) = E_{{z ~ Cat(pi)}}[h(f_z)], pi = softmax(theta). Every estimator below is the
gradient of a surrogate computed by autograd, one estimate per sample; all share one draw of
Gumbel noise g. The script prints J, the exact gradient, and each estimator's bias and spread.

Run:  python {file_name}      (needs only PyTorch; on a CPU it prints the numbers the page shows)
"""

import torch
import torch.nn.functional as F

# ---- the settings on screen ----
{theta_line}
F_VALUES = {f!r}   # f(k), one per category
DOWNSTREAM = {downstream!r}   # "linear": h(s) = s, "square": h(s) = s**2, applied to f . y
TAU = {tau!r}   # Gumbel-Softmax temperature
N_SAMPLES = {n}   # per-sample estimates per estimator
SEED = {seed}   # the page's random stream for this comparison

torch.set_num_threads(1)


def h(s):
    return s if DOWNSTREAM == "linear" else s * s


f = torch.tensor(F_VALUES)
K = f.shape[0]
pi = torch.softmax(theta, -1)
J = (pi * h(f)).sum()
exact = pi * (h(f) - J)  # dJ/dtheta_j = pi_j (h(f_j) - J)

# Gumbel(0, 1) noise g = -log(-log u), shared by every estimator
gen = torch.Generator().manual_seed(SEED)
u = torch.rand((N_SAMPLES, K), generator=gen).clamp_min(torch.finfo(torch.float32).tiny)
g = -torch.log(-torch.log(u))
z = (theta + g).argmax(-1)  # Gumbel-max trick: z ~ Cat(pi)
h_z = h(f[z])


def reinforce(baseline):
    """Score function (Williams 1992): (h(f_z) - b) * grad log pi_z."""
    def surrogate(th):
        log_pi_z = torch.log_softmax(th, -1).gather(-1, z[:, None]).squeeze(-1)
        return (h_z - baseline) * log_pi_z
    return surrogate


def gumbel_softmax(hard):
    """Gumbel-Softmax (Jang et al. 2017): grad h(f . y), y = softmax((theta + g) / tau).
    hard=True: straight-through Gumbel-Softmax, forward one_hot(argmax y), backward through y."""
    def surrogate(th):
        y = torch.softmax((th + g) / TAU, -1)
        if hard:
            y = F.one_hot(y.argmax(-1), K).to(y.dtype) - y.detach() + y
        return h((y * f).sum(-1))
    return surrogate


def straight_through(th):
    """Straight-through (Bengio et al. 2013): forward one_hot(z), backward through pi."""
    p = torch.softmax(th, -1)
    y = F.one_hot(z, K).to(p.dtype) - p.detach() + p
    return h((y * f).sum(-1))


ESTIMATORS = {{
    "reinforce": reinforce(0.0),
    "reinforce_baseline": reinforce(J),  # b = J (an oracle constant)
    "reinforce_loo": reinforce((h_z.sum() - h_z) / (N_SAMPLES - 1)),  # leave-one-out: mean of the others
    "gumbel_softmax": gumbel_softmax(hard=False),
    "straight_through_gumbel": gumbel_softmax(hard=True),
    "straight_through": straight_through,
}}

print(f"J = {{J.item():.6f}}")
print("exact gradient = [" + ", ".join(f"{{v:.6f}}" for v in exact.tolist()) + "]")
for name, surrogate in ESTIMATORS.items():
    theta_copies = theta.expand(N_SAMPLES, K).clone().requires_grad_(True)  # one copy per sample
    (grads,) = torch.autograd.grad(surrogate(theta_copies).sum(), theta_copies)  # (N_SAMPLES, K)
    grads = grads.double()
    mean, var = grads.mean(0), grads.var(0)
    bias = (mean - exact.double()).norm().item()
    std = var.sum().sqrt().item()  # sqrt(sum_k Var g_k): spread of one estimate
    print(f"{{name:<24}} bias {{bias:.6f}}  std {{std:.6f}}  mean [" + ", ".join(f"{{v:.6f}}" for v in mean.tolist()) + "]")
'''  # noqa: E501


def estimator_script(values: Sequence[float], mode: str, f: Sequence[float], tau: float,
                     n_samples: int, seed: int, downstream: str = "linear",
                     file_name: str = "gumbel_estimators.py") -> str:
    """Python source of a standalone script comparing the gradient estimators on these settings.

    ``values``: the K typed probabilities (``mode="probabilities"``) or logits; ``f``: K values
    f(k); ``seed``: the integer its ``torch.Generator`` is seeded with (the page passes
    ``stream_seed(seed, part)``). On a CPU, the script prints J, ∇θ J and, per estimator, the
    ``bias``, ``std`` and ``mean`` of ``compare_estimators(distribution_logits(values, mode), f,
    tau, n_samples, torch.Generator().manual_seed(seed), downstream)``.
    """
    if mode not in MODES:
        raise ValueError(f"Unknown input mode {mode!r}; choose {' or '.join(MODES)}.")
    if downstream not in DOWNSTREAM:
        raise ValueError(
            f"Unknown downstream function {downstream!r}; choose one of {', '.join(DOWNSTREAM)}.")
    values = [float(v) for v in values]
    distribution_logits(values, mode, device="cpu")  # validates
    f = check_f_values(f, len(values))
    tau = float(check_tau(tau))
    n = check_n(n_samples)
    if n < 2:
        raise ValueError("Measuring a spread needs at least 2 samples.")
    seed = int(seed)
    if seed < 0:
        raise ValueError(f"The random seed must be 0 or more, got {seed}.")
    if mode == "probabilities":
        theta_line = (f"PROBS = {values!r}   # pi, one per category\n"
                      "p = torch.tensor(PROBS)\n"
                      "theta = torch.log(p / p.sum())   # logits: softmax(theta) = pi")
    else:
        theta_line = f"theta = torch.tensor({values!r})   # logits, pi = softmax(theta)"
    return _TEMPLATE.format(file_name=file_name, theta_line=theta_line, f=f, downstream=downstream,
                            tau=tau, n=n, seed=seed)
