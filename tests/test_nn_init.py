"""Seeded initialization from a private generator (toolbox.nn_init) against torch's own: the
numbers of ``torch.manual_seed(s); factory()``, without reading or moving the global generator."""

import threading

import pytest
import torch
from torch import nn

from toolbox import nn_init
from toolbox.dial.cnet import CNet
from toolbox.dial.config import DialConfig
from toolbox.dial.team import Team, make_team


def _global_seeded(factory, seed):
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return factory()


def _state(module):
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def _assert_same(a, b):
    sa, sb = _state(a), _state(b)
    assert sa.keys() == sb.keys()
    for k in sa:
        assert torch.equal(sa[k], sb[k]), k


FACTORIES = {
    "linear stack": lambda: nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 2, bias=False)),
    "embedding with padding": lambda: nn.Embedding(4, 6, padding_idx=1),
    "gru and lstm": lambda: nn.ModuleList([nn.GRU(4, 8, num_layers=2), nn.LSTM(3, 5)]),
    "batchnorm between": lambda: nn.Sequential(nn.Linear(2, 4), nn.BatchNorm1d(4), nn.Linear(4, 1)),
    "cnet sum": lambda: CNet(n_agents=3, rnn_size=16, comm_bits=1),
    "cnet concat rial": lambda: CNet(n_agents=2, rnn_size=8, comm_bits=1, input_mode="concat",
                                     message_actions=2, n_outputs=4),
}


@pytest.mark.parametrize("name", FACTORIES)
@pytest.mark.parametrize("seed", [0, 7])
def test_build_equals_global_seeding(name, seed):
    factory = FACTORIES[name]
    _assert_same(nn_init.build(factory, torch.Generator().manual_seed(seed)),
                 _global_seeded(factory, seed))


@pytest.mark.parametrize("config", [
    DialConfig(n_agents=3, rnn_size=16, param_sharing=True),
    DialConfig(n_agents=3, rnn_size=16, param_sharing=False),
    DialConfig(n_agents=4, rnn_size=8, param_sharing=False, method="rial"),
    DialConfig(n_agents=3, rnn_size=8, method="nocomm"),
], ids=["shared", "separate", "rial separate", "nocomm"])
def test_make_team_equals_global_seeding_and_leaves_global_stream(config):
    before = torch.random.get_rng_state()
    team = make_team(config, 3, "cpu")
    assert torch.equal(torch.random.get_rng_state(), before)  # neither read nor moved
    _assert_same(team, _global_seeded(lambda: Team(config), 3))


def test_make_team_unaffected_by_a_thread_drawing_meanwhile():
    config = DialConfig(n_agents=3, rnn_size=16, param_sharing=False)
    alone = make_team(config, 5, "cpu")
    stop = threading.Event()

    def draw():
        while not stop.is_set():
            nn.Linear(64, 64)  # draws from the global generator, as any unseeded build does

    t = threading.Thread(target=draw)
    t.start()
    try:
        beside = [make_team(config, 5, "cpu") for _ in range(5)]
    finally:
        stop.set()
        t.join()
    for other in beside:
        _assert_same(other, alone)


def test_unknown_module_with_parameters_is_refused():
    class Odd(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(torch.empty(3))

    with pytest.raises(TypeError, match="no seeded default initialization for Odd"):
        nn_init.build(Odd, torch.Generator().manual_seed(0))
