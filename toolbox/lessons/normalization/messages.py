"""Normalization lesson ⑤: a drifting DIAL message through the C-Net's BatchNorm, in train and eval
mode, and LayerNorm.

The BatchNorm is the first layer of ``toolbox.dial.cnet.CNet``'s ``message_mlp`` at its
initialization; its arithmetic is reproduced in vectorized form over the training steps (tests
check every number against the module stepped in a loop).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import torch

from toolbox import nn_init
from toolbox.checks import check_int
from toolbox.device import resolve_device
from toolbox.dial.cnet import CNet

MESSAGE_MLP_SOURCE = "toolbox.dial.cnet.CNet(n_agents=3).message_mlp"
"""The module whose BatchNorm the demo reproduces (shown on the page)."""


@dataclass
class MessageNormDemo:
    """A DIAL message stream whose scale drifts during training, through BatchNorm and LayerNorm.

    All per-step arrays have length K (training steps); samples are ``(K, B, c)``.
    """

    scale: torch.Tensor
    """``(K,)`` the sender's logit scale s_k (grows as the sender becomes confident)."""
    bits: torch.Tensor
    """``(K, B)`` the bit each message encodes (first channel)."""
    raw: torch.Tensor
    """``(K, B, c)`` the message the receiver gets (DRU output in training)."""
    bn_train: torch.Tensor
    """``(K, B, c)`` BatchNorm1d in train mode: normalized with the batch's own statistics."""
    bn_eval: torch.Tensor
    """``(K, B, c)`` BatchNorm1d in eval mode: normalized with the running statistics."""
    layer_norm: torch.Tensor
    """``(K, B, c)`` LayerNorm over the c message channels of each sample."""
    running_mean: torch.Tensor
    """``(K, c)`` BatchNorm's running mean after step k."""
    running_var: torch.Tensor
    """``(K, c)`` BatchNorm's running variance after step k."""
    seed: int
    """The seed of the message stream and of the C-Net's initialization."""
    source: str
    """Where the BatchNorm module comes from (shown on the page)."""


def _separation(x: torch.Tensor, bits: torch.Tensor) -> torch.Tensor:
    """d' of channel 0 between bit 1 and bit 0: (mean₁ − mean₀) / pooled std; 0 where undefined.
    ``(K,)``."""
    x = x[..., 0]
    b = bits.to(x.dtype)
    n1 = b.sum(-1).clamp_min(1)
    n0 = (1 - b).sum(-1).clamp_min(1)
    m1 = (x * b).sum(-1) / n1
    m0 = (x * (1 - b)).sum(-1) / n0
    var = ((x - torch.where(b > 0, m1[:, None], m0[:, None])) ** 2).sum(-1) / (n0 + n1)
    sd = torch.sqrt(var)
    return torch.where(sd > 1e-12, (m1 - m0) / sd.clamp_min(1e-12), torch.zeros_like(sd))


def message_separation(x, bits) -> torch.Tensor:
    """Public wrapper of the d' between the two bits, ``x (K, B, c)``,
    ``bits (K, B)`` → ``(K,)``."""
    return _separation(torch.as_tensor(x), torch.as_tensor(bits))


@functools.lru_cache(maxsize=32)
def _message_mlp(comm_bits: int, seed: int, device: str) -> torch.nn.Sequential:
    """The DIAL C-Net's ``message_mlp`` (BatchNorm1d → Linear → ReLU) at its initialization for
    ``seed``.

    Cached (read-only afterwards): building a C-Net costs more than the whole demo.
    """
    net = nn_init.build(lambda: CNet(n_agents=3, comm_bits=comm_bits),
                        torch.Generator().manual_seed(int(seed)))
    mlp = net.message_mlp
    return mlp.to(torch.device(device)).double().eval().requires_grad_(False)


def message_norm_demo(comm_bits: int = 1, batch_size: int = 32, steps: int = 200,
                      noise_std: float = 2.0, momentum: float = 0.1, scale_start: float = 0.1,
                      scale_end: float = 10.0, dru: bool = True, seed: int = 0,
                      device=None) -> MessageNormDemo:
    r"""Feed a drifting message stream through the DIAL C-Net's message BatchNorm and through
    LayerNorm.

    At training step k the sender's message logit is :math:`\pm s_k` (sign = the bit it wants to
    send), :math:`s_k` growing geometrically from ``scale_start`` to ``scale_end``. In DIAL's
    training the receiver gets the DRU output :math:`\sigma(\text{logit} + \mathcal N(0, \sigma^2))`
    (``dru=True``), otherwise the raw noisy logit. The BatchNorm is the first layer of
    ``toolbox.dial.cnet.CNet(n_agents=3).message_mlp``; LayerNorm normalizes each sample over its
    ``c`` channels.
    """
    c = check_int(comm_bits, "the number of message bits", 1, 16)
    B = check_int(batch_size, "the batch size", 2, 4096)
    K = check_int(steps, "the number of training steps", 1, 1000)
    try:
        sigma = float(noise_std)
        mom = float(momentum)
        s0, s1 = float(scale_start), float(scale_end)
    except (TypeError, ValueError):
        raise ValueError("noise, momentum and scales must be numbers.") from None
    if not (0.0 <= sigma <= 100.0):
        raise ValueError(f"the DRU noise σ must be between 0 and 100; got {noise_std!r}.")
    if not (0.0 < mom <= 1.0):
        raise ValueError(f"BatchNorm's momentum must be in (0, 1]; got {momentum!r}.")
    if not (0.0 < s0 <= 1000.0 and 0.0 < s1 <= 1000.0):
        raise ValueError(
            "the logit scales must be positive (at most "
            f"1000); got {scale_start!r} and {scale_end!r}.")
    dev = resolve_device(device)
    mlp = _message_mlp(c, int(seed), str(dev))
    bn = mlp[0]
    g = torch.Generator(device=dev).manual_seed(int(seed))
    ratio = torch.linspace(0.0, 1.0, K, dtype=torch.float64, device=dev)
    scale = s0 * (s1 / s0) ** ratio
    bits = torch.randint(0, 2, (K, B, c), generator=g, device=dev).double()
    noise = torch.randn(K, B, c, generator=g, device=dev, dtype=torch.float64)
    logits = scale[:, None, None] * (2 * bits - 1) + sigma * noise
    raw = torch.sigmoid(logits) if dru else logits
    # BatchNorm1d's own arithmetic, vectorized over the K steps (one module call per step would
    # cost a kernel launch each; tests check every number against nn.BatchNorm1d stepped in a loop)
    with torch.no_grad():
        w, b, eps = bn.weight.detach(), bn.bias.detach(), bn.eps
        # (K, c): train mode normalizes with these
        var_b, mean_b = torch.var_mean(raw, dim=1, correction=0)
        # the running variance is fed the unbiased estimate
        var_unbiased = raw.var(dim=1, correction=1)
        bn_train = (raw - mean_b[:, None]) / torch.sqrt(var_b[:, None] + eps) * w + b
        # the exponential moving average is a recurrence over training steps: (K, c) stays tiny
        running_mean, running_var = torch.empty_like(mean_b), torch.empty_like(var_unbiased)
        rm, rv = bn.running_mean, bn.running_var
        for k in range(K):
            rm = torch.lerp(rm, mean_b[k], mom)  # (1 - m) r + m b
            rv = torch.lerp(rv, var_unbiased[k], mom)
            running_mean[k], running_var[k] = rm, rv
        bn_eval = (raw - running_mean[:, None]) / torch.sqrt(running_var[:, None] + eps) * w + b
        y_ln = torch.nn.functional.layer_norm(raw, (c,))
    return MessageNormDemo(scale, bits[..., 0], raw, bn_train, bn_eval, y_ln, running_mean,
                           running_var, int(seed), MESSAGE_MLP_SOURCE)


def message_mlp_gap(demo: MessageNormDemo, step: int) -> torch.Tensor:
    """Mean |message_mlp(x) in train mode − in eval mode| at one training step: how differently the
    receiver's next layer (Linear → ReLU after the BatchNorm) sees the same messages in the two
    modes."""
    k = check_int(step, "the training step", 0, demo.scale.shape[0] - 1)
    mlp = _message_mlp(demo.raw.shape[-1], demo.seed, str(demo.raw.device))
    with torch.no_grad():
        return (mlp[1:](demo.bn_eval[k]) - mlp[1:](demo.bn_train[k])).abs().mean()
