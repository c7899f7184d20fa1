"""Precompute the DIAL page's default curves into results/ (small JSON): dial_default.json (n = 3)
and dial_n4.json (n = 4).

    python benchmarks/dial_precompute.py            # everything (n = 3 variants and n = 4)
    python benchmarks/dial_precompute.py --only n3  # just the n = 3 runs
    python benchmarks/dial_precompute.py --jobs 6   # six worker processes (same numbers)

Every run uses ``toolbox.dial.train.train`` with the settings in ``RUNS`` (seeds 0..SEEDS-1); the
page's "Train now" button reproduces any of them live. Also stores the decoded protocol and a
few replayed episodes of the DIAL n = 3 seed-0 policy, and the seed-0 DIAL team's test reward with
BatchNorm on test-batch statistics vs on its running averages (``batchnorm``, n = 3 and n = 4).

The numbers depend on the torch thread count, the torch build and the CPU's kernels: this script
trains on **one torch thread** and records the machine and versions in ``meta``
(``toolbox.provenance``). Each run also stores the first training batch's fingerprint
(``toolbox.dial.fingerprint``), which ``tests/test_dial_results.py`` recomputes on any machine to a
tolerance argued there: the curves themselves are chaotic and not comparable across CPUs.
Not a timing benchmark.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
import time
from dataclasses import asdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from toolbox.device import torch_threads  # noqa: E402
from toolbox.dial.config import DialConfig, run_key  # noqa: E402
from toolbox.dial.evaluate import batchnorm_comparison  # noqa: E402
from toolbox.dial.fingerprint import first_batch_fingerprint  # noqa: E402
from toolbox.dial.protocol import decode_protocol, replay_episode  # noqa: E402
from toolbox.dial.train import train_seeds  # noqa: E402
from toolbox.provenance import machine_provenance  # noqa: E402

OUTS = {"n3": ROOT / "results" / "dial_default.json", "n4": ROOT / "results" / "dial_n4.json"}
SEEDS = 3
N3_BATCHES = 600
N4_BATCHES = 1500
RUNS = {
    "n3": [
        DialConfig(n_agents=3, method=m, n_batches=N3_BATCHES, test_every=20)
        for m in ("dial", "rial", "nocomm")
    ]
    + [
        DialConfig(n_agents=3, param_sharing=False, n_batches=N3_BATCHES, test_every=20),
        DialConfig(n_agents=3, input_mode="concat", n_batches=N3_BATCHES, test_every=20),
        DialConfig(n_agents=3, sigma=0.0, n_batches=N3_BATCHES, test_every=20),
    ],
    "n4": [
        DialConfig(n_agents=4, method=m, n_batches=N4_BATCHES, test_every=50)
        for m in ("dial", "nocomm")
    ],
}


def _train_one(job: tuple[DialConfig, int]):
    """One (config, seed) run on one torch thread (a worker process of the pool, or the main
    one)."""
    cfg, seed = job
    with torch_threads(1):
        return train_seeds(cfg, [seed], device="cpu")[0]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", choices=sorted(RUNS), default=None)
    ap.add_argument("--jobs", type=int, default=1,
                    help="worker processes, one torch thread each (same numbers as --jobs 1)")
    args = ap.parse_args()
    with torch_threads(1):  # the decoded protocol and BatchNorm comparison below too
        run(args)


def run(args) -> None:
    groups = [args.only] if args.only else list(RUNS)
    jobs = [(cfg, s) for g in groups for cfg in RUNS[g] for s in range(SEEDS)]
    t0 = time.perf_counter()
    if args.jobs > 1:
        with multiprocessing.get_context("fork").Pool(args.jobs) as pool:
            done = pool.map(_train_one, jobs, chunksize=1)
    else:
        done = [_train_one(j) for j in jobs]
    by_job = dict(zip([(run_key(c), s) for c, s in jobs], done))
    print(f"trained {len(jobs)} runs in {time.perf_counter() - t0:.0f} s", flush=True)
    for g in groups:
        OUT = OUTS[g]
        data = {"meta": {"torch_threads": 1, "torch_version": torch.__version__, "device": "cpu",
                         "written_by": "benchmarks/dial_precompute.py", **machine_provenance()},
                "runs": {}}
        for cfg in RUNS[g]:
            key = run_key(cfg)
            results = [by_job[(key, s)] for s in range(SEEDS)]
            assert all(r.torch_threads == 1 for r in results)
            data["runs"][key] = {"config": asdict(cfg), "seeds": [r.to_dict() for r in results],
                                 "first_batch": first_batch_fingerprint(cfg, 0, "cpu")}
            print(
                f"{key}: final test rewards "
                f"{[round(r.test_normalized_reward[-1], 3) for r in results]}", flush=True)
            if cfg == RUNS["n3"][0]:
                pol = results[0].policy
                data["protocol"] = {"run": key, "seed": 0, **decode_protocol(pol, cfg, 4000,
                                                                             seed=123,
                                                                             device="cpu")}
                data["replays"] = [replay_episode(pol, cfg, seed=s,
                                                  device="cpu") for s in range(12)]
            if cfg.method == "dial" and cfg == RUNS[g][0]:
                data["batchnorm"] = {"run": key, "seed": 0,
                                     **batchnorm_comparison(results[0].policy, cfg, 1000, seed=123,
                                                            device="cpu")}
        OUT.parent.mkdir(exist_ok=True)
        OUT.write_text(json.dumps(data, separators=(",", ":")))
        print(f"wrote {OUT} ({OUT.stat().st_size / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()
