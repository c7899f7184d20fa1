"""Golden numbers of short seeded DIAL/RIAL/no-communication trainings, pinned across refactors.

The numbers were recorded (one torch thread, CPU) with the code before ``toolbox/dial/train.py`` was
split into config / team / episodes / rollout / evaluate / train, and are unchanged after it.
DIAL's numbers depend on the torch thread count (reductions are split differently), so this test
runs on one thread (the suite's setting); they may also differ under another torch build or CPU.

Test rewards are ratios of counts of episodes, so they are compared exactly; the parameter
checksum is a sum of ~40k floats, compared to 1e-9 relative. They pin the readable loop
(``backend="torch"``); the compiled step is tied to it by ``tests/test_dial_compiled.py``.
"""

from __future__ import annotations

import pytest

from toolbox.dial.config import DialConfig
from toolbox.dial.train import train

GOLDEN = {
    "dial": (dict(method="dial"), [-0.30921053886413574, 0.03401360660791397, 0.26056337356567383],
             9831.37401310173, [15, 16]),
    "rial": (dict(method="rial"), [-1.3157894611358643, 0.4353741407394409, 0.26056337356567383],
             10185.55411397855, [15, 17]),
    "nocomm": (dict(method="nocomm"), [-0.6315789222717285, 0.30612245202064514, 0.39436620473861694],
               9706.085833740337, [16]),
    "separate": (dict(param_sharing=False), [-0.8815789222717285, 0.2789115607738495, 0.3309859037399292],
                 29474.351646737767, [15, 16, 17, 18]),
}



@pytest.mark.parametrize("name", list(GOLDEN))
def test_short_seeded_training_gives_the_recorded_numbers(name):
    kw, rewards, checksum, hist_bins = GOLDEN[name]
    r = train(DialConfig(n_agents=3, n_batches=20, test_every=10, test_episodes=200, **kw), seed=1, device="cpu",
              backend="torch")
    assert r.torch_threads == 1
    assert r.epochs == [0, 10, 20]
    assert r.test_normalized_reward == rewards
    assert [i for i, x in enumerate(r.message_hist[-1]) if x] == hist_bins
    total = sum(float(p.detach().double().abs().sum()) for p in r.policy.parameters())
    assert total == pytest.approx(checksum, rel=1e-9)
