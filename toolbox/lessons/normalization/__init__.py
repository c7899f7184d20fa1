"""The data the Normalization page shows, one module per panel.

① ``streams``: synthetic streams and the running statistic after every batch;
② ``observations``: CartPole observations before and after online normalization;
③ ``rewards``: reward scaling over time and the value-target scale for several γ;
④ ``advantages``: a real PPO batch's advantages normalized per minibatch;
⑤ ``messages``: a drifting DIAL message through BatchNorm (train/eval) and LayerNorm.

Everything is re-exported here, so a page needs one import:
``from toolbox.lessons import normalization as N``.
"""

from toolbox.lessons.normalization.advantages import (
    MAX_PPO_UPDATES,
    MinibatchAdvantages,
    minibatch_advantages,
    minibatch_size_effect,
    ppo_batch,
)
from toolbox.lessons.normalization.messages import (
    MESSAGE_MLP_SOURCE,
    MessageNormDemo,
    message_mlp_gap,
    message_norm_demo,
    message_separation,
)
from toolbox.lessons.normalization.observations import (
    CARTPOLE_DIMENSIONS,
    ObservationSample,
    cartpole_observations,
    cartpole_rollout,
    normalize_observation_stream,
    observation_sample,
    summary_stats,
)
from toolbox.lessons.normalization.rewards import (
    GAMMA_SWEEP,
    REWARD_DESCRIPTIONS,
    REWARD_KINDS,
    ReturnScales,
    RewardTrace,
    return_scales,
    reward_scaling_trace,
    reward_stream,
)
from toolbox.lessons.normalization.streams import (
    MAX_STREAM_SAMPLES,
    STREAM_DESCRIPTIONS,
    STREAM_KINDS,
    RunningTrace,
    Stream,
    cumulative_moments,
    running_trace,
    sample_stream,
)

__all__ = [
    "CARTPOLE_DIMENSIONS", "GAMMA_SWEEP", "MAX_PPO_UPDATES", "MAX_STREAM_SAMPLES",
    "MESSAGE_MLP_SOURCE", "REWARD_DESCRIPTIONS", "REWARD_KINDS", "STREAM_DESCRIPTIONS",
    "STREAM_KINDS", "MessageNormDemo", "MinibatchAdvantages", "ObservationSample", "ReturnScales",
    "RewardTrace", "RunningTrace", "Stream", "cartpole_observations", "cartpole_rollout",
    "cumulative_moments", "message_mlp_gap", "message_norm_demo", "message_separation",
    "minibatch_advantages", "minibatch_size_effect", "normalize_observation_stream",
    "observation_sample", "ppo_batch", "return_scales", "reward_scaling_trace", "reward_stream",
    "running_trace", "sample_stream", "summary_stats",
]
