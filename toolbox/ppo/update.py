"""The update half of a PPO :class:`~toolbox.ppo.group.Group`: CleanRL's loss and its gradient, written out,
per-run gradient clipping and Adam, and the epochs of minibatch steps of one iteration.

The loss is ``L = L^{clip} − c₂ H + c₁ L^{V}`` with
``L^{clip} = mean max(−Â r, −Â clip(r, 1 − ε, 1 + ε))``, ``r = exp(log π − log π_old)``,
``L^{V} = ½ mean max((V − R)², (V_old + clip(V − V_old, −ε, ε) − R)²)``; its gradient is derived by
hand (see :mod:`toolbox.ppo.agent`) because on a small CPU autograd's bookkeeping costs more than the
arithmetic. ``tests/test_ppo.py`` checks it against autograd, and ``tests/test_ppo_reference.py``
checks a whole iteration against the readable :mod:`toolbox.ppo.reference`.
"""

from __future__ import annotations

import torch

from toolbox.running_stats import normalize_advantages
from toolbox.ppo import agent as A
from toolbox import rng
from toolbox.ppo.result import DEBUG_KEYS

ADAM_BETAS = (0.9, 0.999)


class GroupUpdate:
    """Mixed into :class:`~toolbox.ppo.group.Group`; uses its state (``theta``, ``grad``, Adam moments,
    per-run coefficient columns, rollout buffers)."""

    def adam_classes(self, lr_host: list[float], active: list[bool] | None = None) -> list[tuple[float, float, list[int], list[int]]]:
        """The runs grouped for :meth:`adam_step`: ``(lr, eps, runs, rows)`` per distinct (learning rate, Adam ε).

        ``lr_host``: each run's learning rate this iteration; ``active``: the runs still updating (all by default);
        ``rows``: the runs' tower rows of ``theta``.
        """
        R, K = self.R, self.K
        by: dict[tuple[float, float], tuple[list[int], list[int]]] = {}
        for r in range(R):
            if active is None or active[r]:
                runs, rows = by.setdefault((lr_host[r], self.eps_host[r]), ([], []))
                runs.append(r)
                rows.extend(r + j * R for j in range(K))
        return [(lr_, eps_, runs, rows) for (lr_, eps_), (runs, rows) in by.items()]

    def adam_step(self, classes: list[tuple[float, float, list[int], list[int]]]) -> None:
        """Adam (PyTorch's fused kernel, the same formula as ``torch.optim.Adam``) on the rows of ``theta``.

        ``classes``: ``(lr, eps, runs, rows)`` — the kernel takes one learning rate and ε per call,
        so runs are grouped by them (annealed or not, Adam ε toggled); ``rows`` are the runs' tower rows.
        """
        b1, b2 = ADAM_BETAS
        for lr, eps, runs, rows in classes:
            torch._foreach_add_([self.steps[r] for r in runs], 1.0)
            torch._fused_adam_(
                [self.theta_rows[i] for i in rows],
                [self.grad_rows[i] for i in rows],
                [self.m_rows[i] for i in rows],
                [self.v_rows[i] for i in rows],
                [],
                [self.steps[i % self.R] for i in rows],
                lr=lr, beta1=b1, beta2=b2, weight_decay=0.0, eps=eps, amsgrad=False, maximize=False,
            )

    def minibatch_step(self, mb: torch.Tensor, classes, all_stats: bool = True) -> dict:
        """One gradient step on minibatch ``mb (R, M, 9)`` = [obs(4), action, logprob, adv, return, value].

        ``all_stats=False``: only ``clipfrac`` and ``grad_norm`` (the logged losses and KLs are the
        epoch's last minibatch's, so the others are computed there only)."""
        stats = self.loss_and_grad(mb, all_stats)
        stats["grad_norm"] = self.clip_grad()
        self.adam_step(classes)
        return stats

    def loss_and_grad(self, mb: torch.Tensor, all_stats: bool = True) -> dict:
        """CleanRL's loss on minibatch ``mb (R, M, 9)``; writes its gradient into ``self.grad (K·R, P)``.

        Returns per-run ``(R,)`` statistics: policy_loss, value_loss, entropy, old_approx_kl,
        approx_kl, clipfrac (only clipfrac when ``all_stats`` is False: the gradient needs none).
        """
        M, K = mb.shape[1], self.K
        obs = mb[..., :4].contiguous()
        a, old_logp, adv, ret, old_v = mb[..., 4], mb[..., 5], mb[..., 6], mb[..., 7], mb[..., 8]
        fw = A.forward(self.theta, obs, K, self.theta_v)
        logits, v = fw.out[..., : A.NUM_ACTIONS], fw.out[..., A.NUM_ACTIONS]
        logp = torch.log_softmax(logits, dim=-1)
        p = logp.exp()
        lp0, lp1 = logp[..., 0], logp[..., 1]
        new_logp = torch.lerp(lp0, lp1, a)
        entropy = -(p * logp).sum(-1)
        logratio = new_logp - old_logp
        ratio = logratio.exp()
        c = self.clip_coef
        clipfrac = ((ratio - 1.0).abs() > c).to(torch.float32).mean(1)
        if self.any_norm_adv:
            # validate=False: no host sync per minibatch on a GPU (the rollout made these values)
            normalized = normalize_advantages(adv, 1e-8, dim=-1, validate=False)
            adv = torch.where(self.norm_adv, normalized, adv)
        pg1 = -adv * ratio
        pg2 = -adv * torch.clamp(ratio, 1.0 - c, 1.0 + c)
        # d max(pg1, pg2)/d ratio: −Â where the unclipped term is the max (ties inside the range included)
        g_ratio = torch.where(self.clip_surrogate, -adv * (pg1 >= pg2), -adv)
        diff = v - ret
        u = diff * diff
        dv_raw = v - old_v
        v_clipped = old_v + torch.clamp(dv_raw, -c, c)
        diff_c = v_clipped - ret
        uc = diff_c * diff_c
        # autograd of max splits ties in half; the clipped branch passes gradient only inside the clip range
        tie = 0.5 * (u == uc)
        w_u = torch.where(self.clip_vloss, (u > uc) + tie, 1.0)
        inside = (dv_raw >= -c) & (dv_raw <= c)
        w_c = torch.where(self.clip_vloss, ((uc > u) + tie) * inside, 0.0)

        inv_m = 1.0 / M
        d_logp = (g_ratio * ratio) * inv_m  # d L / d log π(a|s)
        onehot = torch.stack((1.0 - a, a), dim=-1)
        # d log π_a / d logits = onehot − p ; d H / d logits = −p (log p + H)
        d_logits = d_logp.unsqueeze(-1) * (onehot - p) + (self.ent_coef * inv_m).unsqueeze(-1) * (
            p * (logp + entropy.unsqueeze(-1))
        )
        d_v = (self.vf_coef * inv_m) * (w_u * diff + w_c * diff_c)
        dout = torch.cat((d_logits, d_v.unsqueeze(-1)), dim=-1)
        A.backward(self.theta, fw, dout, self.mask, self.grad, self.theta_v, self.grad_v)
        if not all_stats:
            return dict(clipfrac=clipfrac)
        pg = torch.where(self.clip_surrogate, torch.maximum(pg1, pg2), pg1)
        vl = torch.where(self.clip_vloss, torch.maximum(u, uc), u)
        return dict(
            policy_loss=pg.mean(1), value_loss=0.5 * vl.mean(1), entropy=entropy.mean(1),
            old_approx_kl=(-logratio).mean(1), approx_kl=((ratio - 1.0) - logratio).mean(1), clipfrac=clipfrac,
        )

    def clip_grad(self) -> torch.Tensor:
        """Global gradient-norm clipping per run, as ``torch.nn.utils.clip_grad_norm_``; returns the norms ``(R,)``.

        ``g ← g · min(1, max_grad_norm / (‖g‖ + 1e-6))`` with ``‖g‖`` over all of the run's parameters.
        """
        K, R = self.K, self.R
        norms = torch.linalg.vector_norm(self.grad, dim=1).view(K, R)
        total = torch.linalg.vector_norm(norms, dim=0)
        coef = torch.clamp(self.max_grad_norm / (total + 1e-6), max=1.0)
        self.grad.view(K, R, -1).mul_(coef.view(1, R, 1))  # rows are tower-major: broadcast, no repeat
        return total

    def update(self) -> None:
        R, B, M = self.R, self.B, self.M
        k = self.iteration  # 1-based
        frac = 1.0 - (k - 1.0) / self.num_iterations
        lr_host = [lr0 * frac if an else lr0 for lr0, an in zip(self.lr0_host, self.anneal_host)]
        lr = torch.tensor(lr_host, device=self.device)
        perm_src = lambda x: x.permute(1, 0, 2).reshape(R, B)  # noqa: E731 - (T, R, E) -> (R, T·E), CleanRL's order
        data = torch.cat(
            (
                self.obs_buf.permute(1, 0, 2, 3).reshape(R, B, 4),
                torch.stack([perm_src(x) for x in (self.actions, self.logprobs, self.advantages, self.returns, self.values)], -1),
            ),
            dim=-1,
        )
        active = [True] * R
        active_t = torch.ones(R, device=self.device)
        last: dict[str, torch.Tensor] = {}
        clip_sum = torch.zeros(R, device=self.device)
        n_mb = torch.zeros(R, device=self.device)
        epochs_run = torch.zeros(R, device=self.device)
        for epoch in range(self.update_epochs):
            if not any(active):
                break
            classes = self.adam_classes(lr_host, active)
            keys = rng.uniform(self.perm_keys, (k - 1) * self.update_epochs + epoch, B)
            perm = torch.argsort(keys, dim=1, stable=True)
            all_active = all(active)
            for start in range(0, B, M):
                idx = perm[:, start : start + M]
                mb = torch.gather(data, 1, idx.unsqueeze(-1).expand(R, M, data.shape[-1]))
                stats = self.minibatch_step(mb, classes, all_stats=start + M >= B)
                for key, val in stats.items():
                    last[key] = val if (key not in last or all_active) else torch.where(active_t > 0, val, last[key])
                clip_sum += stats["clipfrac"] * active_t
                n_mb += active_t
            epochs_run += active_t
            if self.has_target_kl:
                # CleanRL checks the last minibatch's approx KL after each epoch
                stop = (last["approx_kl"] > self.target_kl).tolist()
                active = [a and not s_ for a, s_ in zip(active, stop)]
                active_t = torch.tensor(active, dtype=torch.float32, device=self.device)
        y_pred, y_true = self.values.permute(1, 0, 2).reshape(R, B), self.returns.permute(1, 0, 2).reshape(R, B)
        var_y = y_true.var(dim=1, correction=0)
        ev = 1.0 - (y_true - y_pred).var(dim=1, correction=0) / var_y
        ev = torch.where(var_y == 0, torch.nan, ev)
        dbg = dict(last)
        dbg["clipfrac"] = clip_sum / n_mb.clamp(min=1)
        dbg["explained_variance"] = ev
        dbg["learning_rate"] = lr
        dbg["epochs_run"] = epochs_run
        for key in DEBUG_KEYS:
            self.debug[key].append(dbg[key].detach())

