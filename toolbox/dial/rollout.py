"""One training batch: B episodes with the behaviour policy, and their TD loss (Foerster et al.
2016).

Per day t, with a target network ``Q^-``:

* ``y_t = r_t + gamma * (1 - terminal_t) * max_{u valid} Q^-(tau_{t+1}, u)``;
* ``L = sum_{b, t <= end_b, a} (y_t - Q(tau_t^a, u_t^a))^2 / (B n)`` (as the reference);
* **DIAL**: the visitor's message passes the training DRU into the next visitor's C-Net without
  being detached, so ``L``'s gradient crosses the channel back into the sender;
* **RIAL**: the bit is a second, eps-greedy action learned by Q-learning (its target and the
  action target use the average of the action and message heads, the reference's
  ``model_avg_q``); no gradient crosses the channel.
"""

from __future__ import annotations

import torch

from toolbox.dial.config import DialConfig
from toolbox.dial.dru import dru
from toolbox.dial.episodes import Episodes
from toolbox.dial.switch import oracle_reward, sample_active
from toolbox.dial.team import Team


def rollout_loss(team: Team, target: Team, config: DialConfig, gen: torch.Generator,
                 device) -> tuple:
    """Play one batch of ``B = config.batch_size`` episodes with the behaviour policy; return its TD
    loss.

    Draws from ``gen`` (on ``device``), in this order: the visitors ``(B, T)``, the exploration
    uniforms ``(B, T, 4)`` and the DRU noise ``(B, T, 2)`` (team, target). Returns
    ``(loss, normalized_train_reward)``: a scalar tensor with a graph into ``team``, and a float.
    """
    c = config
    B, n, T = c.batch_size, c.n_agents, c.T
    active = sample_active(n, B, gen, device)                        # (B, T)
    # Random numbers for the whole episode in one draw each (exploration, DRU noise).
    u = torch.rand(B, T, 4, generator=gen, device=device)
    noise = torch.randn(B, T, 2, generator=gen, device=device)

    ep = Episodes(team, c, active)
    rows = ep.rows
    h_tgt = target.initial_hidden(B, device)
    msg_tgt = torch.zeros(B, n, device=device)
    q_taken, q_next, alive_t, rewards, terminal, qm_taken = [], [], [], [], [], []
    for t in range(T):
        # The target network reads the same day (its own hidden state and, for DIAL, its own light).
        with torch.no_grad():
            out_tgt, h_tgt = target(ep.room[:, t], ep.prev_a, msg_tgt, h_tgt, ep.prev_m)
        d = ep.day(t, explore=u[:, t], noise=noise[:, t, 0])
        # (B, n) only the visitor can Tell
        a = d.in_room & d.tell[:, None]
        q_taken.append(d.out[..., :2].gather(-1, a.long()[..., None]).squeeze(-1))
        qt = out_tgt[..., :2]
        # max over *valid* actions: the visitor has {None, Tell}, everyone else only None.
        qt_max = torch.where(d.in_room, qt.max(-1).values, qt[..., 0])
        rewards.append(d.reward)
        alive_t.append(d.alive)
        terminal.append(d.tell | (t == T - 1))
        if c.method == "dial":
            q_next.append(qt_max)
            if t < T - 1:
                nxt = ep.room[:, t + 1].float()
                msg_tgt = (
                    nxt * dru(out_tgt[rows, d.who, 2], c.sigma, True, noise=noise[:, t, 1])[:, None]
                )
        elif c.method == "rial":
            qm = d.out[rows, d.who, 2:]                                # (B, 2)
            qm_taken.append(qm.gather(1, d.bit.long()[:, None]).squeeze(1))
            qmt = out_tgt[..., 2:]
            qmt_max = torch.where(d.in_room, qmt.max(-1).values, qt.max(-1).values)
            # (B, n) the reference's model_avg_q
            q_next.append(0.5 * (qt_max + qmt_max))
            msg_tgt = ep.msg
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
    norm = (ep.reward.sum() / oracle).item() if oracle > 0 else float("nan")
    return loss, norm
