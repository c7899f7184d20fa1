"""A classroom on a real server: identical trainings run once, every session is served.

The full 30-student figures come from benchmarks/classroom_load.py. Here: 30 sessions over
Streamlit's own websocket protocol arriving within 5 s on a freshly started server (the case that
once routed early sessions around app.py and raced module imports), and 4 real browsers.
"""

import pytest

from benchmarks.classroom_load import chromium_path, run_load

pytestmark = pytest.mark.e2e


def test_thirty_sessions_on_a_fresh_server_are_all_served_and_share_trainings():
    r = run_load(30, dict(dial_batches=40, dial_seeds=1, ppo_budget=25_000, ppo_seeds=1, arrival_s=5.0,
                          client="protocol"))
    assert r["errors"] == []
    assert r["served"] == 30
    assert r["trainings_run"] == {"dial": 1, "ppo": 1}


@pytest.mark.skipif(chromium_path() is None, reason="Chromium not installed (apt-get install chromium)")
def test_identical_trainings_run_once_for_a_classroom_of_browsers():
    r = run_load(4, dict(dial_batches=40, dial_seeds=1, ppo_budget=25_000, ppo_seeds=1))
    assert r["errors"] == []
    assert r["served"] == 4
    assert r["trainings_run"] == {"dial": 1, "ppo": 1}
