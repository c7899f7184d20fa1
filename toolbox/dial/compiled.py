"""The compiled DIAL training step (CPU): the team's parameters in one flat vector, trained in
place by :mod:`toolbox.dial.kernel` (rollout, TD loss, gradient by hand) plus clipping and RMSprop
in the same compiled code.

``train(..., backend="auto")`` uses it on the CPU for the configurations the kernel covers (every
method — DIAL, RIAL, no communication — with one shared C-Net and summed embeddings: the lesson's
runs); the readable loop of ``toolbox.dial.rollout`` + autograd + ``torch.optim.RMSprop`` stays the
reference and the path for everything else (one network per agent, concatenated inputs, CUDA).
Both draw the same random numbers in the same order from the run's generator, so a seed gives the
same run up to rounding (``tests/test_dial_compiled.py``).
"""

from __future__ import annotations

import numpy as np
import torch

from toolbox.dial.config import DialConfig
from toolbox.dial.layout import BatchNormStats, BatchSettings, Draws, flatten
from toolbox.dial.switch import sample_active
from toolbox.dial.team import Team, make_team
from toolbox.kernel_state import compiled_ready, one_blas_thread, warm_once

BACKENDS = ("auto", "compiled", "tensor")
"""The paths ``train`` takes, named as in PPO (:mod:`toolbox.ppo.compiled`): ``"tensor"`` is the
readable torch loop (any device), ``"compiled"`` this module's CPU step."""
RMSPROP_ALPHA, RMSPROP_EPS = 0.99, 1e-8
"""``torch.optim.RMSprop``'s defaults, which the tensor loop uses."""


def unsupported_reason(config: DialConfig) -> str | None:
    """Why the compiled step cannot train ``config`` (a sentence), or None when it can."""
    if not config.param_sharing:
        return "the compiled step covers one shared C-Net, not one network per agent"
    if config.input_mode != "sum":
        return "the compiled step covers summed embeddings, not concatenated inputs"
    return None


def choose_backend(config: DialConfig, device: torch.device, backend: str = "auto") -> str:
    """``"compiled"`` or ``"tensor"`` for ``backend`` in ``BACKENDS`` (auto: compiled on the CPU
    when it covers ``config`` and the kernels are not being compiled in the background,
    :func:`toolbox.jit.compiled_ready`); a ``ValueError`` names what is wrong with an impossible
    request."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}; got {backend!r}.")
    reason = unsupported_reason(config)
    if backend == "auto":
        # while the server compiles the kernels in the background the readable loop trains: no wait
        ready = device.type == "cpu" and reason is None and compiled_ready()
        return "compiled" if ready else "tensor"
    if backend == "compiled":
        if device.type != "cpu":
            raise ValueError(f"the compiled DIAL step runs on the CPU only; got device {device}. "
                             "Use backend='tensor'.")
        if reason is not None:
            raise ValueError(f"{reason}; use backend='tensor'.")
    return backend


class CompiledBatches:
    """Trains ``team`` in place, one training batch per ``step`` (what one pass of ``train``'s loop
    does).

    The team's parameters become views of one flat float32 vector laid out by ``self.layout``
    (:func:`toolbox.dial.layout.flatten`, so the torch module — the test, the protocol, the returned
    policy — always sees the current weights); the target network is a copy of that vector,
    refreshed by ``update_target``; RMSprop's state lives beside it.
    """

    def __init__(self, team: Team, config: DialConfig):
        reason = unsupported_reason(config)
        if reason is not None:
            raise ValueError(reason)
        one_blas_thread()
        self.config, self.team = config, team
        net = team.nets[0]
        self.flat, self.layout = flatten(net)
        self.theta = self.flat.numpy()
        self.target = self.theta.copy()
        self.grad = np.zeros_like(self.theta)
        self.square_avg = np.zeros_like(self.theta)
        self.momentum_buf = np.zeros_like(self.theta)
        c = config
        self.settings = BatchSettings(comm=c.comm, rial=c.method == "rial", gamma=float(c.gamma),
                                      eps=float(c.eps), sigma=float(c.sigma))
        head_bn = net.head[1]
        msg_bn = net.message_mlp[0] if net.message_mlp is not None else None
        self.bns = [head_bn] + ([msg_bn] if msg_bn is not None else [])
        # moved in place by the kernel; placeholders without a channel
        msg_mean, msg_var = ((msg_bn.running_mean.numpy(), msg_bn.running_var.numpy())
                             if msg_bn is not None
                             else (np.zeros(1, np.float32), np.ones(1, np.float32)))
        self.stats = BatchNormStats(msg_mean, msg_var, head_bn.running_mean.numpy(),
                                    head_bn.running_var.numpy())

    def draw(self, gen: torch.Generator) -> Draws:
        """The batch's random numbers from ``gen``, in the readable rollout's order."""
        c = self.config
        B, T = c.batch_size, c.T
        active = sample_active(c.n_agents, B, gen, "cpu")
        explore = torch.rand(B, T, 4, generator=gen)
        noise = torch.randn(B, T, 2, generator=gen)
        return Draws(active.numpy(), explore.numpy(), noise.numpy())

    def gradient(self, draws: Draws) -> float:
        """Play the batch ``draws`` and write its TD loss's gradient into ``self.grad``; returns the
        loss."""
        # Numba, imported where a compiled batch runs: the web process of a training cluster
        # imports this module (backend choice) and never runs a kernel (toolbox.kernel_state)
        from toolbox.dial import kernel

        return float(kernel.batch_gradient(self.theta, self.target, self.grad, self.layout,
                                           self.settings, draws, self.stats))

    def step(self, gen: torch.Generator) -> float:
        """One batch: draw the episodes and noise from ``gen`` (the reference's order), play,
        back-propagate, clip, RMSprop. Returns the loss."""
        from toolbox.dial import kernel  # (see gradient)

        c = self.config
        loss = self.gradient(self.draw(gen))
        kernel.clip_and_rmsprop(self.theta, self.grad, self.square_avg, self.momentum_buf, c.lr,
                                RMSPROP_ALPHA, RMSPROP_EPS, c.momentum, c.grad_clip)
        for bn in self.bns:
            bn.num_batches_tracked += c.T  # one training-mode forward per day, as in torch
        return loss

    def update_target(self) -> None:
        """Copy the team into the target network (``train``'s every ``target_update`` batches)."""
        self.target[:] = self.theta


@warm_once
def warm_up() -> None:
    """Load (or, on a machine's first use, compile) the DIAL kernel by training one tiny batch;
    returns the seconds it took (0 after the first call in a process)."""
    for method in ("dial", "rial", "nocomm"):
        c = DialConfig(method=method, rnn_size=4, batch_size=2)
        CompiledBatches(make_team(c, 0, "cpu"), c).step(torch.Generator().manual_seed(0))
