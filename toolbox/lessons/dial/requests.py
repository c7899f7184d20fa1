"""What the DIAL lesson asks the server to train, and the link (URL) values it accepts.

``lesson_configs`` turns the page's settings into one validated ``DialConfig`` per method;
``job_key`` names that request so identical requests train once; ``link_*`` read a value from a
shared link and raise ``ValueError`` with a sentence that quotes the value cut short by
``shown_value`` (a 100 kB value is not echoed whole); ``request_cost`` says what a request costs
here (seconds and memory from the measured table) for admission. The page shows such messages
through
``ui.common.show_error``, which escapes them for Markdown, so a crafted link cannot format the page.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass, replace

import torch

from toolbox.dial.compiled import choose_backend
from toolbox.dial.config import MAX_AGENTS, METHODS, DialConfig
from toolbox.serving.admission import duration
from toolbox.serving.cost import nearest_row

MAX_SEEDS = 8
"""Seeds one page request may train."""
SHOWN_CHARS = 40
"""A link value is shown back cut to this many characters."""


def shown_value(raw: object, limit: int = SHOWN_CHARS) -> str:
    """``raw`` cut to ``limit`` characters (then "…"), whitespace runs and control characters
    turned into one space. Plain text: escaping for Markdown is the page's job (ui.text.plain)."""
    text = str(raw)
    cut = len(text) > limit
    text = re.sub(r"[\s\x00-\x1f\x7f]+", " ", text[:limit])
    return text + ("…" if cut else "")


def link_int(key: str, raw: str, lo: int, hi: int) -> int:
    """A whole number from ``lo`` to ``hi`` written in a link as ``key=raw``."""
    text = str(raw).strip()
    if not re.fullmatch(r"[+-]?\d{1,18}", text):
        raise ValueError(f"The link sets {key} = {shown_value(raw)}, which is not a whole number; "
                         f"{key} must be a whole number from {lo} to {hi}.")
    value = int(text)
    if not lo <= value <= hi:
        raise ValueError(
            f"The link sets {key} = {shown_value(raw)}, outside the range this page accepts "
            f"({lo} to {hi}).")
    return value


def link_float(key: str, raw: str, lo: float, hi: float) -> float:
    """A finite number from ``lo`` to ``hi`` written in a link as ``key=raw``."""
    try:
        value = float(str(raw)[:64])
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or len(str(raw)) > 64:
        raise ValueError(f"The link sets {key} = {shown_value(raw)}, which is not a number; "
                         f"{key} must be a number from {lo:g} to {hi:g}.")
    if not lo <= value <= hi:
        raise ValueError(
            f"The link sets {key} = {shown_value(raw)}, outside the range this page accepts "
            f"({lo:g} to {hi:g}).")
    return value


def link_choice(key: str, raw: str, options: tuple[str, ...]) -> str:
    """One of ``options`` written in a link as ``key=raw``."""
    if raw not in options:
        raise ValueError(
            f"The link sets {key} = {shown_value(raw)}, which is not one of: {', '.join(options)}.")
    return raw


def link_agents(raw: str) -> int:
    """The team size ``n`` from a link: a whole number from 2 to ``MAX_AGENTS``."""
    return link_int("n", raw, 2, MAX_AGENTS)


def lesson_configs(methods: list[str], n_agents: int, param_sharing: bool, input_mode: str,
                   n_batches: int, sigma: float, n_seeds: int) -> dict[str, DialConfig]:
    """One validated ``DialConfig`` per chosen method (the lesson's training request).

    Tests run every 20 batches for n = 3 (as the precomputed n = 3 curves) and every 50 otherwise.
    Raises ``ValueError`` for no method, a seed count outside 1..``MAX_SEEDS`` or any setting
    ``DialConfig.validate`` refuses.
    """
    if not methods:
        raise ValueError("Choose at least one method.")
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ValueError(f"Unknown method {unknown[0]!r}; choose from {', '.join(METHODS)}.")
    if not 1 <= n_seeds <= MAX_SEEDS:
        raise ValueError(f"Choose between 1 and {MAX_SEEDS} seeds; got {n_seeds}.")
    configs = {}
    for m in methods:
        cfg = DialConfig(n_agents=n_agents, method=m, param_sharing=param_sharing,
                         input_mode=input_mode, n_batches=n_batches, sigma=sigma,
                         test_every=20 if n_agents == 3 else 50)
        cfg.validate()
        configs[m] = cfg
    return configs


def job_key(configs: dict[str, DialConfig], n_seeds: int) -> str:
    """A stable name of a training request: equal for equal settings, whatever the order of
    methods."""
    return "dial:" + json.dumps({m: asdict(c) for m, c in configs.items()} | {"seeds": n_seeds},
                                sort_keys=True)


@dataclass(frozen=True)
class RequestCost:
    """What a training request costs here, from the measured table
    (toolbox/serving/cost_table.json).

    seconds: training time, one thread (the job runner's ``work`` for kind ``"dial"``); memory_mb:
    the peak memory it adds (seeds and methods train one after another, so the largest run's);
    backend: the path it takes (``"compiled"`` or ``"tensor"``, the readable one); advice: what to
    change to make it smaller.
    """

    seconds: float
    memory_mb: float
    backend: str
    advice: str

    def job_args(self) -> dict:
        """The job runner's ``work`` (seconds), ``memory_mb`` and ``advice`` for this request."""
        return {"work": self.seconds, "memory_mb": self.memory_mb, "advice": self.advice}

    def sentence(self) -> str:
        """What the page says before Train: time, memory and path."""
        path = ("compiled kernels" if self.backend == "compiled"
                else "readable PyTorch path (several times slower)")
        return (f"This request: {duration(self.seconds)} of training and about "
                f"{self.memory_mb:,.0f} MB on this server's {path}, as measured "
                "(benchmarks/job_costs.py).")


def _run_cost(cfg: DialConfig, backend: str) -> tuple[float, float]:
    """(seconds, MB) of one seed of ``cfg`` on ``backend``: batches and tests from the table's row
    for its team size (rounded up), parameter sharing and path, scaled by the episodes per batch."""
    row = nearest_row("dial", "n_agents", cfg.n_agents, param_sharing=cfg.param_sharing,
                      backend=backend)
    scale = cfg.batch_size / 32
    tests = cfg.n_batches // cfg.test_every + 2  # before training, every test_every, at the end
    seconds = (cfg.n_batches * row["batch_s"] * scale
               + tests * row["test_s"] * cfg.test_episodes / 1000)
    return seconds, row["peak_mb"] * max(scale, 1.0)


def request_cost(configs: dict[str, DialConfig], n_seeds: int, device=None,
                 backend: str = "auto") -> RequestCost:
    """Seconds and memory of a lesson request (one config per method, each with ``n_seeds`` seeds),
    on the path each config will take now (``toolbox.dial.compiled.choose_backend``: a config the
    compiled step does not cover, or a server still compiling its kernels, trains readable)."""
    if not configs:
        raise ValueError("Choose at least one method.")
    dev = torch.device(device) if device is not None else torch.device("cpu")
    seconds, memory, used = 0.0, 0.0, "compiled"
    for cfg in configs.values():
        path = choose_backend(cfg, dev, backend)
        s, mb = _run_cost(cfg, path)
        seconds += s * n_seeds
        memory = max(memory, mb)
        used = "tensor" if path == "tensor" else used
    cfg = next(iter(configs.values()))
    advice = "Use fewer agents, batches, seeds or methods."
    if cfg.input_mode != "sum" and cfg.param_sharing:
        summed = {m: replace(c, input_mode="sum") for m, c in configs.items()}
        other = request_cost(summed, n_seeds, device, backend)
        advice = (f"Use summed embeddings (the paper's input layer: {duration(other.seconds)}, "
                  f"about {other.memory_mb:,.0f} MB), or fewer agents, batches, seeds or methods.")
    if not cfg.param_sharing:
        shared = {m: replace(c, param_sharing=True) for m, c in configs.items()}
        other = request_cost(shared, n_seeds, device, backend)
        advice = (f"Turn parameter sharing on (one network for all agents: "
                  f"{duration(other.seconds)}, about {other.memory_mb:,.0f} MB), or use fewer "
                  "agents, batches, seeds or methods.")
    return RequestCost(seconds, memory, used, advice)
