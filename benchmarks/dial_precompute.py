"""Precompute the DIAL page's default curves into results/ (small JSON): dial_default.json (n = 3)
and dial_n4.json (n = 4).

    python benchmarks/dial_precompute.py            # everything (n = 3 variants and n = 4)
    python benchmarks/dial_precompute.py --only n3  # just the n = 3 runs

Every run uses ``toolbox.dial.train.train`` with the settings in ``RUNS`` (seeds 0..SEEDS-1); the
page's "Train now" button reproduces any of them live. Also stores the decoded protocol and a
few replayed episodes of the DIAL n = 3 seed-0 policy. Not a timing benchmark: it uses one torch
thread so that it is a good neighbour on a shared 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from toolbox.dial.protocol import decode_protocol, replay_episode  # noqa: E402
from toolbox.dial.train import DialConfig, run_key, train_seeds  # noqa: E402

OUTS = {"n3": ROOT / "results" / "dial_default.json", "n4": ROOT / "results" / "dial_n4.json"}
SEEDS = 3
N3_BATCHES = 600
N4_BATCHES = 1500
RUNS = {
    "n3": [DialConfig(n_agents=3, method=m, n_batches=N3_BATCHES, test_every=20) for m in ("dial", "rial", "nocomm")]
    + [DialConfig(n_agents=3, param_sharing=False, n_batches=N3_BATCHES, test_every=20),
       DialConfig(n_agents=3, input_mode="concat", n_batches=N3_BATCHES, test_every=20),
       DialConfig(n_agents=3, sigma=0.0, n_batches=N3_BATCHES, test_every=20)],
    "n4": [DialConfig(n_agents=4, method=m, n_batches=N4_BATCHES, test_every=50) for m in ("dial", "nocomm")],
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", choices=sorted(RUNS), default=None)
    args = ap.parse_args()
    torch.set_num_threads(1)
    groups = [args.only] if args.only else list(RUNS)
    for g in groups:
        OUT = OUTS[g]
        data = json.loads(OUT.read_text()) if OUT.exists() else {"runs": {}}
        for cfg in RUNS[g]:
            t0 = time.perf_counter()
            results = train_seeds(cfg, list(range(SEEDS)), device="cpu")
            key = run_key(cfg)
            data["runs"][key] = {"config": asdict(cfg), "seeds": [r.to_dict() for r in results]}
            finals = [r.test_normalized_reward[-1] for r in results]
            print(f"{key}: final test rewards {[round(f, 3) for f in finals]} ({time.perf_counter() - t0:.0f} s)",
                  flush=True)
            if cfg == RUNS["n3"][0]:
                pol = results[0].policy
                data["protocol"] = {"run": key, "seed": 0, **decode_protocol(pol, cfg, 4000, seed=123, device="cpu")}
                data["replays"] = [replay_episode(pol, cfg, seed=s, device="cpu") for s in range(12)]
            OUT.parent.mkdir(exist_ok=True)
            OUT.write_text(json.dumps(data, separators=(",", ":")))
        print(f"wrote {OUT} ({OUT.stat().st_size / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()
