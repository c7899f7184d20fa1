"""Decode the protocol a trained team uses on the Switch Riddle.

All statistics are measured on greedy, execution-mode episodes (``toolbox.dial.evaluate.evaluate``)
and are indexed by the day ``t`` and by ``k``, the number of distinct agents that have been in the
room up to and including day t (k = n means a Tell would now win). Only days on which the episode is
still running count.
"""

from __future__ import annotations

import torch

from toolbox.device import resolve_device
from toolbox.dial.config import DialConfig
from toolbox.dial.evaluate import evaluate
from toolbox.dial.switch import distinct_visitors, oracle_reward, sample_active
from toolbox.dial.team import Team


def _rate(hit: torch.Tensor, index: torch.Tensor, weight: torch.Tensor, size: int) -> tuple[list,
                                                                                            list]:
    count = torch.bincount(index, weights=weight, minlength=size)
    hits = torch.bincount(index, weights=weight * hit, minlength=size)
    p = [None if c == 0 else float(h / c) for h, c in zip(hits.tolist(), count.tolist())]
    return p, [int(c) for c in count.tolist()]


def decode_protocol(team: Team, config: DialConfig, n_episodes: int = 2000, seed: int = 0,
                    device=None) -> dict:
    """P(message on) and P(Tell) of the agent in the room, by day and by distinct visitors.

    Returns plain lists (JSON-ready): ``p_on[t][k-1]``, ``p_tell[t][k-1]``, ``count[t][k-1]``
    (``None`` where no running episode had that (t, k)), the same marginalised over k
    (``p_on_by_day``, ``p_tell_by_day``) and over t (``p_on_by_k``, ``p_tell_by_k``), the Tell
    probability split by the received bit (``p_tell_by_k_light[bit][k-1]``), and the greedy
    policy's ``normalized`` reward on these episodes.
    """
    if n_episodes < 1:
        raise ValueError(f"Need at least one episode to decode a protocol; got {n_episodes}.")
    dev = resolve_device(device)
    c = config
    n, T = c.n_agents, c.T
    gen = torch.Generator(device=dev).manual_seed(seed)
    active = sample_active(n, n_episodes, gen, dev)
    ev = evaluate(team, c, active)
    k = distinct_visitors(active, n)                                   # (B, T) in 1..n
    day = torch.arange(T, device=dev).expand_as(k)
    w = ev["alive"].float().reshape(-1).cpu()
    on = (ev["m"] > 0).float().reshape(-1).cpu()
    tell = ev["tell"].float().reshape(-1).cpu()
    light = ev["bit_in"].round().long().clamp(0, 1).reshape(-1).cpu()
    k0 = (k - 1).reshape(-1).cpu()
    d = day.reshape(-1).cpu()
    cell = d * n + k0
    p_on, count = _rate(on, cell, w, T * n)
    p_tell, _ = _rate(tell, cell, w, T * n)
    grid = lambda v: [v[t * n:(t + 1) * n] for t in range(T)]  # noqa: E731
    p_on_day, _ = _rate(on, d, w, T)
    p_tell_day, _ = _rate(tell, d, w, T)
    p_on_k, _ = _rate(on, k0, w, n)
    p_tell_k, _ = _rate(tell, k0, w, n)
    p_tell_kl = [_rate(tell, k0, w * (light == b).float(), n)[0] for b in (0, 1)]
    return {
        "n_agents": n, "T": T, "n_episodes": n_episodes,
        "p_on": grid(p_on), "p_tell": grid(p_tell), "count": grid(count),
        "p_on_by_day": p_on_day, "p_tell_by_day": p_tell_day,
        "p_on_by_k": p_on_k, "p_tell_by_k": p_tell_k, "p_tell_by_k_light": p_tell_kl,
        "normalized": ev["normalized"],
    }


def replay_episode(team: Team, config: DialConfig, seed: int = 0, device=None,
                   batch: int = 1000) -> list[dict]:
    """One greedy execution-mode episode, day by day (until the Tell or day T).

    The episode is the first of ``batch`` played together, so that BatchNorm sees the same
    population statistics as at test time.

    Each day: ``day``, ``in_room`` (agent index), ``light`` (bit received), ``m`` (pre-DRU
    message sent, DIAL; +-1 for a RIAL bit), ``bit_sent``, ``action`` ("None"/"Tell"),
    ``visited`` (distinct agents so far), ``reward`` (of that day), ``oracle`` (the episode's
    oracle reward).
    """
    dev = resolve_device(device)
    c = config
    gen = torch.Generator(device=dev).manual_seed(seed)
    active = sample_active(c.n_agents, batch, gen, dev)
    ev = evaluate(team, c, active)
    k = distinct_visitors(active, c.n_agents)[0]
    oracle = float(oracle_reward(active, c.n_agents)[0])
    days = []
    for t in range(c.T):
        if not bool(ev["alive"][0, t]):
            break
        tell = bool(ev["tell"][0, t])
        m = float(ev["m"][0, t])
        reward = 0.0
        if tell:
            reward = 1.0 if int(k[t]) == c.n_agents else -1.0
        days.append({
            "day": t + 1, "in_room": int(active[0, t]),
            "light": int(round(float(ev["bit_in"][0, t]))), "m": m,
            "bit_sent": int(m > 0) if c.comm else 0, "action": "Tell" if tell else "None",
            "visited": int(k[t]), "reward": reward, "oracle": oracle,
        })
    return days
