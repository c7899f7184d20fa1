"""Gumbel-max sampling, the Gumbel-Softmax relaxation, and gradient estimators for categoricals.

References
----------
- E. J. Gumbel (1954), *Statistical theory of extreme values and some practical applications*.
- E. Jang, S. Gu, B. Poole (2017), *Categorical Reparameterization with Gumbel-Softmax*, ICLR.
- C. J. Maddison, A. Mnih, Y. W. Teh (2017), *The Concrete Distribution*, ICLR.
- Y. Bengio, N. Léonard, A. Courville (2013), *Estimating or Propagating Gradients Through
  Stochastic Neurons* (the straight-through estimator).
- R. J. Williams (1992), REINFORCE; W. Kool, H. van Hoof, M. Welling (2019), leave-one-out baseline.

Notation (from the papers): ``logits`` θ with shape ``(..., K)`` define π = softmax(θ);
``g ~ Gumbel(0, 1)`` i.i.d.; ``tau`` τ > 0 is the temperature.

Modules, one job each:
``inputs`` (validation, typed numbers, presets, random streams) < ``sampling`` (Gumbel noise,
Gumbel-max, chi-square) < ``relaxation`` (Gumbel-Softmax and τ) < ``reparameterization``
(Gaussian example, Jacobian, computation graph) and ``estimators`` (per-sample gradient
estimators) < ``estimator_stats`` (bias and spread) < ``script`` ("Run it yourself");
``lesson_text`` holds the lesson's prose about estimators and papers.
"""

from toolbox.gumbel.estimator_stats import (
                                            EstimateSummary,
                                            EstimatorComparison,
                                            EstimatorRow,
                                            EstimatorSweep,
                                            compare_estimators,
                                            estimator_sweep,
                                            reinforce_spread,
                                            summarize_estimates,
)
from toolbox.gumbel.estimators import (
                                            DOWNSTREAM,
                                            ESTIMATORS,
                                            TAU_FREE,
                                            UNBIASED,
                                            downstream_function,
                                            estimate_all_gradients,
                                            estimate_gradients,
                                            exact_gradient,
                                            expected_objective,
                                            per_sample_gradients,
                                            reinforce_surrogate,
                                            reinforce_weights,
                                            relaxed_surrogate,
                                            straight_through_surrogate,
)
from toolbox.gumbel.inputs import (
                                            K_MAX,
                                            K_MIN,
                                            MAX_ELEMENTS,
                                            MODES,
                                            PRESETS,
                                            PROB_TOL,
                                            check_f_values,
                                            default_f,
                                            distribution_logits,
                                            logits_from_probs,
                                            parse_numbers,
                                            preset_probabilities,
                                            preset_values,
                                            stream_seed,
)
from toolbox.gumbel.relaxation import (
                                            RelaxedExperiment,
                                            TemperatureSweep,
                                            gumbel_softmax,
                                            gumbel_softmax_from_noise,
                                            log_grid,
                                            relaxed_experiment,
                                            sample_entropy,
                                            straight_through_gumbel,
                                            temperature_sweep,
)
from toolbox.gumbel.reparameterization import (
                                            REPARAM_MAX,
                                            GaussianReparam,
                                            RelaxedSampleJacobian,
                                            computation_graph_dot,
                                            gaussian_reparameterization,
                                            relaxed_sample_jacobian,
)
from toolbox.gumbel.sampling import (
                                            ChiSquareResult,
                                            GumbelMaxExperiment,
                                            category_counts,
                                            chi_square_test,
                                            gumbel_max_experiment,
                                            gumbel_max_sample,
                                            sample_gumbel,
)

__all__ = ["ChiSquareResult", "DOWNSTREAM", "ESTIMATORS", "EstimateSummary", "EstimatorComparison",
           "EstimatorRow", "EstimatorSweep", "GaussianReparam", "GumbelMaxExperiment", "K_MAX",
           "K_MIN", "MAX_ELEMENTS", "MODES", "PRESETS", "PROB_TOL", "REPARAM_MAX",
           "RelaxedExperiment", "RelaxedSampleJacobian", "TAU_FREE", "TemperatureSweep", "UNBIASED",
           "category_counts", "check_f_values", "chi_square_test", "compare_estimators",
           "computation_graph_dot", "default_f", "distribution_logits", "downstream_function",
           "estimate_all_gradients", "estimate_gradients", "estimator_sweep", "exact_gradient",
           "expected_objective", "gaussian_reparameterization", "gumbel_max_experiment",
           "gumbel_max_sample", "gumbel_softmax", "gumbel_softmax_from_noise", "log_grid",
           "logits_from_probs", "parse_numbers", "per_sample_gradients", "preset_probabilities",
           "preset_values", "reinforce_spread", "reinforce_surrogate", "reinforce_weights",
           "relaxed_experiment", "relaxed_sample_jacobian", "relaxed_surrogate", "sample_entropy",
           "sample_gumbel", "straight_through_gumbel", "straight_through_surrogate", "stream_seed",
           "summarize_estimates", "temperature_sweep"]

