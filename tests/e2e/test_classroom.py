"""A small classroom on a real server: identical trainings run once, every session is served.

The 30-student figures come from benchmarks/classroom_load.py; here 4 browser sessions with
small budgets check the same properties in the suite.
"""

import pytest

from benchmarks.classroom_load import chromium_path, run_load

pytestmark = pytest.mark.e2e


@pytest.mark.skipif(chromium_path() is None, reason="Chromium not installed (apt-get install chromium)")
def test_identical_trainings_run_once_for_a_classroom():
    r = run_load(4, dict(dial_batches=40, dial_seeds=1, ppo_budget=25_000, ppo_seeds=1))
    assert r["errors"] == []
    assert r["served"] == 4
    assert r["trainings_run"] == {"dial": 1, "ppo": 1}
