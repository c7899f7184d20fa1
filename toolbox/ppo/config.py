"""``PPOConfig``: CleanRL ``ppo.py``'s arguments (same names and defaults) plus one field per detail
toggle.

Validation (``PPOConfig.validate``) raises ``ValueError`` with a sentence a student understands.
The server's caps on a request are not the algorithm's business: :mod:`toolbox.serving.caps`.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace


@dataclass(frozen=True)
class PPOConfig:
    """One PPO variant on CartPole-v1. Defaults are CleanRL ``ppo.py``'s (all core details on)."""

    total_timesteps: int = 500_000
    """total environment steps of one run (all its environments together)"""
    learning_rate: float = 2.5e-4
    """Adam's learning rate α"""
    num_envs: int = 4
    """number of parallel environments per run (detail 1: vectorized environments)"""
    num_steps: int = 128
    """steps per environment in one rollout; the batch has num_envs·num_steps transitions"""
    anneal_lr: bool = True
    """detail 4: decay α linearly to 0, α_k = (1 − (k−1)/K) α at iteration k of K"""
    gamma: float = 0.99
    """discount factor γ"""
    gae_lambda: float = 0.95
    """λ of generalized advantage estimation"""
    num_minibatches: int = 4
    """detail 6: the batch is shuffled and split into this many minibatches each epoch (1 = full
    batch)"""
    update_epochs: int = 4
    """K epochs of optimization over each batch"""
    norm_adv: bool = True
    """detail 7: normalize advantages per minibatch, Â = (A − mean A)/(std A + 1e-8)"""
    clip_coef: float = 0.2
    """ε of the clipped surrogate objective (and of value clipping)"""
    clip_vloss: bool = True
    """detail 9: clip the value loss, max((V − R)², (V_old + clip(V − V_old, −ε, ε) − R)²)"""
    ent_coef: float = 0.01
    """detail 10: c₂, weight of the entropy bonus in the loss (0 turns the bonus off)"""
    vf_coef: float = 0.5
    """c₁, weight of the value loss"""
    max_grad_norm: float = 0.5
    """detail 11: the global gradient norm is clipped to this value (per run)"""
    target_kl: float | None = None
    """early stopping: stop the epochs of an update once approx KL exceeds this (None = never)"""

    # --- toggles that CleanRL hard-codes ---
    orthogonal_init: bool = True
    """detail 2: orthogonal weights (gain √2 hidden, 0.01 policy head, 1 value head) and zero
    biases; off = PyTorch's default nn.Linear init (uniform ±1/√fan_in)"""
    adam_eps: float = 1e-5
    """detail 3: Adam's ε (CleanRL 1e-5; PyTorch's default is 1e-8)"""
    gae: bool = True
    """detail 5: GAE(λ) advantages; off = Monte-Carlo returns bootstrapped at the rollout end
    (λ = 1)"""
    clip_surrogate: bool = True
    """detail 8: the clipped surrogate max(−Â r, −Â clip(r, 1−ε, 1+ε)); off = plain −Â r"""
    clip_grad: bool = True
    """detail 11: clip the global gradient norm to max_grad_norm; off = no clipping"""
    shared_network: bool = False
    """detail 13: one 64-64 tanh trunk with a policy and a value head (True) or two separate
    networks (False)"""
    norm_obs: bool = False
    """observation normalization by running mean/std (per run), clipped to ±10"""
    norm_reward: bool = False
    """reward scaling: divide rewards by the running std of the discounted return (per run)"""
    bootstrap_truncation: bool = False
    """correct time limits: at a truncation (500 steps) bootstrap r + γ V(s_final) instead of
    treating it as termination (CleanRL treats it as termination)"""

    @property
    def batch_size(self) -> int:
        return self.num_envs * self.num_steps

    @property
    def minibatch_size(self) -> int:
        return self.batch_size // self.num_minibatches

    @property
    def num_iterations(self) -> int:
        return self.total_timesteps // self.batch_size

    def replace(self, **changes) -> "PPOConfig":
        return replace(self, **changes)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "PPOConfig":
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})

    def validate(self) -> "PPOConfig":
        """Raise ``ValueError`` with a readable message if the settings cannot be trained."""
        for name in ("total_timesteps", "num_envs", "num_steps", "num_minibatches",
                     "update_epochs"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be a positive whole number; got {v!r}.")
        for name in ("learning_rate", "clip_coef", "ent_coef", "vf_coef", "max_grad_norm",
                     "adam_eps"):
            v = getattr(self, name)
            if not isinstance(v, (int, float)) or isinstance(v,
                                                             bool) or not math.isfinite(v) or v < 0:
                raise ValueError(f"{name} must be a finite number ≥ 0; got {v!r}.")
        if self.adam_eps <= 0:
            raise ValueError(
                "adam_eps must be positive (it keeps Adam's "
                f"division away from zero); got {self.adam_eps!r}.")
        if self.learning_rate <= 0:
            raise ValueError(f"learning_rate must be positive; got {self.learning_rate!r}.")
        if not 0 <= self.gamma < 1 or not 0 <= self.gae_lambda <= 1:
            raise ValueError(
                "gamma must be in [0, 1) and gae_lambda in "
                f"[0, 1]; got {self.gamma!r}, {self.gae_lambda!r}.")
        if self.target_kl is not None and not (isinstance(self.target_kl,
                                                          (int, float)) and self.target_kl > 0):
            raise ValueError(
                f"target_kl must be a positive number or None; got {self.target_kl!r}.")
        if self.batch_size % self.num_minibatches:
            raise ValueError(
                f"num_minibatches = {self.num_minibatches} does not divide the batch of "
                f"num_envs × num_steps = {self.batch_size} "
                f"transitions; pick a divisor of {self.batch_size}."
            )
        if self.minibatch_size < 2 and self.norm_adv:
            raise ValueError("each minibatch needs at least 2 transitions to normalize advantages.")
        if self.num_iterations < 1:
            raise ValueError(
                f"total_timesteps = {self.total_timesteps} is less than one batch "
                f"({self.batch_size} steps); raise the budget or shrink num_envs × num_steps."
            )
        return self
