"""A classroom on a real server: identical trainings run once, every session is served.

The full 30-student figures, and the same classroom in real browsers, come from
benchmarks/classroom_load.py (``--client browser``). Here: 8 sessions over Streamlit's own websocket
protocol arriving within 5 s on a freshly started server (the case that once routed early sessions
around app.py and raced module imports: the first page, Gumbel-Softmax, imports plotly and pandas);
that identical trainings run once is checked on them. Each session's visit is short (Gumbel-Softmax,
DIAL with Train, PPO with Train) and there are 8 of them, not 30, to keep the suite under 5 minutes
(30 took 95 s of it on 2 cores); the benchmark runs 30 and visits every page.
"""

import pytest

from harness.classroom import run_load

pytestmark = [pytest.mark.e2e, pytest.mark.slow]  # a real browser and server: slow


def test_sessions_arriving_together_on_a_fresh_server_are_all_served_and_share_trainings():
    r = run_load(8, dict(dial_batches=40, dial_seeds=1, ppo_budget=25_000, ppo_seeds=1,
                         arrival_s=5.0, client="protocol", visit="short"))
    assert r["errors"] == []
    assert r["served"] == 8
    assert r["trainings_run"] == {"dial": 1, "ppo": 1}

