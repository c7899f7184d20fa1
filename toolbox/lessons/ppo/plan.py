"""What a PPO ablation request shows from the stored runs, what it trains, and how it fits the cap.

A request is variants × seeds at one budget. Every variant whose runs are all stored
(:mod:`toolbox.lessons.ppo.precomputed`) is shown from the store; only the others are trained, so a
change of one detail adds the runs of that one variant (10 for 10 seeds) instead of retraining, or
hiding, the stored ones. When the runs to train exceed the server's cap (``MAX_RUNS``),
:func:`cap_fixes` says what fits: fewer seeds, or fewer variants.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from toolbox.lessons.ppo.analysis import step_grid
from toolbox.lessons.ppo.precomputed import stored_configs
from toolbox.ppo.config import PPOConfig
from toolbox.serving.caps import MAX_RUNS, check_budget


@dataclass(frozen=True)
class Plan:
    """One request split into stored and to-train variants (configs and names in page order)."""

    configs: tuple[PPOConfig, ...]
    names: tuple[str, ...]
    seeds: tuple[int, ...]
    stored: dict[str, list[dict]] = field(default_factory=dict)
    """``{name: stored run records, seeds in order}`` for the variants answered by the store."""

    @property
    def train_index(self) -> tuple[int, ...]:
        """Positions of the variants that are not stored (to train)."""
        return tuple(i for i, n in enumerate(self.names) if n not in self.stored)

    @property
    def train_configs(self) -> list[PPOConfig]:
        return [self.configs[i] for i in self.train_index]

    @property
    def train_names(self) -> list[str]:
        return [self.names[i] for i in self.train_index]

    @property
    def runs_to_train(self) -> int:
        return len(self.train_index) * len(self.seeds)

    def cap_problem(self, max_runs: int = MAX_RUNS) -> str | None:
        """The sentence saying the runs to train exceed ``max_runs`` (None when they fit)."""
        if self.runs_to_train <= max_runs:
            return None
        stored = (
            f" ({len(self.stored)} stored variant(s) are shown without training)"
            if self.stored
            else ""
        )
        return (
            f"{len(self.train_index)} variant(s) to train × {len(self.seeds)} seed(s) = "
            f"{self.runs_to_train} "
            f"runs is over this server's cap of {max_runs} runs per training{stored}."
        )


def plan_request(payload: dict | None, configs, names, seeds) -> Plan:
    """Split ``configs`` (shown as ``names``) × ``seeds`` into the variants the store ``payload``
    answers for every seed and the ones to train. Raises ``ValueError`` for an empty request, a
    repeated name or seed, or a config that cannot be trained (``PPOConfig.validate``)."""
    configs, names, seeds = tuple(configs), tuple(str(n) for n in names), tuple(seeds)
    if not configs:
        raise ValueError("choose at least one variant to train.")
    if len(configs) != len(names) or len(set(names)) != len(names):
        raise ValueError("each variant needs one name of its own.")
    if not seeds:
        raise ValueError("choose at least one seed: with zero seeds there is nothing to train.")
    if any(isinstance(s, bool) or not isinstance(s, int) or s < 0 for s in seeds) or len(
        set(seeds)
    ) != len(seeds):
        raise ValueError(f"the seeds must be distinct whole numbers ≥ 0; got {list(seeds)!r}.")
    for c in configs:
        if not isinstance(c, PPOConfig):
            raise ValueError(f"every config must be a PPOConfig; got {type(c).__name__}.")
        c.validate()
        check_budget(c)
    stored: dict[str, list[dict]] = {}
    same_grid = (
        payload is not None
        and [int(g) for g in payload["grid"]] == step_grid(configs[0].total_timesteps).tolist()
    )
    if same_grid and set(seeds) <= set(payload["seeds"]):
        store = stored_configs(payload)
        for c, name in zip(configs, names):
            if c in store:
                by_seed = {rec["seed"]: rec for rec in payload["runs"][store[c]]}
                stored[name] = [by_seed[s] for s in seeds]
    return Plan(configs, names, seeds, stored)


def cap_fixes(variants_to_train: int, seeds: int, max_runs: int = MAX_RUNS) -> dict:
    """Ways to bring ``variants_to_train × seeds`` runs within ``max_runs``: ``{"seeds": the most
    seeds that fit (None if not even 1 does), "drop": how many variants to drop at the current
    seeds}``;
    both 0-change (``seeds`` unchanged, ``drop`` 0) when the runs already fit."""
    checks = (("variants to train", variants_to_train, 0), ("seeds", seeds, 1),
              ("the cap", max_runs, 1))
    for name, v, least in checks:
        if isinstance(v, bool) or not isinstance(v, int) or v < least:
            raise ValueError(f"{name} must be a whole number ≥ {least}; got {v!r}.")
    if variants_to_train * seeds <= max_runs:
        return {"seeds": seeds, "drop": 0}
    fewer = max_runs // variants_to_train
    return {"seeds": fewer if fewer >= 1 else None, "drop": variants_to_train - max_runs // seeds}


def merged_payload(plan: Plan, grid, budget: int, trained: dict | None = None) -> dict | None:
    """What the results section shows: the stored runs and the ``trained`` payload's runs
    (``{"runs": {name: summaries}, "progress"?}``, live or final) in the request's order, or None
    when
    there is nothing to show yet. Variants neither stored nor trained yet are left out."""
    trained_runs = (trained or {}).get("runs", {})
    runs = {}
    for name in plan.names:
        if name in plan.stored:
            runs[name] = plan.stored[name]
        elif name in trained_runs:
            runs[name] = trained_runs[name]
    if not runs:
        return None
    out = {"grid": [int(g) for g in grid], "budget": int(budget), "runs": runs}
    if trained and "progress" in trained:
        out["progress"] = trained["progress"]
    return out
