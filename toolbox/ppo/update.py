"""The update half of a PPO :class:`~toolbox.ppo.group.Group`: the reference's loss batched over
runs,
its gradient by autograd, per-run gradient clipping, ``torch.optim.Adam``, and the epochs of
minibatch
steps of one iteration.

The loss is :mod:`toolbox.ppo.loss`'s, the functions :mod:`toolbox.ppo.reference` calls for one run,
here on ``(R, M)`` minibatches with per-run coefficient columns ``(R, 1)``:
``L_r = L^{clip}_r − c₂ H_r + c₁ L^{V}_r``. Runs share no parameter, so the gradient of ``Σ_r L_r``
with respect to the stacked ``theta (K·R, P)`` is every run's own gradient in its own rows.
Adam is the public ``torch.optim.Adam`` over one parameter per (run, tower) row — tensors sharing
``theta``'s memory — in one parameter group per (learning rate, annealing, ε) class of runs, so
runs with different learning rates or ε step together yet each with its own.
``tests/test_ppo_reference.py`` checks whole iterations against the reference.
"""

from __future__ import annotations

import torch

from toolbox import rng
from toolbox.ppo import agent as A
from toolbox.ppo import loss as L
from toolbox.ppo.result import DEBUG_KEYS
from toolbox.running_stats import normalize_advantages

ADAM_BETAS = (0.9, 0.999)


class GroupUpdate:
    """Mixed into :class:`~toolbox.ppo.group.Group`; uses its state (``theta``, per-run coefficient
    columns, rollout buffers)."""

    def setup_optimizer(self) -> None:
        """``torch.optim.Adam`` over the rows of ``theta``: ``grad (K·R, P)`` holds the gradients,
        each
        row's ``.grad`` a view of it; one parameter group per class of runs whose learning rate is
        equal at every iteration (same initial rate, same annealing) and whose ε is equal."""
        R, K, dev = self.R, self.K, self.device
        self.grad = torch.zeros_like(self.theta)
        self.rows = list(self.theta.detach().unbind(0))  # leaves sharing theta's memory
        for row, g in zip(self.rows, self.grad.unbind(0)):
            row.grad = g
        classes: dict[tuple, list[int]] = {}
        for r, c in enumerate(self.configs):
            classes.setdefault((c.learning_rate, c.anneal_lr, c.adam_eps), []).append(r)
        self.lr_classes = list(classes)
        groups = [
            {
                "params": [self.rows[r + k * R] for r in runs for k in range(K)],
                "lr": lr0,
                "eps": eps,
            }
            for (lr0, _, eps), runs in classes.items()
        ]
        # fused: one kernel per group on the CPU and CUDA, and no read of the step count to the host
        fused = True if dev.type in ("cpu", "cuda") else None
        self.optimizer = torch.optim.Adam(groups, betas=ADAM_BETAS, fused=fused)

    def set_learning_rates(self, frac: float) -> None:
        """Each group's learning rate this iteration: ``frac · lr₀`` where annealed, else
        ``lr₀``."""
        for group, (lr0, anneal, _) in zip(self.optimizer.param_groups, self.lr_classes):
            group["lr"] = lr0 * frac if anneal else lr0

    def set_active(self, active: list[bool]) -> None:
        """Runs that stopped early (target KL) keep no gradient, so Adam leaves their rows alone."""
        for r, on in enumerate(active):
            for k in range(self.K):
                i = r + k * self.R
                self.rows[i].grad = self.grad[i] if on else None

    def loss(self, mb: torch.Tensor, theta: torch.Tensor, all_stats: bool = True):
        """The reference's loss of every run ``(R,)`` on minibatch ``mb (R, M, 9)`` = [obs(4),
        action,
        log-prob, advantage, return, value], differentiable in ``theta``; and per-run ``(R,)`` stats
        (only ``clipfrac`` when ``all_stats`` is False)."""
        obs = mb[..., :4]
        a, old_logp, adv, ret, old_v = mb[..., 4], mb[..., 5], mb[..., 6], mb[..., 7], mb[..., 8]
        out = A.forward(theta, obs, self.K)
        logp = torch.log_softmax(out[..., : A.NUM_ACTIONS], dim=-1)
        newlogprob = torch.lerp(logp[..., 0], logp[..., 1], a)  # log π(a|s), a ∈ {0, 1}
        entropy = -(logp.exp() * logp).sum(-1)
        logratio = newlogprob - old_logp
        ratio = logratio.exp()
        c = self.clip_coef
        old_approx_kl, approx_kl, clipfrac = L.kl_and_clipfrac(logratio, ratio, c)
        if self.any_norm_adv:
            # validate=False: no host sync per minibatch on a GPU (the rollout made these values)
            adv = torch.where(
                self.norm_adv, normalize_advantages(adv, 1e-8, dim=-1, validate=False), adv
            )
        pg_loss = L.pg_loss(ratio, adv, c, self.clip_surrogate)
        v_loss = L.v_loss(out[..., A.NUM_ACTIONS], old_v, ret, c, self.clip_vloss)
        entropy_loss = entropy.mean(-1)
        loss = L.total_loss(pg_loss, v_loss, entropy_loss, self.ent_coef[:, 0], self.vf_coef[:, 0])
        if not all_stats:
            return loss, {"clipfrac": clipfrac}
        return loss, {
            "policy_loss": pg_loss.detach(),
            "value_loss": v_loss.detach(),
            "entropy": entropy_loss.detach(),
            "old_approx_kl": old_approx_kl,
            "approx_kl": approx_kl,
            "clipfrac": clipfrac,
        }

    def loss_and_grad(self, mb: torch.Tensor, all_stats: bool = True) -> dict:
        """:meth:`loss`, and its gradient into ``self.grad (K·R, P)`` (autograd of ``Σ_r L_r``)."""
        theta = self.theta.detach().requires_grad_(True)
        loss, stats = self.loss(mb, theta, all_stats)
        (g,) = torch.autograd.grad(loss.sum(), theta)
        self.grad.copy_(g)
        return stats

    def clip_grad(self) -> torch.Tensor:
        """``torch.nn.utils.clip_grad_norm_`` per run, batched; returns the norms ``(R,)``.

        ``g ← g · min(1, max_grad_norm / (‖g‖ + 1e-6))`` with ``‖g‖`` over all of the run's
        parameters.
        """
        K, R = self.K, self.R
        norms = torch.linalg.vector_norm(self.grad, dim=1).view(K, R)
        total = torch.linalg.vector_norm(norms, dim=0)
        coef = torch.clamp(self.max_grad_norm / (total + 1e-6), max=1.0)
        self.grad.view(K, R, -1).mul_(
            coef.view(1, R, 1)
        )  # rows are tower-major: broadcast, no repeat
        return total

    def minibatch_step(self, mb: torch.Tensor, all_stats: bool = True) -> dict:
        """One gradient step on minibatch ``mb (R, M, 9)``: loss, gradient, clipping, Adam."""
        stats = self.loss_and_grad(mb, all_stats)
        stats["grad_norm"] = self.clip_grad()
        self.optimizer.step()
        return stats

    def update(self) -> None:
        R, B, M = self.R, self.B, self.M
        k = self.iteration  # 1-based
        frac = 1.0 - (k - 1.0) / self.num_iterations
        self.set_learning_rates(frac)
        lr_host = [lr0 * frac if an else lr0 for lr0, an in zip(self.lr0_host, self.anneal_host)]
        lr = torch.tensor(lr_host, device=self.device)

        def per_run(x):  # (T, R, E) -> (R, T·E), CleanRL's order
            return x.permute(1, 0, 2).reshape(R, B)

        cols = (self.actions, self.logprobs, self.advantages, self.returns, self.values)
        data = torch.cat(
            (
                self.obs_buf.permute(1, 0, 2, 3).reshape(R, B, 4),
                torch.stack([per_run(x) for x in cols], -1),
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
            keys = rng.uniform(self.perm_keys, (k - 1) * self.update_epochs + epoch, B)
            perm = torch.argsort(keys, dim=1, stable=True)
            all_active = all(active)
            for start in range(0, B, M):
                idx = perm[:, start : start + M]
                mb = torch.gather(data, 1, idx.unsqueeze(-1).expand(R, M, data.shape[-1]))
                stats = self.minibatch_step(mb, all_stats=start + M >= B)
                for key, val in stats.items():
                    keep = key not in last or all_active
                    last[key] = val if keep else torch.where(active_t > 0, val, last[key])
                clip_sum += stats["clipfrac"] * active_t
                n_mb += active_t
            epochs_run += active_t
            if self.has_target_kl:
                # CleanRL checks the last minibatch's approx KL after each epoch
                stop = (last["approx_kl"] > self.target_kl).tolist()
                active = [a and not s_ for a, s_ in zip(active, stop)]
                active_t = torch.tensor(active, dtype=torch.float32, device=self.device)
                self.set_active(active)
        if not all(active):
            self.set_active([True] * R)
        y_pred, y_true = per_run(self.values), per_run(self.returns)
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
