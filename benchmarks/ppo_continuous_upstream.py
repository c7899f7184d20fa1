"""The toolbox's continuous PPO settings in each upstream's terms, for
``benchmarks/ppo_continuous_side_by_side.py``: CleanRL ``ppo_continuous_action.py``'s command-line
flags, PureJaxRL ``ppo_continuous_action.py``'s config dict, and what neither can be told."""

from __future__ import annotations

ENV_ID = "Pendulum-v1"


def cleanrl_argv(a, seed: int) -> list[str]:
    """CleanRL ``ppo_continuous_action.py``'s tyro flags for :class:`Args` ``a`` and ``seed``."""
    def flag(name: str, on: bool) -> str:
        return f"--{name}" if on else f"--no-{name}"

    argv = ["--env-id", ENV_ID, "--seed", str(seed),
            "--total-timesteps", str(a.total_timesteps), "--learning-rate", repr(a.learning_rate),
            "--num-envs", str(a.num_envs), "--num-steps", str(a.num_steps),
            flag("anneal-lr", a.anneal_lr), "--gamma", repr(a.gamma),
            "--gae-lambda", repr(a.gae_lambda), "--num-minibatches", str(a.num_minibatches),
            "--update-epochs", str(a.update_epochs), flag("norm-adv", a.norm_adv),
            "--clip-coef", repr(a.clip_coef), flag("clip-vloss", a.clip_vloss),
            "--ent-coef", repr(a.ent_coef), "--vf-coef", repr(a.vf_coef),
            "--max-grad-norm", repr(a.max_grad_norm)]
    if a.target_kl is not None:
        argv += ["--target-kl", repr(a.target_kl)]
    return argv + ["--no-cuda", "--no-track", "--no-capture-video", "--no-save-model",
                   "--no-upload-model"]


def purejaxrl_config(a) -> dict:
    """PureJaxRL ``make_train``'s config for :class:`Args` ``a`` (gymnax's Pendulum-v1)."""
    return {"ENV_NAME": ENV_ID, "NUM_ENVS": a.num_envs, "NUM_STEPS": a.num_steps,
            "TOTAL_TIMESTEPS": a.total_timesteps, "LR": a.learning_rate, "GAMMA": a.gamma,
            "GAE_LAMBDA": a.gae_lambda, "NUM_MINIBATCHES": a.num_minibatches,
            "UPDATE_EPOCHS": a.update_epochs, "CLIP_EPS": a.clip_coef, "ENT_COEF": a.ent_coef,
            "VF_COEF": a.vf_coef, "MAX_GRAD_NORM": a.max_grad_norm, "ACTIVATION": "tanh",
            "ANNEAL_LR": a.anneal_lr, "NORMALIZE_ENV": a.norm_obs and a.norm_reward,
            "DEBUG": False}


# fields each upstream fixes in its code: (field, upstream's fixed value)
_CLEANRL_FIXED = {"orthogonal_init": True, "adam_eps": 1e-5, "gae": True, "clip_surrogate": True,
                  "clip_grad": True, "gaussian_policy": True, "state_independent_std": True,
                  "independent_actions": True, "shared_network": False, "clip_action": True,
                  "norm_obs": True, "clip_obs": True, "norm_reward": True, "clip_reward": True,
                  "obs_clip": 10.0, "reward_clip": 10.0}
_PUREJAXRL_FIXED = dict(_CLEANRL_FIXED, norm_adv=True, clip_vloss=True, target_kl=None)


def upstream_gaps(a) -> list[str]:
    """What each upstream script cannot be told for :class:`Args` ``a``, and how it differs from
    the toolbox anyway. Raises ``ValueError`` when ``a`` departs from a value an upstream fixes
    (the comparison would not be of the same algorithm)."""
    for who, fixed in (("CleanRL", _CLEANRL_FIXED), ("PureJaxRL", _PUREJAXRL_FIXED)):
        for name, value in fixed.items():
            if getattr(a, name) != value and not (who == "PureJaxRL" and name in
                                                   ("clip_obs", "clip_reward", "obs_clip",
                                                    "reward_clip")):
                raise ValueError(f"{who} fixes {name} = {value!r}; these Args have "
                                 f"{getattr(a, name)!r}.")
    return [
        "CleanRL: every hyper-parameter above is a flag; fixed in its code and equal to ours: "
        "64x64 tanh actor and critic (separate), state-independent log std, orthogonal init, "
        "Adam eps 1e-5, gymnasium wrappers ClipAction, NormalizeObservation (per env), obs clip "
        "10, NormalizeReward (per env), reward clip 10.",
        "PureJaxRL: network width is written in as 256 (run here at 64 unless "
        "--purejaxrl-width 256); NormalizeVecObservation/NormalizeVecReward keep one set of "
        "statistics over all envs (ours and CleanRL's: per env) and clip neither observations "
        "nor rewards (ours and CleanRL's: +-10); advantage normalization and value clipping "
        "always on; no target KL; its ClipAction's [-1, 1] (brax) is rebound to Pendulum's "
        "[-2, 2]; the env is gymnax's Pendulum-v1 (upstream only builds brax envs).",
        "Time limits: the 200-step Pendulum truncation ends an episode without bootstrapping in "
        "all three (CleanRL: done = terminated or truncated; gymnax: done at 200).",
    ]
