"""DIAL training speed side by side with an older checkout of this project (issue: "2x faster than
today").

    git worktree add /tmp/dial-baseline <older commit>
    flock /tmp/rl_bench.lock python benchmarks/dial_side_by_side.py
        --baseline /tmp/dial-baseline [--seeds 5]
        [--n4-seeds 3 --n4-batches 600]

For each seed, alternately in the baseline tree and in this one (each run in a fresh process, one
torch thread, so that load changes hit both alike): n = 3 DIAL with tests every 20 batches on 1,000
fresh episodes, stopped at reward/oracle >= 0.95; printed: wall seconds from the start of ``train``
(network creation, the tests and, for the compiled step, loading its machine code included) to that
test, and the batch. Then the medians and their ratio. This tree's compiled kernel is warmed first
(as the server does at start; the seconds it took are printed).

n = 4 (this tree, and the baseline with ``--n4-baseline``): DIAL and no communication trained side
by side for ``--n4-batches``, tests every 25 batches; printed: the wall time at which DIAL's test
reward first exceeds the best test reward no-communication reached in its whole run (median over
seeds).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def child(tree: str, seed: int, n_agents: int, method: str, n_batches: int, test_every: int,
          stop_at) -> None:
    sys.path.insert(0, tree)
    import torch

    torch.set_num_threads(1)
    from toolbox.dial.config import DialConfig
    from toolbox.dial.train import train

    warm = None
    if Path(tree, "toolbox", "dial", "compiled.py").exists():
        from toolbox.dial.compiled import warm_up

        warm = warm_up()
    c = DialConfig(n_agents=n_agents, method=method, n_batches=n_batches, test_every=test_every,
                   stop_at=stop_at)
    r = train(c, seed)
    print(json.dumps({"times": r.wall_time_s, "rewards": r.test_normalized_reward,
                      "epochs": r.epochs, "warm": warm, "backend": getattr(r, "backend",
                                                                           "tensor")}))


def run(tree: str, seed: int, n_agents=3, method="dial", n_batches=1000, test_every=20,
        stop_at=0.95) -> dict:
    args = [sys.executable, __file__, "--child", tree, str(seed), str(n_agents), method,
            str(n_batches), str(test_every), str(stop_at)]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    out = subprocess.run(args, capture_output=True, text=True, env=env, check=True, cwd=tree)
    return json.loads(out.stdout.strip().splitlines()[-1])


def time_to(r: dict, threshold: float):
    for t, x, e in zip(r["times"], r["rewards"], r["epochs"]):
        if x >= threshold:
            return t, e
    return None, None


def n4_race(tree: str, seeds: int, batches: int) -> list[float | None]:
    found = []
    for seed in range(seeds):
        dial = run(tree, seed, 4, "dial", batches, 25, "None")
        nocomm = run(tree, seed, 4, "nocomm", batches, 25, "None")
        best = max(nocomm["rewards"])
        t, e = time_to(dial, best + 1e-9)
        found.append(t)
        print(
            f"  n=4 seed {seed}: no-comm best {best:.3f}; DIAL beats it after "
            f"{t if t is None else round(t, 1)} s (batch {e}); DIAL best "
            f"{max(dial['rewards']):.3f}, run {dial['times'][-1]:.0f} s",
              flush=True)
    return found


def main() -> None:
    if sys.argv[1:2] == ["--child"]:
        tree, seed, n, method, nb, te, stop = sys.argv[2:9]
        return child(tree, int(seed), int(n), method, int(nb), int(te),
                     None if stop == "None" else float(stop))
    ap = argparse.ArgumentParser()
    ap.add_argument("--baseline", required=True, help="a checkout of the older code")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--n4-seeds", type=int, default=3)
    ap.add_argument("--n4-batches", type=int, default=600)
    ap.add_argument("--n4-baseline", action="store_true")
    args = ap.parse_args()
    print(f"load {os.getloadavg()}", flush=True)
    trees = {"baseline": str(Path(args.baseline).resolve()), "this": str(ROOT)}
    times = {k: [] for k in trees}
    for seed in range(args.seeds):
        for name, tree in trees.items():
            r = run(tree, seed)
            t, e = time_to(r, 0.95)
            times[name].append(t if t is not None else float("inf"))
            warm = f", kernel warm-up {r['warm']:.1f} s before" if r["warm"] is not None else ""
            print(
                f"seed {seed} {name:8s} ({r['backend']}): time to "
                f"0.95 = {t if t is None else round(t, 2)} s at batch {e}{warm}", flush=True)
    med = {k: statistics.median(v) for k, v in times.items()}
    print(
        f"n=3 DIAL median time to 0.95: baseline {med['baseline']:.2f} s, this {med['this']:.2f} s "
        f"-> {med['baseline'] / med['this']:.2f}x faster (load {os.getloadavg()[0]:.1f})",
          flush=True)
    for name in (["baseline"] if args.n4_baseline else []) + ["this"]:
        print(f"n=4, {name}:", flush=True)
        found = n4_race(trees[name], args.n4_seeds, args.n4_batches)
        ok = [t for t in found if t is not None]
        print(
            f"n=4 {name}: DIAL beats no-communication's best in {len(ok)}/{len(found)} seeds; "
            f"median {statistics.median(ok) if ok else float('nan'):.1f} s", flush=True)


if __name__ == "__main__":
    main()
