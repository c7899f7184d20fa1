"""Admission that knows the cost: DIAL and PPO requests estimated from the measured table
(toolbox/serving/cost_table.json, benchmarks/job_costs.py); memory over budget refused with what to
change; per-client limits that new sessions do not bypass; DIAL reports between batches (a long
readable run yields)."""

import threading

import pytest

from toolbox.dial.config import DialConfig
from toolbox.lessons.dial.requests import lesson_configs, request_cost
from toolbox.serving import AdmissionError, Cancelled, JobRunner, Limits
from toolbox.serving.cost import cost_table


def _row_id(r: dict) -> str:
    return f"n{r['n_agents']}-{'shared' if r['param_sharing'] else 'separate'}-{r['backend']}"


@pytest.mark.parametrize("row", cost_table()["dial"], ids=_row_id)
def test_dial_estimate_is_the_tables_row(row):
    cfg = DialConfig(n_agents=row["n_agents"], param_sharing=row["param_sharing"], n_batches=1000,
                     test_every=50)
    cost = request_cost({"dial": cfg}, n_seeds=2, backend=row["backend"])
    same = [r for r in cost_table()["dial"]
            if (r["param_sharing"], r["backend"]) == (row["param_sharing"], row["backend"])
            and r["n_agents"] <= row["n_agents"]]
    # the monotone envelope: never below a smaller team's measurement
    env = {k: max(r[k] for r in same) for k in ("batch_s", "test_s", "peak_mb")}
    per_seed = 1000 * env["batch_s"] + (1000 // 50 + 2) * env["test_s"]
    assert cost.seconds == pytest.approx(2 * per_seed)
    assert cost.memory_mb == pytest.approx(env["peak_mb"])
    assert cost.seconds >= 2 * (1000 * row["batch_s"] + 22 * row["test_s"])
    assert cost.backend == row["backend"]


def test_the_table_grows_with_what_drives_the_cost():
    rows = {(r["n_agents"], r["param_sharing"], r["backend"]): r for r in cost_table()["dial"]}
    paths = ((True, "compiled"), (True, "tensor"), (False, "tensor"))
    assert set(rows) == {(n, s, b) for n in range(3, 11) for s, b in paths}
    for n in range(3, 11):
        assert rows[(n, False, "tensor")]["batch_s"] > rows[(n, True, "compiled")]["batch_s"]
    assert rows[(10, False, "tensor")]["batch_s"] > 5 * rows[(3, False, "tensor")]["batch_s"]


def test_ten_agents_separate_parameters_1500_batches_is_long_and_refused_with_advice():
    configs = lesson_configs(["dial"], 10, False, "sum", 1500, 2.0, 1)
    cost = request_cost(configs, 1)
    assert cost.backend == "tensor" and cost.seconds > 20 * 60  # ran ~45 min on a server (issue 24)
    runner = JobRunner(max_concurrent=1)
    assert cost.seconds > runner.limits.small_job_s
    with pytest.raises(AdmissionError, match="Turn parameter sharing on"):
        runner.submit("big", lambda r: 1, session_id="s", work=cost.seconds, kind="dial",
                      memory_mb=cost.memory_mb, advice=cost.advice)


def test_more_agents_seeds_and_methods_cost_more():
    def seconds(n, sharing=True, seeds=1, methods=("dial",)):
        configs = lesson_configs(list(methods), n, sharing, "sum", 600, 2.0, seeds)
        return request_cost(configs, seeds).seconds

    assert seconds(10) > seconds(3) and seconds(5, sharing=False) > seconds(5)
    assert seconds(4, seeds=3) == pytest.approx(3 * seconds(4))
    assert seconds(4, methods=("dial", "rial", "nocomm")) == pytest.approx(3 * seconds(4))
    # concatenated inputs train on the readable path: its row, not the compiled one
    concat = request_cost(lesson_configs(["dial"], 6, True, "concat", 600, 2.0, 1), 1)
    assert concat.backend == "tensor"


def test_a_request_over_the_memory_budget_is_refused_saying_what_to_change():
    configs = lesson_configs(["dial"], 10, False, "sum", 100, 2.0, 1)
    cost = request_cost(configs, 1)
    runner = JobRunner(max_concurrent=1, limits=Limits(max_request_mb=cost.memory_mb - 1))
    with pytest.raises(AdmissionError) as err:
        runner.submit("mem", lambda r: 1, work=cost.seconds, kind="dial", memory_mb=cost.memory_mb,
                      advice=cost.advice)
    assert "MB of memory" in str(err.value) and "Turn parameter sharing on" in str(err.value)
    assert runner.kept_count() == 0


def test_a_job_waits_while_running_trainings_hold_the_memory_budget():
    gate = threading.Event()
    runner = JobRunner(max_concurrent=2, limits=Limits(max_running_mb=300, max_request_mb=300))
    try:
        a = runner.submit("a", lambda r: gate.wait(10), memory_mb=200)
        b = runner.submit("b", lambda r: "b", memory_mb=200)
        c = runner.submit("c", lambda r: "c", memory_mb=50)
        assert a.status == "running" and b.status == "queued"  # 200 + 200 > 300: b waits for a
        assert c.wait(5) and c.result == "c"  # a small one fits beside a
        gate.set()
        assert b.wait(5) and b.result == "b"
    finally:
        gate.set()


def test_per_client_limit_holds_across_new_sessions():
    gate = threading.Event()
    runner = JobRunner(max_concurrent=1, limits=Limits(per_session=2, per_client=3))
    try:
        for i in range(3):  # a script opening a new session for every request
            runner.submit(f"k{i}", lambda r: gate.wait(10), session_id=f"s{i}", client_id="ip:abc")
        with pytest.raises(AdmissionError, match="all its tabs and sessions together.*3"):
            runner.submit("k3", lambda r: 1, session_id="s-new", client_id="ip:abc")
        other = runner.submit("k4", lambda r: 1, session_id="t", client_id="ip:other")
        assert other.status == "queued"
        runner.get("k2").detach("s2")  # Stop on one of them frees a place
        again = runner.submit("k3", lambda r: 1, session_id="s-new", client_id="ip:abc")
        assert again.status == "queued"
    finally:
        gate.set()


def test_ppo_request_memory_comes_from_the_table():
    from toolbox.ppo.config import PPOConfig
    from toolbox.serving.ppo_batching import PPORequest

    rows = {r["runs"]: r for r in cost_table()["ppo"]}
    small = PPORequest.make([PPOConfig(total_timesteps=4096)], [0], lambda runs, f, s: None)
    big = PPORequest.make([PPOConfig(total_timesteps=4096)] * 2, list(range(8)),
                          lambda runs, f, s: None)
    assert small.memory_mb == pytest.approx(rows[1]["peak_mb"])
    assert big.memory_mb == pytest.approx(rows[16]["peak_mb"])


def test_dial_reports_after_every_batch_and_stops_between_batches():
    from toolbox.dial.train import train

    cfg = DialConfig(n_agents=3, param_sharing=False, n_batches=6, test_every=6, rnn_size=8,
                     test_episodes=4, batch_size=2)
    seen = []
    train(cfg, 0, "cpu", backend="tensor", on_batch=seen.append)
    assert seen == pytest.approx([b / 6 for b in range(1, 7)])

    def stop_at_third(frac):
        if frac >= 0.5:
            raise Cancelled("stop")

    with pytest.raises(Cancelled):
        train(cfg, 0, "cpu", backend="tensor", on_batch=stop_at_third)


def test_a_long_dial_job_reporting_per_batch_yields_to_a_short_one():
    """The runner's yield: a long job reporting between batches lets a short request train first."""
    gate, order = threading.Event(), []
    runner = JobRunner(max_concurrent=1, rates={"dial": 1.0})

    def long_fn(report):
        k = 0
        while not gate.is_set():
            k += 1
            report(min(k / 1e6, 0.9))  # one report per batch
            gate.wait(0.001)
        order.append("long")
        return "long"

    long_job = runner.submit("long", long_fn, work=500.0, kind="dial")
    while long_job.progress == 0:
        gate.wait(0.001)
    short = runner.submit("short", lambda r: order.append("short") or "short", work=5.0,
                          kind="dial")
    assert short.wait(10) and short.result == "short" and long_job.status == "running"
    gate.set()
    assert long_job.wait(10) and order == ["short", "long"]


def test_a_client_is_its_address_hashed_and_a_new_session_keeps_it(monkeypatch):
    from types import SimpleNamespace

    import ui.jobs as ui_jobs

    def as_session(sid: str, ip):
        monkeypatch.setattr(ui_jobs, "st", SimpleNamespace(context=SimpleNamespace(ip_address=ip)))
        monkeypatch.setattr(ui_jobs, "session_id", lambda: sid)
        return ui_jobs.client_id()

    first, second = as_session("s1", "203.0.113.5"), as_session("s2", "203.0.113.5")
    assert first == second and "203" not in first  # the address is not kept in clear
    assert as_session("s3", "198.51.100.7") != first
    assert as_session("s4", None) == "session:s4"  # localhost: Streamlit gives no address


def test_per_client_limit_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("RL_TOOLBOX_PER_CLIENT", "20")
    assert Limits().per_client == 20
    monkeypatch.setenv("RL_TOOLBOX_PER_CLIENT", "zero")
    assert Limits().per_client == 8


def test_the_issues_memory_case_is_refused_by_default_with_what_to_change():
    """n = 10, separate parameters, 100 batches, 1 seed took a server from 515 MB to 1,348 MB."""
    cost = request_cost(lesson_configs(["dial"], 10, False, "sum", 100, 2.0, 1), 1)
    runner = JobRunner(max_concurrent=1)
    assert cost.seconds < runner.limits.max_request_s  # its time alone would pass
    with pytest.raises(AdmissionError, match="MB of memory.*Turn parameter sharing on"):
        runner.submit("n10", lambda r: 1, session_id="s", kind="dial", **cost.job_args())
    shared = request_cost(lesson_configs(["dial"], 10, True, "sum", 100, 2.0, 1), 1,
                          backend="compiled")
    assert runner.submit("n10-shared", lambda r: 1, session_id="s", kind="dial",
                         **shared.job_args()).wait(5)
