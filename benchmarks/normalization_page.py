"""Rerun time of the Normalization page's analytic panels in AppTest (target: median ≤ 100 ms).

Each scenario opens the page, switches to a panel, then changes one control per rerun. Scenarios
marked "recompute" change the seed every rerun, so every rerun misses the cache and recomputes
the panel from scratch (the worst case); the others move a view slider over cached data. The
budget applies to the analytic panels ①, ③, ⑤; ② and ④ are timed for information (they
simulate CartPole / collect a PPO batch).

Run: ``python benchmarks/normalization_page.py [name filter]`` (under ``flock /tmp/rl_bench.lock``
on a shared machine).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from app_pages.normalization.settings import PANELS  # noqa: E402
from benchmarks.apptest_timing import first_render_s, time_reruns  # noqa: E402

PAGE = "app_pages/normalization/page.py"


def on_panel(panel: str, change):
    def action(at, i):
        if i == 0:
            at.session_state["nz_panel"] = PANELS[panel]
        else:
            change(at, i)
    return action


SCENARIOS = {
    "① step slider (cached stream)": on_panel("running", lambda at, i: at.slider(
        key="nz_step").set_value(1 + i % 100)),
    "① recompute: new seed, 100 batches × 16": on_panel("running", lambda at, i: at.number_input(
        key="nz_seed").set_value(1000 + i)),
    "① recompute: new seed, 500 batches × 64 (largest)": on_panel(
        "running",
        lambda at, i: (at.slider(key="nz_batches").set_value(500),
                       at.select_slider(key="stream_batch_size").set_value(64),
                       at.number_input(key="nz_seed").set_value(2000 + i)),
    ),
    "③ recompute: new seed (trace + γ sweep, 500 steps × 8 envs)": on_panel(
        "rewards", lambda at, i: at.number_input(key="nz_rew_seed").set_value(1000 + i)),
    "③ recompute: new γ": on_panel(
        "rewards", lambda at, i: at.number_input(key="nz_rew_gamma").set_value(
            round(0.9 + 0.0009 * i, 4))),
    "② recompute: new seed (CartPole, 8 envs × 200 steps)": on_panel(
        "observations", lambda at, i: at.number_input(key="nz_obs_seed").set_value(1000 + i)),
    "④ recompute: number of minibatches (cached PPO batch)": on_panel(
        "advantages", lambda at, i: at.number_input(key="nz_adv_mb").set_value((1, 2, 4, 8,
                                                                                16)[i % 5])),
    "⑤ training-step slider (cached)": on_panel("batchnorm", lambda at, i: at.slider(
        key="nz_bn_step").set_value(i % 200)),
    "⑤ recompute: new momentum": on_panel(
        "batchnorm", lambda at, i: at.number_input(key="nz_bn_momentum").set_value(
            round(0.05 + 0.01 * i, 3))),
}


def main(n: int = 30, only: str = "") -> None:
    print(f"first render of {PAGE}: {first_render_s(PAGE):.2f} s")
    for name, action in SCENARIOS.items():
        if only and only not in name:
            continue
        s = time_reruns(PAGE, action, n=n)
        analytic = name[0] in "①③⑤"
        flag = (
            "ok" if s[
                "median_ms"] <= 100
            else "OVER 100 ms") if analytic else "(simulation panel, no budget)"
        print(f"{name:62s} median {s['median_ms']:6.1f} ms  p95 {s['p95_ms']:6.1f}  "
              f"min {s['min_ms']:6.1f}  max {s['max_ms']:6.1f}  (n={s['n']})  {flag}")


if __name__ == "__main__":
    main(only=sys.argv[1] if len(sys.argv) > 1 else "")
