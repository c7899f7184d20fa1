"""Settings of one DIAL/RIAL/no-communication training run on the Switch Riddle, and the server's
caps.

``DialConfig`` holds the paper's / reference implementation's defaults, one docstring per field;
``validate`` turns every setting the server will not train into a ``ValueError`` a student can read.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from toolbox.dial.cnet import INPUT_MODES
from toolbox.dial.switch import episode_length

METHODS = ("dial", "rial", "nocomm")
MAX_AGENTS = 10
"""Largest team the server trains: the horizon and the protocol grow with n."""
MAX_BATCHES = 20_000
"""Server cap on training batches of one run."""
MAX_AGENT_STEPS = 30_000_000
"""Server cap on ``n_batches * batch_size * T * n_agents`` (the cost of a run)."""
MAX_TEST_EPISODES = 100_000


@dataclass
class DialConfig:
    """Settings of one Switch-Riddle training run; defaults are the paper's / reference's."""

    n_agents: int = 3
    """n, the number of prisoners; the episode lasts T = 4n - 6 days."""
    method: str = "dial"
    """"dial" (differentiable channel), "rial" (message as a Q-learned action) or "nocomm"."""
    param_sharing: bool = True
    """One C-Net for all agents (agent index embedded) instead of one network per agent."""
    input_mode: str = "sum"
    """"sum": embeddings of each input added (the paper's C-Net); "concat": raw inputs
    concatenated."""
    rnn_size: int = 128
    """H, width of embeddings, GRU and head."""
    rnn_layers: int = 2
    """Layers of the GRU."""
    batch_size: int = 32
    """Episodes played per training batch (B)."""
    n_batches: int = 1000
    """Training budget in batches (one gradient step each)."""
    lr: float = 5e-4
    """RMSprop learning rate."""
    momentum: float = 0.05
    """RMSprop momentum."""
    eps: float = 0.05
    """epsilon of the epsilon-greedy behaviour policy during training."""
    gamma: float = 1.0
    """Discount factor."""
    target_update: int = 100
    """Copy the network into the target network every this many batches."""
    sigma: float = 2.0
    """Standard deviation of the DRU's training noise."""
    init_range: float = 0.08
    """GRU weights start uniform(-init_range, init_range), as the reference."""
    grad_clip: float = 10.0
    """Clip the gradient norm (per network) to this value."""
    test_every: int = 10
    """Run the greedy execution-mode test every this many batches."""
    test_episodes: int = 1000
    """Fresh episodes per test."""
    stop_at: float | None = None
    """Stop early once the test normalized reward reaches this value (None: use the budget)."""
    message_bins: int = 32
    """Bins of the histogram of sent pre-DRU messages recorded at each test."""
    message_range: float = 16.0
    """Histogram range [-message_range, message_range] for the sent messages (clipped)."""

    @property
    def T(self) -> int:
        return episode_length(self.n_agents)

    @property
    def comm(self) -> bool:
        return self.method != "nocomm"

    def validate(self) -> None:
        """Raise ``ValueError`` with a readable sentence for any setting the server will not
        train."""
        if self.n_agents < 2:
            raise ValueError(f"The Switch Riddle needs at least 2 agents; got n = {self.n_agents}.")
        if self.n_agents > MAX_AGENTS:
            raise ValueError(
                f"n = {self.n_agents} agents is too large for this server (at most {MAX_AGENTS}).")
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}; got {self.method!r}.")
        if self.input_mode not in INPUT_MODES:
            raise ValueError(f"input_mode must be one of {INPUT_MODES}; got {self.input_mode!r}.")
        if self.sigma < 0 or not math.isfinite(self.sigma):
            raise ValueError(
                f"The DRU noise sigma is a standard deviation and must be >= 0; got {self.sigma}.")
        if self.batch_size < 1 or self.n_batches < 1 or self.test_episodes < 1:
            raise ValueError(
                "Training needs at least one episode per batch, one batch and one test episode "
                f"(got batch_size={self.batch_size}, n_batches={self.n_batches}, "
                f"test_episodes={self.test_episodes})."
            )
        if self.n_batches > MAX_BATCHES:
            raise ValueError(
                f"{self.n_batches} batches is beyond this server's cap of {MAX_BATCHES} per run.")
        if self.test_episodes > MAX_TEST_EPISODES:
            raise ValueError(
                f"{self.test_episodes} test episodes is beyond the cap of {MAX_TEST_EPISODES}.")
        cost = self.n_batches * self.batch_size * self.T * self.n_agents
        if cost > MAX_AGENT_STEPS:
            raise ValueError(
                f"n = {self.n_agents} agents is too large for this budget: {self.n_batches} "
                f"batches x {self.batch_size} episodes x {self.T} days x {self.n_agents} "
                f"agents = {cost:,} agent-steps, beyond the server's cap of {MAX_AGENT_STEPS:,}. "
                "Use fewer batches or agents."
            )
        if not (0.0 <= self.eps <= 1.0):
            raise ValueError(f"epsilon is a probability and must lie in [0, 1]; got {self.eps}.")
        if not (0.0 <= self.gamma <= 1.0):
            raise ValueError(f"gamma must lie in [0, 1]; got {self.gamma}.")
        if not (
            self.lr > 0 and self.rnn_size >= 1 and self.rnn_layers >= 1 and self.target_update >= 1
            and self.test_every >= 1 and self.grad_clip > 0 and self.message_bins >= 2):
            raise ValueError(
                "lr, rnn_size, rnn_layers, target_update, "
                "test_every and grad_clip must be positive.")
        if self.rnn_size > 1024:
            raise ValueError(f"rnn_size {self.rnn_size} is beyond the server's cap of 1024.")


def run_key(config: DialConfig) -> str:
    """A short, stable name of the settings that define a learning curve."""
    c = config
    return (f"n{c.n_agents}-{c.method}-{'shared' if c.param_sharing else 'separate'}-{c.input_mode}"
            f"-sigma{c.sigma:g}-b{c.n_batches}-bs{c.batch_size}-t{c.test_every}x{c.test_episodes}")
