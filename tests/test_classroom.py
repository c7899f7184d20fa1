"""A small classroom under load: identical trainings run once, nothing errors.

The full 30-student figure is measured by benchmarks/classroom_load.py; here 6 students with
tiny budgets keep the suite fast while checking the same properties.
"""

from benchmarks.classroom_load import run_load


def test_identical_trainings_run_once_for_a_classroom():
    r = run_load(6, dict(dial_batches=50, dial_seeds=1, ppo_budget=25_000, ppo_seeds=1))
    assert r["errors"] == []
    assert r["served"] == 6
    assert r["trainings_run"] == {"dial": 1, "ppo": 1}
