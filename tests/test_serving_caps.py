"""The server's caps on a PPO request: checked by the serving layer, not by the algorithm."""

import pytest

from toolbox.ppo.config import PPOConfig
from toolbox.serving.caps import MAX_RUNS, MAX_TOTAL_TIMESTEPS, check_budget, check_ppo_runs
from toolbox.serving.ppo_batching import PPORequest


def test_a_budget_over_the_cap_is_refused_with_a_sentence():
    check_budget(PPOConfig(total_timesteps=MAX_TOTAL_TIMESTEPS))
    with pytest.raises(ValueError, match="over this server's cap of 500,000 steps per run"):
        check_budget(PPOConfig(total_timesteps=MAX_TOTAL_TIMESTEPS + 512))


def test_too_many_runs_are_refused_with_the_product_named():
    configs = [PPOConfig()] * 13
    check_ppo_runs(configs[:12], list(range(MAX_RUNS // 12)))
    with pytest.raises(ValueError,
                       match=r"13 variants × 10 seeds = 130 runs is over this server's cap"):
        check_ppo_runs(configs, list(range(10)))


@pytest.mark.parametrize("configs, seeds", [
    ([PPOConfig(total_timesteps=600_000)], [0]),
    ([PPOConfig()] * 13, list(range(10))),
])
def test_a_request_over_a_cap_never_queues(configs, seeds):
    with pytest.raises(ValueError, match="cap"):
        PPORequest.make(configs, seeds, summarize=lambda r: r)
