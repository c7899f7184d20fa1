"""The classroom benchmark's scenarios on the training engine, printed against issue 24's targets.

Called by ``benchmarks/classroom_load.py --scenario dial-abuse|pages|mixed [--apps 1,2]``; each
figure line ends with the load average of the machine when it was taken (1, 5, 15 min), since a
2-core machine shared with other work shows it in every wall-clock figure.
"""

from __future__ import annotations

import os

from harness.course import browse_and_train, dial_abuse

MEMORY_MB = 1200.0
"""Target: peak sum of PSS of the deployment (app processes, scheduler, workers)."""
SETTLE_RATIO = 1.10
"""Target: ``settle_s`` after the load the sum is within 10 % of idle."""
POLITE_EXTRA_S = 5.0
PAGE_P95_S = 8.0
TRAIN_P95_S = 20.0
SCALE_RATIO = 1.6


def _load() -> str:
    return "load " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def _verdict(ok: bool) -> str:
    return "HOLDS" if ok else "MISSED"


def _memory(r: dict) -> list[tuple[str, bool]]:
    print(f"  memory (sum of PSS, {r['processes']} processes): idle {r['idle_mb']:.0f} MB, peak "
          f"{r['peak_mb']:.0f} MB, {r['after_mb']:.0f} MB {r['settle_s']:.0f} s after "
          f"({r['after_mb'] / r['idle_mb']:.2f}× idle)   [{_load()}]")
    for label, parts in (("idle", r["idle_parts"]), ("at the peak", r["peak_parts"]),
                         (f"{r['settle_s']:.0f} s after", r["after_parts"])):
        print(f"    {label}: " + ", ".join(f"{k} {v:.0f}" for k, v in sorted(parts.items())))
    return [(f"peak memory {r['peak_mb']:.0f} MB ≤ {MEMORY_MB:.0f} MB", r["peak_mb"] <= MEMORY_MB),
            (f"{r['settle_s']:.0f} s after: {r['after_mb']:.0f} MB within 10 % of idle "
             f"{r['idle_mb']:.0f} MB", r["after_mb"] <= SETTLE_RATIO * r["idle_mb"])]


def _errors(r: dict) -> None:
    print(f"  errors: {len(r['errors'])}")
    for e in r["errors"][:5]:
        print(f"    {e}")


def _abuse(args, apps: int) -> list[tuple[str, bool]]:
    r = dial_abuse(apps, abuse=args.abuse_requests, budget=args.ppo_budget,
                   settle_s=args.settle_s)
    print(f"dial-abuse, {apps} app process(es): one client holds {r['abuse']} sessions asking for "
          "DIAL (n = 10, separate parameters, DIAL only, 1 seed, 1,500 batches, then the largest "
          f"admitted); a polite student trains PPO 2 runs × {r['budget']:,} steps")

    def counts(d: dict) -> str:
        return ", ".join(f"{c}× (n={n}, {'shared' if sh else 'separate'}, {b} batches)"
                         for (n, sh, b), c in d.items()) or "none"

    print(f"  abusive requests admitted: {counts(r['admitted'])}; refused: {counts(r['refused'])}; "
          f"trainings started {r['trainings_started']}")
    print(f"  polite training: alone {r['alone_s']:.1f} s, under abuse {r['under_abuse_s']:.1f} s"
          f"   [{_load()}]")
    _errors(r)
    ok = r["under_abuse_s"] <= r["alone_s"] + POLITE_EXTRA_S and not r["errors"]
    return [(f"polite {r['under_abuse_s']:.1f} s ≤ alone {r['alone_s']:.1f} s + "
             f"{POLITE_EXTRA_S:.0f} s", ok), *_memory(r)]


def _browse(args, apps: int, trainers: int, browsers: int) -> tuple[dict, list]:
    arrival = args.arrival_s if trainers else 0.0
    r = browse_and_train(apps, browsers=browsers, trainers=trainers, budget=args.ppo_budget,
                         arrival_s=arrival, settle_s=args.settle_s)
    what = f"{browsers} sessions open all 7 pages at once"
    if trainers:
        what += (f", {trainers} train distinct PPO (2 runs × {r['budget']:,} steps) arriving "
                 f"within {arrival:.0f} s")
    print(f"{'mixed' if trainers else 'pages'}, {apps} app process(es): {what}")
    print(f"  pages: {r['page_loads']} loads, p50 {r['page_p50_s']:.1f} s, p95 "
          f"{r['page_p95_s']:.1f} s   [{_load()}]")
    print("  page p95 by page: " + ", ".join(f"{k} {v:.1f} s" for k, v in r["by_page"].items()))
    if trainers:
        print(f"  trainings: {r['trained']}/{trainers} results, p50 {r['train_p50_s']:.1f} s, "
              f"p95 {r['train_p95_s']:.1f} s; started {r['trainings_started']} (batches)")
    print(f"  wall {r['wall_s']:.1f} s, throughput {r['throughput']:.2f} interactions/s, server "
          f"CPU {r['server_cpu_s']:.0f} s ({r['server_cpu_s'] / r['wall_s']:.2f} cores), the "
          f"clients' {r['client_cpu_s']:.0f} s ({r['client_cpu_s'] / r['wall_s']:.2f} cores)")
    _errors(r)
    checks = []
    if trainers:
        checks.append((f"training p95 {r['train_p95_s']:.1f} s ≤ {TRAIN_P95_S:.0f} s",
                       r["train_p95_s"] <= TRAIN_P95_S and r["trained"] == trainers))
    else:
        checks.append((f"page p95 {r['page_p95_s']:.1f} s ≤ {PAGE_P95_S:.0f} s",
                       r["page_p95_s"] <= PAGE_P95_S and not r["errors"]))
    return r, checks + _memory(r)


def course(args) -> None:
    """Run the scenario for each ``--apps`` value; print the figures and which targets hold."""
    apps_list = [int(a) for a in str(args.apps).split(",")]
    print(f"{os.cpu_count()} cores, {_load()}")
    checks, throughput = [], {}
    for apps in apps_list:
        if args.scenario == "dial-abuse":
            checks += [(f"[{apps} app] {t}", ok) for t, ok in _abuse(args, apps)]
            continue
        trainers = args.students if args.scenario == "mixed" else 0
        browsers = args.students
        r, c = _browse(args, apps, trainers, browsers)
        checks += [(f"[{apps} app] {t}", ok) for t, ok in c]
        throughput[apps] = r["throughput"]
    if len(throughput) > 1:
        one, most = throughput[min(throughput)], throughput[max(throughput)]
        spread = args.scenario == "mixed" and args.arrival_s > 0  # the arrivals set the wall time
        checks.append((f"throughput {max(throughput)} apps / 1 app = {most / one:.2f} ≥ "
                       f"{SCALE_RATIO}" + (" (wall set by the arrivals)" if spread else ""),
                       most / one >= SCALE_RATIO))
    print("targets:")
    for text, ok in checks:
        print(f"  {_verdict(ok):<7}{text}")
