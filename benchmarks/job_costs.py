"""Measure what trainings cost on this machine: the table admission reads (jobs/cost_table.json).

    flock /tmp/rl_bench.lock python benchmarks/job_costs.py [--out toolbox/serving/cost_table.json]

DIAL: for n = 3..10, shared / separate parameters, the compiled and the readable path (compiled
only where ``toolbox.dial.compiled.unsupported_reason`` allows), seconds per training batch, seconds
per test (1,000 episodes), and the peak resident memory the run adds (MB). PPO (CartPole, the
lesson's trainer): seconds per environment step per run and the peak memory for 1, 4 and 16 runs.
Each setting is measured in a fresh child process (one thread, as the server's trainings run:
``toolbox.device.training_threads``); the peak is the child's VmHWM, reset after imports and the
kernels' warm-up, minus its resident memory then, so it is what one training adds to a server.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(field)


def _reset_peak() -> float:
    Path("/proc/self/clear_refs").write_text("5")  # VmHWM := VmRSS (Linux)
    return _status_mb("VmRSS")


def child_dial(n: int, shared: bool, backend: str, batches: int) -> dict:
    import torch

    from toolbox.dial.compiled import CompiledBatches, warm_up
    from toolbox.dial.config import DialConfig
    from toolbox.dial.evaluate import evaluate_distinct
    from toolbox.dial.rollout import rollout_loss
    from toolbox.dial.switch import sample_active
    from toolbox.dial.team import make_team

    torch.set_num_threads(1)
    if backend == "compiled":
        warm_up()
    c = DialConfig(n_agents=n, param_sharing=shared, method="dial")
    base = _reset_peak()
    gen = torch.Generator().manual_seed(0)
    team = make_team(c, 0, "cpu")
    if backend == "compiled":
        fast = CompiledBatches(team, c)
        def step():
            fast.step(gen)
    else:
        import copy

        target = copy.deepcopy(team).requires_grad_(False)
        opt = torch.optim.RMSprop(team.parameters(), lr=c.lr, momentum=c.momentum)

        def step():
            loss, _ = rollout_loss(team, target, c, gen, "cpu")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    step()  # first batch: allocations, kernel dispatch
    t0 = time.perf_counter()
    for _ in range(batches):
        step()
    per_batch = (time.perf_counter() - t0) / batches
    t0 = time.perf_counter()
    evaluate_distinct(team, c, sample_active(n, c.test_episodes, gen, "cpu"))
    per_test = time.perf_counter() - t0
    return {"batch_s": per_batch, "test_s": per_test, "peak_mb": _status_mb("VmHWM") - base}


def child_ppo(runs: int, steps: int) -> dict:
    import torch

    from toolbox.ppo.config import PPOConfig
    from toolbox.ppo.train import train_pairs

    torch.set_num_threads(1)
    warm = PPOConfig(total_timesteps=2048)
    train_pairs([(warm, 0)])  # kernels loaded, first-call costs paid
    base = _reset_peak()
    cfg = PPOConfig(total_timesteps=steps)
    t0 = time.perf_counter()
    train_pairs([(cfg, s) for s in range(runs)])
    seconds = time.perf_counter() - t0
    return {"step_s": seconds / (runs * steps), "peak_mb": _status_mb("VmHWM") - base}


def run_child(args: list[str]) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", *args], capture_output=True,
                         text=True, check=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--out", default=str(ROOT / "toolbox" / "jobs" / "cost_table.json"))
    p.add_argument("--child", nargs="*")
    a = p.parse_args()
    if a.child is not None:
        kind, *rest = a.child
        if kind == "dial":
            res = child_dial(int(rest[0]), rest[1] == "shared", rest[2], int(rest[3]))
        else:
            res = child_ppo(int(rest[0]), int(rest[1]))
        print(json.dumps(res))
        return
    import platform

    dial = []
    for n in range(3, 11):
        for shared in (True, False):
            for backend in (("compiled", "tensor") if shared else ("tensor",)):
                batches = 20 if backend == "compiled" else (2 if n >= 8 else 4)
                how = ["dial", str(n), "shared" if shared else "separate", backend, str(batches)]
                row = {"n_agents": n, "param_sharing": shared, "backend": backend, **run_child(how)}
                print(json.dumps(row), flush=True)
                dial.append(row)
    ppo = []
    for runs in (1, 4, 16):
        row = {"runs": runs, **run_child(["ppo", str(runs), "20480"])}
        print(json.dumps(row), flush=True)
        ppo.append(row)
    table = {"machine": f"{platform.processor() or platform.machine()}, {platform.node()}",
             "measured": time.strftime("%Y-%m-%d"), "threads": 1,
             "dial": dial, "ppo": ppo}
    Path(a.out).write_text(json.dumps(table, indent=1) + "\n")
    print("wrote", a.out)


if __name__ == "__main__":
    main()
