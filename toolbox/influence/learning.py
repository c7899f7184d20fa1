"""Learning with an influence bonus: two tabular softmax policies trained by REINFORCE.

A sequential matrix game (i moves, j sees a^i, both are paid) with i's reward = extrinsic +
β · influence, many seeds as one batched computation (``train_influence_game``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import torch

from toolbox.device import resolve_device
from toolbox.influence.games import GAMES, InfluenceTrainConfig
from toolbox.influence.reward import batched_influence


@dataclass
class InfluenceTrainResult:
    """Curves recorded during training; ``(n_seeds, n_records)`` unless stated."""

    steps: np.ndarray
    """Update index of each record, shape (n_records,)."""
    extrinsic_i: np.ndarray
    """Expected extrinsic return of i, E[R^i(a^i, a^j)], exact under the current policies."""
    extrinsic_j: np.ndarray
    """Expected extrinsic return of j."""
    mutual_information: np.ndarray
    """I(a^i; a^j) in nats (= E[influence reward]) under the current policies."""
    pi_i: np.ndarray
    """Final π^i, shape (n_seeds, A_i)."""
    pi_j_given_ai: np.ndarray
    """Final π^j(·|a^i), shape (n_seeds, A_i, A_j)."""

    @classmethod
    def from_json(cls, data: dict) -> "InfluenceTrainResult":
        return cls(**{k: np.asarray(data[k], dtype=np.float64) for k in cls.__dataclass_fields__})

    def truncated(self, n: int) -> "InfluenceTrainResult":
        """The first ``n`` records (for streaming partial curves)."""
        return InfluenceTrainResult(self.steps[:n], self.extrinsic_i[:, :n],
                                    self.extrinsic_j[:, :n], self.mutual_information[:, :n],
                                    self.pi_i, self.pi_j_given_ai)



def softmax(logits: torch.Tensor) -> torch.Tensor:
    """Softmax over the last axis, written out.

    The training loop avoids ops that enter torch's thread pool (``torch.softmax``, ``max(dim)``,
    ``einsum``→``bmm``) even for (8, 2) tensors: on a busy 2-core server that synchronisation cost
    up to 40× the arithmetic (9 s instead of 0.2 s per training). Elementwise ops and
    ``sum``/``amax`` run inline at these sizes.
    """
    e = torch.exp(logits - logits.amax(-1, keepdim=True))
    return e / e.sum(-1, keepdim=True)


def reinforce_gradients(
    pi_i: torch.Tensor, pi_j: torch.Tensor, a_i: torch.Tensor, a_j: torch.Tensor,
    adv_i: torch.Tensor, adv_j: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    """∇ of (1/B) Σ_b A_b log π(a_b) w.r.t. the logits, for both tabular softmax policies.

    For a softmax, ∇_logits log π(a) = e_a − π, so the gradient of i is
    (1/B) Σ_b A^i_b (e_{a^i_b} − π^i) and that of j's row a^i is (1/B) Σ_{b: a^i_b = a^i} A^j_b
    (e_{a^j_b} − π^j(·|a^i)). Shapes: pi_i (S, A_i), pi_j (S, A_i, A_j), a_i, a_j, adv_i, adv_j
    (S, B) → (S, A_i), (S, A_i, A_j). Equal to autograd through log_softmax (tested), without its
    per-op overhead.
    """
    n_b = a_i.shape[1]
    onehot_i = torch.nn.functional.one_hot(a_i, pi_i.shape[1]).to(pi_i.dtype)  # (S, B, A_i)
    onehot_j = torch.nn.functional.one_hot(a_j, pi_j.shape[2]).to(pi_j.dtype)  # (S, B, A_j)
    grad_i = ((adv_i[..., None] * onehot_i).sum(1) - adv_i.sum(1, keepdim=True) * pi_i) / n_b
    weighted = onehot_i * adv_j[..., None]  # (S, B, A_i): A^j_b on the row a^i_b
    # (S, A_i, A_j); no bmm (see softmax)
    counts = (weighted[..., None] * onehot_j[:, :, None, :]).sum(1)
    grad_j = (counts - weighted.sum(1)[..., None] * pi_j) / n_b
    return grad_i, grad_j


def train_influence_game(
    config: InfluenceTrainConfig,
    report: Callable[[float, Any], None] | None = None,
    device: torch.device | str | None = None,
) -> InfluenceTrainResult:
    """REINFORCE for both agents, all seeds at once; i's reward is R^i + β · influence.

    Per update and seed: sample ``episodes`` pairs a^i ~ π^i, a^j ~ π^j(·|a^i); i's return is
    R^i(a^i, a^j) + β KL[π^j(·|a^i) ‖ Σ_a' π^j(·|a') π^i(a')] (the exact influence of its action
    under j's current policy, treated as a reward: no gradient flows through it, as in Jaques et
    al.); j's return is R^j(a^i, a^j). Gradient ascent on Σ_b (G_b − mean G) ∇ log π(a_b), per seed.
    Shapes: logits_i (S, A_i), logits_j (S, A_i, A_j). ``report(fraction, partial_result)`` is
    called every ``record_every`` updates.
    """
    config.validate()
    device = resolve_device(device)  # None: RL_TOOLBOX_DEVICE or auto, as every trainer
    game = GAMES[config.game]
    r_i = torch.tensor(game.r_i, dtype=torch.float32, device=device)
    r_j = torch.tensor(game.r_j, dtype=torch.float32, device=device)
    n_ai, n_aj = r_i.shape
    s, b = config.n_seeds, config.episodes
    gen = torch.Generator(device=device).manual_seed(config.seed)
    logits_i = config.init_scale * torch.randn(s, n_ai, generator=gen, device=device)
    logits_j = config.init_scale * torch.randn(s, n_ai, n_aj, generator=gen, device=device)
    seed_idx = torch.arange(s, device=device)[:, None].expand(s, b)
    n_rec = config.iterations // config.record_every + 1
    steps = np.zeros(n_rec)
    ext_i = np.zeros((s, n_rec))
    ext_j = np.zeros((s, n_rec))
    mi = np.zeros((s, n_rec))

    def record(k: int, it: int, pi_i: torch.Tensor, pi_j: torch.Tensor) -> None:
        with torch.no_grad():
            p64, q64 = pi_i.double(), pi_j.double()
            joint = p64[:, :, None] * q64  # (S, A_i, A_j)
            steps[k] = it
            ext_i[:, k] = (joint * r_i.double()).sum((1, 2)).cpu().numpy()
            ext_j[:, k] = (joint * r_j.double()).sum((1, 2)).cpu().numpy()
            mi[:, k] = batched_influence(p64, q64)[1].cpu().numpy()

    k = 0
    for it in range(config.iterations + 1):
        pi_i = softmax(logits_i)
        pi_j = softmax(logits_j)
        if it % config.record_every == 0:
            record(k, it, pi_i, pi_j)
            k += 1
            if report is not None:
                report(it / config.iterations, _partial(steps, ext_i, ext_j, mi, k, pi_i, pi_j))
        if it == config.iterations:
            break
        with torch.no_grad():
            a_i = torch.multinomial(pi_i, b, replacement=True, generator=gen)  # (S, B)
            probs_j = pi_j[seed_idx, a_i]  # (S, B, A_j)
            a_j = torch.multinomial(probs_j.reshape(s * b, n_aj), 1, generator=gen).view(s, b)
            influence, _ = batched_influence(pi_i, pi_j)  # (S, A_i)
            g_i = r_i[a_i, a_j] + config.beta * influence.gather(1, a_i)
            g_j = r_j[a_i, a_j]
            adv_i = g_i - g_i.mean(1, keepdim=True)
            adv_j = g_j - g_j.mean(1, keepdim=True)
            grad_i, grad_j = reinforce_gradients(pi_i, pi_j, a_i, a_j, adv_i, adv_j)
            logits_i += config.lr * grad_i
            logits_j += config.lr * grad_j
    return _partial(steps, ext_i, ext_j, mi, k, softmax(logits_i), softmax(logits_j))


def _partial(steps, ext_i, ext_j, mi, k, pi_i, pi_j) -> InfluenceTrainResult:
    return InfluenceTrainResult(
        steps[:k].copy(), ext_i[:, :k].copy(), ext_j[:, :k].copy(), mi[:, :k].copy(),
        pi_i.detach().double().cpu().numpy(), pi_j.detach().double().cpu().numpy(),
    )

