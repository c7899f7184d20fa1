"""A classroom on a real server: identical trainings run once, every session is served.

The full 30-student figures, and the same classroom in real browsers, come from
benchmarks/classroom_load.py (``--client browser``). Here: 30 sessions over Streamlit's own websocket
protocol arriving within 5 s on a freshly started server (the case that once routed early sessions
around app.py and raced module imports); that identical trainings run once is checked on them.
"""

import pytest

from harness.classroom import run_load

pytestmark = pytest.mark.e2e


def test_thirty_sessions_on_a_fresh_server_are_all_served_and_share_trainings():
    r = run_load(30, dict(dial_batches=40, dial_seeds=1, ppo_budget=25_000, ppo_seeds=1, arrival_s=5.0,
                          client="protocol"))
    assert r["errors"] == []
    assert r["served"] == 30
    assert r["trainings_run"] == {"dial": 1, "ppo": 1}

