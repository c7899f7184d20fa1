"""The catalogue of PPO implementation details the page lists (Huang et al. 2022, "The 37
implementation details of PPO"): for each, one sentence, the equation or line it changes, and the
variant that toggles it."""

from __future__ import annotations

from dataclasses import dataclass, fields

from toolbox.lessons.ppo.source import detail_lines
from toolbox.lessons.ppo.variants import VARIANT_IDS, variants
from toolbox.ppo.config import PPOConfig
from toolbox.reward_scaling import RewardScaler


@dataclass(frozen=True)
class Detail:
    number: str
    """the blog post's numbering, e.g. "core 5" """
    name: str
    sentence: str
    latex: str
    """the equation it changes (st.latex), or "" """
    variant: str | None
    """id in ``toolbox.ppo.config.VARIANT_IDS`` that flips it (None: not a learning change)"""
    field: str
    """the PPOConfig field ("—": none, the detail changes no setting)"""
    code: str = ""
    """CleanRL's line, shown for a detail with no PPOConfig field; the others show the reference's
    own lines (:func:`card_code`)"""


DETAILS: tuple[Detail, ...] = (
    Detail("core 1", "Vectorized environments",
           "One policy acts in N environments at once, so a batch of N·T transitions comes from N "
           "shorter, decorrelated trajectories.",
           r"\mathcal{B} = \{(s^i_t, a^i_t, r^i_t)\}_{i \le "
           r"N,\ t \le T},\quad |\mathcal{B}| = N\,T = 512",
           "novec", "num_envs"),
    Detail("core 2", "Orthogonal init, constant biases",
           "Weights start orthogonal with gain √2 in hidden layers, 0.01 for the policy head (an "
           "almost uniform first policy) and 1 for the value head; biases start at 0.",
           r"W \sim \mathrm{Orth}(g),\ g \in \{\sqrt2,\ 0.01,\ 1\},\quad b = 0",
           "noorth", "orthogonal_init"),
    Detail("core 3", "Adam ε = 1e-5",
           "A larger ε than PyTorch's 1e-8 caps the step "
           "size where the second-moment estimate is tiny.",
           r"\theta \leftarrow \theta - \alpha\,\frac{\hat "
           r"m}{\sqrt{\hat v} + \varepsilon},\quad \varepsilon = 10^{-5}",
           "eps8", "adam_eps"),
    Detail("core 4", "Learning-rate annealing",
           "The learning rate decays linearly from α to 0 over the K iterations.",
           r"\alpha_k = \Big(1 - \frac{k-1}{K}\Big)\,\alpha",
           "noanneal", "anneal_lr"),
    Detail("core 5", "Generalized advantage estimation",
           "Advantages are exponentially weighted TD errors (λ = 0.95) instead of Monte-Carlo "
           "returns minus the value (λ = 1).",
           r"\hat A_t = \delta_t + \gamma\lambda(1-d_{t+1})\hat A_{t+1},\quad "
           r"\delta_t = r_t + \gamma V(s_{t+1})(1-d_{t+1}) - V(s_t)",
           "nogae", "gae"),
    Detail("core 6", "Minibatch updates",
           "Each epoch shuffles the batch and takes one gradient step per minibatch (4 × 4 = 16 "
           "steps per batch instead of 4).",
           r"\mathcal{B} = \mathcal{B}_1 \cup \dots \cup "
           r"\mathcal{B}_{4},\quad |\mathcal{B}_j| = 128",
           "nomb", "num_minibatches"),
    Detail("core 7", "Advantage normalization",
           "Advantages are standardized within each minibatch, so "
           "the policy step size does not depend on the reward scale.",
           r"\hat A \leftarrow \frac{\hat A - \operatorname{mean}(\hat "
           r"A)}{\operatorname{std}(\hat A) + 10^{-8}}",
           "noadvnorm", "norm_adv"),
    Detail("core 8", "Clipped surrogate objective",
           "The probability ratio is clipped so one batch cannot "
           "move the policy far from the one that collected it.",
           r"L^{\mathrm{clip}} = \mathbb{E}\big[\max(-\hat A\,\rho,\ -\hat "
           r"A\,\operatorname{clip}(\rho, 1-\epsilon, "
           r"1+\epsilon))\big],\ \rho = \frac{\pi_\theta(a|s)}{\pi_{\mathrm{old}}(a|s)}",
           "noclip", "clip_surrogate"),
    Detail("core 9", "Value-loss clipping",
           "The value prediction is also kept within ε of the old one (pessimistically: the larger "
           "of the two errors). Unlike the ratio's ε, this ε = 0.2 is in return units: CartPole's "
           "discounted returns reach about 100, so the clipped branch lets an update move the "
           "value by only 0.2. Ablations found no benefit from it (Engstrom et al. 2020) or found "
           "that it hurts (Andrychowicz et al. 2021).",
           r"L^V = \tfrac12\,\mathbb{E}\big[\max\big((V "
           r"- R)^2,\ (V_{\mathrm{old}} + \operatorname{clip}(V "
           r"- V_{\mathrm{old}}, -\epsilon, \epsilon) - R)^2\big)\big]",
           "novclip", "clip_vloss"),
    Detail("core 10", "Overall loss with entropy bonus",
           "One loss trains policy and value together, with an "
           "entropy bonus (c₂ = 0.01) that keeps the policy exploring.",
           r"L = L^{\mathrm{clip}} - c_2\,\mathbb{E}[\mathcal{H}(\pi_\theta(\cdot|s))] + c_1 "
           r"L^V,\quad c_1 = 0.5,\ c_2 = 0.01",
           "noent", "ent_coef"),
    Detail("core 11", "Global gradient clipping",
           "The gradient of all parameters together is rescaled to norm ≤ 0.5 before each step.",
           r"g \leftarrow g\cdot\min\Big(1,\ \frac{0.5}{\lVert g\rVert_2 + 10^{-6}}\Big)",
           "nogradclip", "clip_grad"),
    Detail("core 12", "Debug variables",
           "Approx KL, clip fraction, explained variance and entropy tell whether an update is "
           "healthy; they change no learning, so the toggle only shows or hides them.",
           r"\widehat{\mathrm{KL}} = \mathbb{E}[(\rho - 1) - \log\rho],\quad \mathrm{EV} = 1 "
           r"- \frac{\operatorname{Var}[R - V]}{\operatorname{Var}[R]}",
           None, "—",
           code="approx_kl = ((ratio - 1) - logratio).mean(); "
                "clipfracs += [((ratio - 1.0).abs() > args.clip_coef).float().mean()]"),
    Detail("core 13", "Separate actor and critic networks",
           "Policy and value get their own 64-64 tanh MLPs; sharing one trunk makes the value "
           "loss's gradients interfere with the policy's.",
           r"\pi(a|s) = \operatorname{softmax}(f_\pi(s)),\ V(s) = f_V(s)\quad\text{vs}\quad "
           r"[\text{logits}, V] = \text{heads}(f(s))",
           "shared", "shared_network"),
    Detail("continuous 6–7", "Observation normalization (+ clip ±10)",
           "Observations are standardized by a running mean and variance per run "
           "(toolbox.running_stats.ObsNormalizer), then clipped.",
           r"\hat o = \operatorname{clip}\Big(\frac{o "
           r"- \mu}{\sqrt{\sigma^2 + 10^{-8}}}, -10, 10\Big)",
           "obsnorm", "norm_obs"),
    Detail("continuous 8", "Reward scaling",
           "Rewards are divided by the running std of the discounted return (not centred; "
           "toolbox.reward_scaling.RewardScaler). This variant does not clip the scaled reward to "
           "±10 as CleanRL's continuous-action script does.",
           r"G_t = \gamma G_{t-1}(1-d_t) + r_t,\quad \tilde "
           r"r_t = \frac{r_t}{\sqrt{\operatorname{Var}[G] + 10^{-8}}}",
           "rewscale", "norm_reward"),
    Detail("auxiliary 3", "Early stopping on target KL",
           "The epochs of an update stop once the approximate "
           "KL of the last minibatch exceeds the target (0.015).",
           r"\text{stop if}\ \widehat{\mathrm{KL}} > \mathrm{KL}_{\mathrm{target}}",
           "kl", "target_kl"),
    Detail("time limits", "Correct truncation handling",
           "At the 500-step time limit the episode is cut, not over: bootstrap with the value of "
           "the true final state (CleanRL treats it as termination).",
           r"r_t \leftarrow r_t + \gamma\,V(s^{\mathrm{final}}_{t+1})\quad\text{if "
           r"truncated and not terminated}",
           "trunc", "bootstrap_truncation"),
)


def scaled_cartpole_rewards(num_envs: int = PPOConfig.num_envs, steps: int = 3,
                            gamma: float = PPOConfig.gamma) -> list[float]:
    """The first ``steps`` scaled rewards of one environment when ``num_envs`` CartPole environments
    (reward 1 every step, no episode end yet) go through reward scaling (``RewardScaler``,
    Gymnasium's statistics). At the start every environment has the same return, so Var[G] is tiny
    and the scaled reward is huge: 141.4 on the first step with 4 environments."""
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive whole number; got {steps!r}.")
    scaler = RewardScaler(num_envs, gamma=gamma)
    ones, no = [1.0] * num_envs, [0.0] * num_envs
    return [float(scaler.scale(ones, no, no)[0]) for _ in range(steps)]


REWARD_CLIP_WHY = (
    f"not clipped here, although it matters: with {PPOConfig.num_envs} environments the first "
    f"scaled CartPole reward is {scaled_cartpole_rewards()[0]:.1f}, far above 10 (all returns "
    "start equal, so their variance is tiny)."
)


CHECKLIST: tuple[tuple[str, str, str, str], ...] = (
    # (group, detail, where it lives, why not on this page)
    ("Atari 1", "NoopResetEnv", "ppo_atari.py",
     "CartPole has no no-op action or random-start problem."),
    ("Atari 2", "MaxAndSkipEnv (frame skip 4, max-pool)", "ppo_atari.py",
     "no frames to skip; one CartPole step is one decision."),
    ("Atari 3", "EpisodicLifeEnv", "ppo_atari.py", "CartPole has no lives."),
    ("Atari 4", "FireResetEnv", "ppo_atari.py", "no FIRE action to start a game."),
    ("Atari 5", "WarpFrame (84×84 grey)", "ppo_atari.py",
     "observations are 4 numbers, not images."),
    ("Atari 6", "ClipRewardEnv (sign of reward)", "ppo_atari.py",
     "every CartPole reward is already 1."),
    ("Atari 7", "FrameStack (4 frames)", "ppo_atari.py",
     "the CartPole state is fully observed; no velocity to recover from frames."),
    ("Atari 8", "Shared Nature-CNN trunk", "ppo_atari.py",
     "no images; the shared-vs-separate choice is toggled here with MLPs (core 13)."),
    ("Atari 9", "Scale images to [0, 1]", "ppo_atari.py", "no pixels."),
    ("continuous 1", "Gaussian policy for continuous actions", "ppo_continuous_action.py",
     "CartPole's actions are discrete (left/right)."),
    ("continuous 2", "State-independent log std", "ppo_continuous_action.py",
     "no Gaussian policy here."),
    ("continuous 3", "Independent action components (sum of log-probs)", "ppo_continuous_action.py",
     "one discrete action."),
    ("continuous 4", "Separate policy and value networks", "ppo_continuous_action.py",
     "the same choice is core 13 here."),
    ("continuous 5", "Clip actions to the valid range, store the unclipped ones",
     "ppo_continuous_action.py", "discrete actions are always valid."),
    ("continuous 6", "Observation normalization", "ppo_continuous_action.py",
     "on this page as a toggle."),
    ("continuous 7", "Observation clipping", "ppo_continuous_action.py",
     "on this page, with normalization (±10)."),
    ("continuous 8", "Reward scaling", "ppo_continuous_action.py", "on this page as a toggle."),
    ("continuous 9", "Reward clipping (±10)", "ppo_continuous_action.py", REWARD_CLIP_WHY),
    ("LSTM 1", "LSTM layer init (orthogonal, biases 0)", "ppo_atari_lstm.py",
     "the CartPole policy is a feed-forward MLP."),
    ("LSTM 2", "Initial LSTM state zeros", "ppo_atari_lstm.py", "no recurrent state."),
    ("LSTM 3", "Reset LSTM state at episode ends", "ppo_atari_lstm.py", "no recurrent state."),
    ("LSTM 4", "Minibatches of whole environment sequences", "ppo_atari_lstm.py",
     "transitions are independent given the state, so they are shuffled freely."),
    ("LSTM 5", "Reconstruct LSTM states during training", "ppo_atari_lstm.py",
     "no recurrent state."),
    ("MultiDiscrete 1", "Independent action components", "ppo_multidiscrete.py",
     "one Discrete(2) action."),
    ("auxiliary 1", "Clip-range annealing", "openai/baselines ppo2 (cliprange schedule)",
     "CleanRL's reference runs keep ε fixed; the clip itself is core 8."),
    ("auxiliary 2", "Parallelized gradient update (MPI)", "openai/baselines ppo2",
     "one process trains every run here; batching runs replaces MPI."),
    ("auxiliary 3", "Early stopping (target KL)", "ppo_continuous_action.py --target-kl",
     "on this page as a toggle."),
    ("auxiliary 4", "Invalid action masking", "ppo_gridnet (MicroRTS)",
     "both CartPole actions are always valid."),
)
"""Huang et al.'s details that are not toggles on this page: (group, detail, where it lives, why not
here)."""

def other_details_title(checklist=CHECKLIST) -> str:
    """The checklist expander's title, its counts taken from the rows: the 37 are the 13 core
    details plus the Atari, continuous, LSTM and MultiDiscrete ones; the auxiliary rows are outside
    the 37."""
    aux = sum(1 for row in checklist if row[0].startswith("auxiliary"))
    return (f"The other {len(checklist) - aux} of the 37 details (and {aux} auxiliary ones): "
            "where they live and why not here")


# ---------------------------------------------------------------------------------------------
# the page's controls → config changes (defaults read from PPOConfig, changes from variants())
# ---------------------------------------------------------------------------------------------

BOOL_FIELDS = frozenset(f.name for f in fields(PPOConfig) if f.type in ("bool", bool))
NUMBER_FIELDS = ("num_minibatches", "ent_coef")
"""Details whose control is a number input holding the field's value (the others are on/off
toggles)."""
URL_FLIPS = BOOL_FIELDS | {"num_envs", "adam_eps", "target_kl"}
"""Toggled fields a shared link can flip (``?custom=field,field``)."""


def _variant_changes(vid: str) -> dict:
    """Fields in which variant ``vid`` differs from ``PPOConfig()`` (budget aside)."""
    base, cfg = PPOConfig(), variants()[VARIANT_IDS[vid]]
    return {f.name: getattr(cfg, f.name) for f in fields(PPOConfig)
            if f.name != "total_timesteps" and getattr(cfg, f.name) != getattr(base, f.name)}


def card_code(d: Detail) -> str:
    """The code a detail's card shows: the readable reference's own lines for its ``PPOConfig``
    field (read from the source, see :mod:`toolbox.lessons.ppo.source`); CleanRL's line for a detail
    with no field (the debug variables)."""
    if d.field in {f.name for f in fields(PPOConfig)}:
        return detail_lines(d.field)
    return d.code


def control_kind(d: Detail) -> str:
    """``"number"``, ``"toggle"`` or ``"display"`` (debug variables: no learning change)."""
    if d.field in NUMBER_FIELDS:
        return "number"
    return "toggle" if d.variant is not None else "display"


def default_on(d: Detail) -> bool:
    """Whether the detail is in effect in ``PPOConfig()``: the 13 core details are (CleanRL's
    ``ppo.py``, whose defaults PPOConfig copies), so their variants turn them off; the extras are
    not, so their variants turn them on."""
    if d.variant is None:
        return True
    return d.number.startswith("core")


def toggle_label(d: Detail) -> str:
    """What the toggle switches: Adam's ε reads as its value, everything else as "on"."""
    return f"{PPOConfig.adam_eps:g}" if d.field == "adam_eps" else "on"


def initial_toggle(d: Detail, flipped: set[str]) -> bool:
    """The toggle's first value: the default, flipped when a link names the detail's field."""
    return default_on(d) != (d.field in flipped)


def default_number(d: Detail) -> float | int:
    """The number input's default: the field's value in ``PPOConfig()``."""
    return getattr(PPOConfig(), d.field)


def number_help(d: Detail) -> str:
    base = PPOConfig()
    if d.field == "num_minibatches":
        return f"CleanRL: {base.num_minibatches}. Must divide the batch of {base.batch_size}."
    return f"CleanRL: {default_number(d):g}."


def config_changes(values: dict[str, bool | float | int]) -> dict:
    """PPOConfig changes of the controls' values ``{detail field: toggle bool or number}``.

    A toggle away from its default applies its variant's changes (e.g. vectorized environments off:
    1 environment × 512 steps, the same batch); a number different from the default sets the field.
    Raises ``ValueError`` for a field that is no detail.
    """
    by_field = {d.field: d for d in DETAILS}
    changes: dict = {}
    for name, value in values.items():
        d = by_field.get(name)
        if d is None or control_kind(d) == "display":
            raise ValueError(
                f"{name!r} is not a detail with a control; choose from {', '.join(by_field)}.")
        if control_kind(d) == "number":
            if value != default_number(d):
                changes[name] = type(default_number(d))(value)
        elif bool(value) != default_on(d):
            changes.update(_variant_changes(d.variant))
    return changes


def parse_flips(text: str) -> set[str]:
    """The fields a link's ``custom=a,b`` flips (ValueError for a name that cannot be flipped)."""
    names = {t for t in str(text).split(",") if t}
    bad = sorted(names - URL_FLIPS)
    if bad:
        raise ValueError(f"unknown detail(s) {', '.join(bad)}")
    return names


def url_flips(changes: dict) -> str:
    """The ``custom`` link value of a set of config changes (the inverse of :func:`parse_flips`)."""
    return ",".join(sorted(k for k in changes if k in URL_FLIPS))


def field_errors(values: dict[str, bool | float | int]) -> dict[str, str]:
    """``{field: message}`` for each number control whose value cannot be trained with the toggles
    as set (``PPOConfig.validate``'s sentence), so the page shows it at that control; ``""`` keys an
    error of the toggles together that no single number causes. Empty when the settings train."""
    toggles = {k: v for k, v in values.items() if k not in NUMBER_FIELDS}
    base = PPOConfig().replace(**config_changes(toggles))
    errors: dict[str, str] = {}
    for name in NUMBER_FIELDS:
        if name in values:
            try:
                base.replace(**config_changes({name: values[name]})).validate()
            except ValueError as err:
                errors[name] = str(err)
    if not errors:
        try:
            PPOConfig().replace(**config_changes(values)).validate()
        except ValueError as err:
            errors[""] = str(err)
    return errors
