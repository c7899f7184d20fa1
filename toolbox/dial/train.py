"""DIAL, RIAL and no-communication learners for the Switch Riddle (Foerster et al. 2016).

One training batch = ``B`` episodes played in lock-step, every agent of every episode in one
forward pass of the C-Net (rows = episodes x agents, parameter sharing with the agent index
embedded). Per day t:

* Q-learning target with a target network ``Q^-`` (copied every ``target_update`` batches):
  ``y_t = r_t + gamma * (1 - terminal_t) * max_{u valid} Q^-(tau_{t+1}, u)``, loss
  ``L = sum_{b, t <= end_b, a} (y_t - Q(tau_t^a, u_t^a))^2 / (B n)`` (as the reference).
* **DIAL**: the message ``m_t`` of the agent in the room passes the DRU,
  ``logistic(m + N(0, sigma^2))``, into the next visitor's C-Net *without being detached*, so the
  receiver's TD error back-propagates into the sender across time.
* **RIAL**: the bit is a second action chosen eps-greedily from Q-values of the two message
  actions and learned by Q-learning (targets averaged over the action and message heads, as
  the reference's ``model_avg_q``); no gradient crosses the channel.
* **NoComm**: no channel at all.

At test time the policy runs greedily in *execution mode*: the DRU discretises, ``1{m > 0}``,
and there is no exploration. BatchNorm normalises with the statistics of each day's test batch
(1,000 episodes: the day's population statistics), as the reference implementation's test does;
its running averages pool all days, while the hidden features drift from day to day, and with
them the n = 4 policy collapses (measured: about -1.3 instead of +0.6 after 800 batches).
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import asdict, dataclass, field
from typing import Callable

import torch
from torch import nn

from toolbox.device import resolve_device
from toolbox.dial.cnet import INPUT_MODES, CNet
from toolbox.dial.dru import dru
from toolbox.dial.switch import all_visited, episode_length, oracle_reward, sample_active, step_reward

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
    """"sum": embeddings of each input added (the paper's C-Net); "concat": raw inputs concatenated."""
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
        """Raise ``ValueError`` with a readable sentence for any setting the server will not train."""
        if self.n_agents < 2:
            raise ValueError(f"The Switch Riddle needs at least 2 agents; got n = {self.n_agents}.")
        if self.n_agents > MAX_AGENTS:
            raise ValueError(f"n = {self.n_agents} agents is too large for this server (at most {MAX_AGENTS}).")
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}; got {self.method!r}.")
        if self.input_mode not in INPUT_MODES:
            raise ValueError(f"input_mode must be one of {INPUT_MODES}; got {self.input_mode!r}.")
        if self.sigma < 0 or not math.isfinite(self.sigma):
            raise ValueError(f"The DRU noise sigma is a standard deviation and must be >= 0; got {self.sigma}.")
        if self.batch_size < 1 or self.n_batches < 1 or self.test_episodes < 1:
            raise ValueError(
                "Training needs at least one episode per batch, one batch and one test episode "
                f"(got batch_size={self.batch_size}, n_batches={self.n_batches}, test_episodes={self.test_episodes})."
            )
        if self.n_batches > MAX_BATCHES:
            raise ValueError(f"{self.n_batches} batches is beyond this server's cap of {MAX_BATCHES} per run.")
        if self.test_episodes > MAX_TEST_EPISODES:
            raise ValueError(f"{self.test_episodes} test episodes is beyond the cap of {MAX_TEST_EPISODES}.")
        cost = self.n_batches * self.batch_size * self.T * self.n_agents
        if cost > MAX_AGENT_STEPS:
            raise ValueError(
                f"n = {self.n_agents} agents is too large for this budget: {self.n_batches} batches x "
                f"{self.batch_size} episodes x {self.T} days x {self.n_agents} agents = {cost:,} agent-steps, "
                f"beyond the server's cap of {MAX_AGENT_STEPS:,}. Use fewer batches or agents."
            )
        if not (0.0 <= self.eps <= 1.0):
            raise ValueError(f"epsilon is a probability and must lie in [0, 1]; got {self.eps}.")
        if not (0.0 <= self.gamma <= 1.0):
            raise ValueError(f"gamma must lie in [0, 1]; got {self.gamma}.")
        if not (self.lr > 0 and self.rnn_size >= 1 and self.rnn_layers >= 1 and self.target_update >= 1
                and self.test_every >= 1 and self.grad_clip > 0 and self.message_bins >= 2):
            raise ValueError("lr, rnn_size, rnn_layers, target_update, test_every and grad_clip must be positive.")
        if self.rnn_size > 1024:
            raise ValueError(f"rnn_size {self.rnn_size} is beyond the server's cap of 1024.")


@dataclass
class DialResult:
    """What a run produced; lists are aligned with ``epochs`` (one entry per test)."""

    config: dict
    seed: int
    epochs: list[int] = field(default_factory=list)
    """Batches trained when each test ran (0 = before training)."""
    test_normalized_reward: list[float] = field(default_factory=list)
    """Test reward / oracle reward on the same ``test_episodes`` fresh episodes (greedy, execution mode)."""
    wall_time_s: list[float] = field(default_factory=list)
    """Seconds since ``train`` started (model creation included) when each test finished."""
    message_hist: list[list[float]] = field(default_factory=list)
    """Per test: fraction of sent pre-DRU messages in each of ``message_bins`` bins."""
    message_edges: list[float] = field(default_factory=list)
    batches_trained: int = 0
    device: str = "cpu"
    policy: nn.Module | None = None
    """The trained C-Net team (not serialised)."""

    def time_to(self, threshold: float) -> float | None:
        """Wall seconds until the test reward first reached ``threshold`` (None if never)."""
        for r, s in zip(self.test_normalized_reward, self.wall_time_s):
            if r >= threshold:
                return s
        return None

    def batches_to(self, threshold: float) -> int | None:
        for r, e in zip(self.test_normalized_reward, self.epochs):
            if r >= threshold:
                return e
        return None

    def to_dict(self) -> dict:
        d = asdict(_no_policy(self))
        d.pop("policy", None)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "DialResult":
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__ and k != "policy"})


def _no_policy(r: DialResult) -> DialResult:
    out = copy.copy(r)
    out.policy = None
    return out


class Team(nn.Module):
    """The agents' C-Nets: one shared network (rows = episodes x agents) or one per agent.

    ``forward(obs (B, n), prev_action (B, n), message (B, n), hidden (L, B*n, H), prev_message)``
    returns ``out (B, n, n_outputs)`` and the new hidden state.
    """

    def __init__(self, config: DialConfig):
        super().__init__()
        c = config
        self.n, self.shared = c.n_agents, c.param_sharing
        n_out = {"dial": 3, "rial": 4, "nocomm": 2}[c.method]
        kwargs = dict(n_agents=c.n_agents, rnn_size=c.rnn_size, n_actions=2, comm_bits=1 if c.comm else 0,
                      n_outputs=n_out, rnn_layers=c.rnn_layers, input_mode=c.input_mode,
                      message_actions=2 if c.method == "rial" else 0, init_range=c.init_range)
        self.nets = nn.ModuleList([CNet(**kwargs) for _ in range(1 if self.shared else c.n_agents)])
        self._ids: dict = {}

    def agent_ids(self, B: int, device) -> torch.Tensor:
        key = (B, str(device))
        if key not in self._ids:
            self._ids[key] = torch.arange(self.n, device=device).repeat(B)
        return self._ids[key]

    def initial_hidden(self, B: int, device) -> torch.Tensor:
        net = self.nets[0]
        return torch.zeros(net.rnn.num_layers, B * self.n, net.rnn_size, device=device)

    def forward(self, obs, prev_action, message, hidden, prev_message=None):
        B, n = obs.shape
        if self.shared:
            pm = prev_message.reshape(-1) if prev_message is not None else None
            out, hidden = self.nets[0](self.agent_ids(B, obs.device), obs.reshape(-1), prev_action.reshape(-1),
                                       message.reshape(-1, 1), hidden, pm)
            return out.view(B, n, -1), hidden
        # One network per agent: each sees only its own rows (B of them).
        L, _, H = hidden.shape
        h = hidden.view(L, B, n, H)
        outs, hs = [], []
        for i, net in enumerate(self.nets):
            ids = torch.full((B,), i, dtype=torch.long, device=obs.device)
            pm = prev_message[:, i] if prev_message is not None else None
            o, hi = net(ids, obs[:, i], prev_action[:, i], message[:, i, None], h[:, :, i].contiguous(), pm)
            outs.append(o)
            hs.append(hi)
        return torch.stack(outs, 1), torch.stack(hs, 2).reshape(L, B * n, H)


def _rollout_train(team: Team, target: Team, config: DialConfig, gen: torch.Generator, device) -> tuple:
    """Play one batch of B episodes with the behaviour policy and return the TD loss.

    Returns ``(loss, normalized_train_reward)``.
    """
    c = config
    B, n, T = c.batch_size, c.n_agents, c.T
    active = sample_active(n, B, gen, device)                        # (B, T)
    room = nn.functional.one_hot(active, n)                           # (B, T, n) long
    win = all_visited(active, n)                                      # (B, T)
    # Random numbers for the whole episode in one draw each (exploration, DRU noise).
    u = torch.rand(B, T, 4, generator=gen, device=device)
    noise = torch.randn(B, T, 2, generator=gen, device=device)

    h, h_tgt = team.initial_hidden(B, device), target.initial_hidden(B, device)
    prev_a = torch.zeros(B, n, dtype=torch.long, device=device)
    prev_m = torch.zeros(B, n, dtype=torch.long, device=device) if c.method == "rial" else None
    msg = torch.zeros(B, n, device=device)
    msg_tgt = torch.zeros(B, n, device=device)
    alive = torch.ones(B, dtype=torch.bool, device=device)
    rows = torch.arange(B, device=device)

    q_taken, q_next, alive_t, rewards, terminal = [], [], [], [], []
    qm_taken, qm_next = [], []
    total_reward = torch.zeros(B, device=device)
    for t in range(T):
        obs = room[:, t]                                              # (B, n)
        in_room = obs.bool()
        who = active[:, t]
        out, h = team(obs, prev_a, msg, h, prev_m)
        with torch.no_grad():
            out_tgt, h_tgt = target(obs, prev_a, msg_tgt, h_tgt, prev_m)
        q = out[..., :2]                                              # (B, n, 2)
        q_who = q[rows, who]                                          # (B, 2)
        greedy_tell = q_who[:, 1] > q_who[:, 0]
        tell = torch.where(u[:, t, 0] < c.eps, u[:, t, 1] < 0.5, greedy_tell)  # (B,)
        a = in_room & tell[:, None]                                   # (B, n) only the visitor can Tell
        q_taken.append(q.gather(-1, a.long()[..., None]).squeeze(-1))
        qt = out_tgt[..., :2]
        # max over *valid* actions: the visitor has {None, Tell}, everyone else only None.
        qt_max = torch.where(in_room, qt.max(-1).values, qt[..., 0])
        r = step_reward(win[:, t], tell, alive)
        total_reward += r
        rewards.append(r)
        alive_t.append(alive)
        terminal.append(tell | (t == T - 1))
        alive = alive & ~tell
        prev_a = a.long() + 1

        if c.method == "dial":
            qm_next.append(None)
            q_next.append(qt_max)
            if t < T - 1:
                nxt = room[:, t + 1].float()
                m_sent = out[rows, who, 2]                             # (B,) differentiable
                msg = nxt * dru(m_sent, c.sigma, True, noise=noise[:, t, 0])[:, None]
                with torch.no_grad():
                    msg_tgt = nxt * dru(out_tgt[rows, who, 2], c.sigma, True, noise=noise[:, t, 1])[:, None]
        elif c.method == "rial":
            qm = out[rows, who, 2:]                                    # (B, 2)
            bit = torch.where(u[:, t, 2] < c.eps, u[:, t, 3] < 0.5, qm[:, 1] > qm[:, 0])
            qm_taken.append(qm.gather(1, bit.long()[:, None]).squeeze(1))
            qmt = out_tgt[..., 2:]
            qmt_max = torch.where(in_room, qmt.max(-1).values, qt.max(-1).values)
            avg = 0.5 * (qt_max + qmt_max)                             # (B, n) the reference's model_avg_q
            q_next.append(avg)
            if t < T - 1:
                msg = room[:, t + 1].float() * bit.float()[:, None]
                msg_tgt = msg
            prev_m = in_room.long() * (1 + bit.long())[:, None]
        else:
            q_next.append(qt_max)

    Q = torch.stack(q_taken, 1)                                       # (B, T, n)
    R = torch.stack(rewards, 1)[..., None]                            # (B, T, 1)
    mask = torch.stack(alive_t, 1)[..., None].float()
    term = torch.stack(terminal, 1)[..., None].float()
    Qn = torch.stack(q_next, 1)
    Qn = torch.cat([Qn[:, 1:], torch.zeros_like(Qn[:, :1])], 1)      # value of day t+1
    y = R + c.gamma * (1 - term) * Qn
    loss = ((y - Q) ** 2 * mask).sum()
    if c.method == "rial":
        QM = torch.stack(qm_taken, 1)                                 # (B, T) visitor's message Q
        yn = Qn.gather(2, active[..., None]).squeeze(-1)              # the sender's own next value
        ym = R[..., 0] + c.gamma * (1 - term[..., 0]) * yn
        loss = loss + ((ym - QM) ** 2 * mask[..., 0]).sum()
    loss = loss / (B * n)
    oracle = oracle_reward(active, n).sum()
    norm = (total_reward.sum() / oracle).item() if oracle > 0 else float("nan")
    return loss, norm


@torch.no_grad()
def evaluate(team: Team, config: DialConfig, active: torch.Tensor) -> dict:
    """Greedy execution-mode play of the episodes ``active: (B, T)``.

    DRU discretised ``1{m > 0}``, no exploration, BatchNorm on the batch statistics of each day
    (running statistics left untouched); use a large batch (>= a few hundred episodes) so these
    are population statistics. Returns per-day
    tensors ``(B, T)``: ``m`` (visitor's pre-DRU message, or its RIAL bit as +-1), ``bit_in``
    (bit the visitor received), ``tell`` (visitor's greedy decision), ``alive`` (episode still
    running at the start of the day), plus ``reward (B,)``, ``oracle (B,)`` and
    ``normalized`` (sum reward / sum oracle).
    """
    c = config
    device = active.device
    B, T = active.shape
    n = c.n_agents
    was_training = team.training
    team.train()
    bns = [m for m in team.modules() if isinstance(m, nn.BatchNorm1d)]
    momenta = [m.momentum for m in bns]
    for m in bns:
        m.momentum = 0.0  # normalise with batch statistics but leave the running averages as they are
    room = nn.functional.one_hot(active, n)
    win = all_visited(active, n)
    h = team.initial_hidden(B, device)
    prev_a = torch.zeros(B, n, dtype=torch.long, device=device)
    prev_m = torch.zeros(B, n, dtype=torch.long, device=device) if c.method == "rial" else None
    msg = torch.zeros(B, n, device=device)
    alive = torch.ones(B, dtype=torch.bool, device=device)
    rows = torch.arange(B, device=device)
    reward = torch.zeros(B, device=device)
    ms, bits, tells, alives = [], [], [], []
    for t in range(T):
        obs = room[:, t]
        who = active[:, t]
        out, h = team(obs, prev_a, msg, h, prev_m)
        q = out[rows, who, :2]
        tell = q[:, 1] > q[:, 0]
        bits.append(msg[rows, who])
        reward += step_reward(win[:, t], tell, alive)
        tells.append(tell)
        alives.append(alive)
        alive = alive & ~tell
        prev_a = obs * tell[:, None].long() + 1
        if c.method == "dial":
            m = out[rows, who, 2]
            sent = dru(m, c.sigma, False)
        elif c.method == "rial":
            bit = out[rows, who, 3] > out[rows, who, 2]
            m = bit.float() * 2 - 1
            sent = bit.float()
            prev_m = obs * (1 + bit.long())[:, None]
        else:
            m = torch.zeros(B, device=device)
            sent = m
        ms.append(m)
        if t < T - 1:
            msg = room[:, t + 1].float() * sent[:, None]
    for m, mom in zip(bns, momenta):
        m.momentum = mom
    team.train(was_training)
    oracle = oracle_reward(active, n)
    norm = (reward.sum() / oracle.sum()).item() if oracle.sum() > 0 else float("nan")
    return {"m": torch.stack(ms, 1), "bit_in": torch.stack(bits, 1), "tell": torch.stack(tells, 1),
            "alive": torch.stack(alives, 1), "reward": reward, "oracle": oracle, "normalized": norm}


def make_team(config: DialConfig, seed: int, device) -> Team:
    """A freshly initialised team; the initialisation depends only on ``seed``."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        team = Team(config)
    return team.to(device)


def train(config: DialConfig, seed: int, device=None, callback: Callable | None = None) -> DialResult:
    """Train one run. ``callback(result_so_far, fraction_done)`` is called after every test.

    Wall time counts from the start of this call (network creation included) for this one seed
    trained alone.
    """
    config.validate()
    t0 = time.perf_counter()
    # Saturating messages (|m| large under the DRU's noise) make sigmoid gradients and RMSprop
    # statistics underflow into denormal floats, which the CPU processes ~100x slower; treating
    # values below 1e-38 as zero changes nothing measurable and doubles the speed. (Per thread.)
    torch.set_flush_denormal(True)
    dev = resolve_device(device)
    c = config
    gen = torch.Generator(device=dev).manual_seed(seed)
    test_gen = torch.Generator(device=dev).manual_seed(seed + 7_919_000)
    team = make_team(c, seed, dev)
    target = copy.deepcopy(team)
    for p in target.parameters():
        p.requires_grad_(False)
    opt = torch.optim.RMSprop(team.parameters(), lr=c.lr, momentum=c.momentum)
    edges = torch.linspace(-c.message_range, c.message_range, c.message_bins + 1)
    result = DialResult(config=asdict(c), seed=seed, message_edges=edges.tolist(), device=str(dev))

    def run_test(batch: int) -> float:
        active = sample_active(c.n_agents, c.test_episodes, test_gen, dev)
        ev = evaluate(team, c, active)
        result.epochs.append(batch)
        result.test_normalized_reward.append(ev["normalized"])
        m = ev["m"][ev["alive"]].float().cpu().clamp(-c.message_range, c.message_range * 0.9999)
        hist = torch.histc(m, bins=c.message_bins, min=-c.message_range, max=c.message_range)
        result.message_hist.append((hist / max(1, m.numel())).tolist())
        result.wall_time_s.append(time.perf_counter() - t0)
        result.batches_trained = batch
        if callback is not None:
            callback(result, batch / c.n_batches)
        return ev["normalized"]

    run_test(0)
    for batch in range(1, c.n_batches + 1):
        loss, _ = _rollout_train(team, target, c, gen, dev)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        for net in team.nets:
            nn.utils.clip_grad_norm_(net.parameters(), c.grad_clip)
        opt.step()
        if batch % c.target_update == 0:
            target.load_state_dict(team.state_dict())
        if batch % c.test_every == 0 or batch == c.n_batches:
            score = run_test(batch)
            if c.stop_at is not None and score >= c.stop_at:
                break
    result.policy = team
    return result


def run_key(config: DialConfig) -> str:
    """A short, stable name of the settings that define a learning curve."""
    c = config
    return (f"n{c.n_agents}-{c.method}-{'shared' if c.param_sharing else 'separate'}-{c.input_mode}"
            f"-sigma{c.sigma:g}-b{c.n_batches}-bs{c.batch_size}-t{c.test_every}x{c.test_episodes}")


def summarize_seeds(curves: list[list[float]]) -> dict:
    """Mean and band over seeds of aligned curves ``(S, K)`` (shorter ones are cut to the shortest).

    Returns ``{"mean", "lo", "hi", "std"}`` lists of length K: ``lo``/``hi`` = mean -+ one standard
    deviation (population, 0 for one seed).
    """
    if not curves:
        raise ValueError("No curves to summarise.")
    k = min(len(c) for c in curves)
    x = torch.tensor([c[:k] for c in curves], dtype=torch.float64)
    mean = x.mean(0)
    std = x.std(0, unbiased=False)
    return {"mean": mean.tolist(), "std": std.tolist(), "lo": (mean - std).tolist(), "hi": (mean + std).tolist()}


def train_seeds(config: DialConfig, seeds: list[int], device=None, callback: Callable | None = None) -> list[DialResult]:
    """Train ``config`` for each seed in turn; ``callback(results_so_far, fraction)`` streams all of them."""
    config.validate()
    if not seeds:
        raise ValueError("Choose at least one seed.")
    done: list[DialResult] = []
    for i, s in enumerate(seeds):
        def cb(res, frac, i=i):
            if callback is not None:
                callback(done + [res], (i + frac) / len(seeds))
        done.append(train(config, s, device, cb))
    return done
