"""Social influence as an intrinsic reward (Jaques et al., ICML 2019), its signalling form, and
learning with it.

One job per module:

* ``tables``      reading and checking probability tables (``check_distribution_rows``), fixing them
* ``reward``      the counterfactual KL influence reward, the marginal, the mutual information
* ``presets``     the preset tables of the page's first section
* ``signalling``  the sender–receiver (Bayesian persuasion) form and its two marginals
* ``games``       the matrix games and the training settings (``InfluenceTrainConfig``)
* ``learning``    REINFORCE with an influence bonus, all seeds batched (``train_influence_game``)
* ``precomputed`` the stored β grid and the verdicts the page draws from it
* ``script``      the standalone "run it yourself" script for the tables on screen

The names below are re-exported so that ``from toolbox import influence as inf`` reaches them all.
"""

from toolbox.influence.games import (
    GAMES,
    MAX_BETA,
    MAX_EPISODES,
    MAX_ITERATIONS,
    MAX_SEEDS,
    InfluenceTrainConfig,
    MatrixGame,
)
from toolbox.influence.learning import (
    InfluenceTrainResult,
    reinforce_gradients,
    softmax,
    train_influence_game,
)
from toolbox.influence.reward import (
    batched_influence,
    counterfactual_marginal,
    entropy,
    expected_influence,
    influence_reward,
    influence_rewards,
    kl_divergence,
    mutual_information,
)
from toolbox.influence.signalling import (
    MARGINAL_MEANINGS,
    MARGINALS,
    PERSUASION_PRESETS,
    SCHEME_NAMES,
    TIE_TOLERANCE,
    PersuasionGame,
    SchemeReport,
    evaluate_scheme,
    persuasion_preset,
    principal_influence,
    receiver_best_response,
    scheme_caption,
    signal_marginal,
)
from toolbox.influence.tables import (
    DTYPE,
    MAX_ACTIONS,
    MAX_INFLUENCEES,
    ROW_TOLERANCE,
    check_distribution_rows,
    distribution_labels,
    normalize_rows,
    resize_rows,
)

__all__ = ["DTYPE", "GAMES", "InfluenceTrainConfig", "InfluenceTrainResult", "MARGINALS",
           "MARGINAL_MEANINGS", "MAX_ACTIONS", "MAX_BETA", "MAX_EPISODES", "MAX_INFLUENCEES",
           "MAX_ITERATIONS", "MAX_SEEDS", "MatrixGame", "PERSUASION_PRESETS", "PersuasionGame",
           "ROW_TOLERANCE", "SCHEME_NAMES", "SchemeReport", "TIE_TOLERANCE", "batched_influence",
           "check_distribution_rows", "counterfactual_marginal", "distribution_labels", "entropy",
           "evaluate_scheme", "expected_influence", "influence_reward", "influence_rewards",
           "kl_divergence", "mutual_information", "normalize_rows", "persuasion_preset",
           "principal_influence", "receiver_best_response", "reinforce_gradients", "resize_rows",
           "scheme_caption", "signal_marginal", "softmax", "train_influence_game"]
