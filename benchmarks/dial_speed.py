"""DIAL speed and quality on the Switch Riddle (CPU), the issue's figures.

    flock /tmp/rl_bench.lock python benchmarks/dial_speed.py [--seeds 5] [--n4-seeds 3]
        [--n4-batches 1500]
        [--reference /path/to/learning-to-communicate-pytorch --reference-batches 30]

Prints
* training throughput (batches/s, no tests) for n = 3 DIAL;
* time to 0.95 per seed: wall seconds from the start of ``train`` (network creation included,
  Python start-up and imports excluded) until the first greedy execution-mode test on 1,000
  fresh episodes reaches reward/oracle >= 0.95 — each seed trained alone, tests every 20
  batches counted in the time; the median over seeds; how many seeds succeed within 1,000 batches;
* n = 4: DIAL vs NoComm at the same budget, final reward = mean of the last 3 tests, median of
  seeds;
* optionally the reference implementation's batches/s measured side by side (same machine, same
  torch) over a few batches, and the ratio.
Timings on a shared 2-core machine are noisy; run under the lock and read the load printed.
On a loaded machine torch's OpenMP threads spin-wait for each other and a 2-thread run can be
30x slower than a 1-thread one; ``--passive`` sets ``OMP_WAIT_POLICY=PASSIVE`` (better under
load, about 3x slower on a quiet machine because every small op waits for sleeping threads) and
``--threads N`` compares thread counts (default: torch's default).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

if "--passive" in sys.argv:
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"  # must precede the first torch import
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from toolbox.dial.config import DialConfig  # noqa: E402
from toolbox.dial.rollout import rollout_loss  # noqa: E402
from toolbox.dial.team import make_team  # noqa: E402
from toolbox.dial.train import train  # noqa: E402


def throughput(config: DialConfig, n: int = 200) -> float:
    import copy

    team = make_team(config, 0, "cpu")
    target = copy.deepcopy(team)
    opt = torch.optim.RMSprop(team.parameters(), lr=config.lr, momentum=config.momentum)
    gen = torch.Generator().manual_seed(0)
    for i in range(n + 20):
        if i == 20:
            t0 = time.perf_counter()
        loss, _ = rollout_loss(team, target, config, gen, "cpu")
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(team.parameters(), config.grad_clip)
        opt.step()
    return n / (time.perf_counter() - t0)


def reference_throughput(path: str, n_batches: int) -> float:
    """Batches/s of minqi/learning-to-communicate-pytorch (switch_3_dial config), measured here."""
    import json

    sys.path.insert(0, path)
    from agent import CNetAgent  # noqa: F401
    from arena import Arena
    from main import create_agents, create_game, init_opt
    from utils.dotdic import DotDic

    opt = DotDic(json.loads(Path(path, "config", "switch_3_dial.json").read_text()))
    opt = init_opt(opt)
    opt.nepisodes = n_batches
    game = create_game(opt)
    agents = create_agents(opt, game)
    arena = Arena(opt, game)
    for a in agents[1:]:
        a.reset()
    t0 = time.perf_counter()
    for _ in range(n_batches):
        ep = arena.run_episode(agents, train_mode=True)
        agents[1].learn_from_episode(ep)
    return n_batches / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--n4-seeds", type=int, default=3)
    ap.add_argument("--n4-batches", type=int, default=1500)
    ap.add_argument("--reference", default=None)
    ap.add_argument("--reference-batches", type=int, default=30)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--passive", action="store_true",
                    help="OMP_WAIT_POLICY=PASSIVE (read before argparse)")
    ap.add_argument("--skip-n4", action="store_true")
    ap.add_argument("--skip-n3", action="store_true")
    ap.add_argument(
        "--n4-from-results",
        action="store_true",
        help="read the n = 4 runs that benchmarks/dial_precompute.py stored instead of retraining",
    )
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, OMP_WAIT_POLICY "
          f"{os.environ.get('OMP_WAIT_POLICY')}, load {os.getloadavg()}", flush=True)

    if args.skip_n3:
        return run_n4(args)
    bps = throughput(DialConfig())
    print(f"n=3 DIAL training throughput (no tests): {bps:.1f} batches/s", flush=True)
    if args.reference:
        ref = reference_throughput(args.reference, args.reference_batches)
        print(
            f"reference (minqi) n=3 DIAL: {ref:.2f} batches/s over {args.reference_batches} "
            f"batches -> ours is {bps / ref:.0f}x", flush=True)

    times, batches, ok = [], [], 0
    for seed in range(args.seeds):
        r = train(DialConfig(n_batches=1000, test_every=20, stop_at=0.95), seed)
        t, b = r.time_to(0.95), r.batches_to(0.95)
        ok += t is not None
        times.append(t if t is not None else float("inf"))
        batches.append(b)
        rate = r.batches_trained / r.wall_time_s[-1]
        print(f"seed {seed}: time to 0.95 = {t if t is None else round(t, 2)} s at batch {b} "
              f"({rate:.1f} batches/s incl. tests; best "
              f"{max(r.test_normalized_reward):.3f}; load {os.getloadavg()[0]:.1f})",
              flush=True)
    print(f"n=3 DIAL: median time to 0.95 = {statistics.median(times):.2f} s; "
          "median batches = "
          f"{statistics.median([b for b in batches if b is not None] or [float('nan')])}; "
          f"{ok}/{args.seeds} seeds reach 0.95 within 1,000 batches", flush=True)

    if not args.skip_n4:
        run_n4(args)


def run_n4(args) -> None:
    finals = {}
    if args.n4_from_results:
        import json

        from toolbox.dial.config import run_key

        data = json.loads((ROOT / "results" / "dial_n4.json").read_text())
        for method in ("dial", "nocomm"):
            cfg = DialConfig(n_agents=4, method=method, n_batches=args.n4_batches, test_every=50)
            runs = data["runs"][run_key(cfg)]["seeds"][: args.n4_seeds]
            finals[method] = [statistics.mean(r["test_normalized_reward"][-3:]) for r in runs]
            for r, f in zip(runs, finals[method]):
                print(
                    f"n=4 {method} seed {r['seed']} (stored): final {f:.3f} (best "
                    f"{max(r['test_normalized_reward']):.3f}, "
                    f"{r['wall_time_s'][-1]:.0f} s)", flush=True)
    for method in ("dial", "nocomm") if not finals else ():
        finals[method] = []
        for seed in range(args.n4_seeds):
            t0 = time.perf_counter()
            r = train(DialConfig(n_agents=4, method=method, n_batches=args.n4_batches,
                                 test_every=50), seed)
            final = statistics.mean(r.test_normalized_reward[-3:])
            finals[method].append(final)
            print(
                f"n=4 {method} seed {seed}: final {final:.3f} (best "
                f"{max(r.test_normalized_reward):.3f}, "
                f"{time.perf_counter() - t0:.0f} s)", flush=True)
    d, nc = statistics.median(finals["dial"]), statistics.median(finals["nocomm"])
    print(
        f"n=4 at {args.n4_batches} batches ({args.n4_batches * 32:,} episodes): median DIAL "
        f"{d:.3f} vs NoComm {nc:.3f} -> DIAL "
        f"{'beats' if d > nc else 'does NOT beat'} NoComm", flush=True)


if __name__ == "__main__":
    main()
