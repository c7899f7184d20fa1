"""Ready check of every trainer's tensor/torch path on one device (the CUDA path), one line a check.

    python benchmarks/device_check.py                 # on cuda (sized for under 5 minutes)
    python benchmarks/device_check.py --device cpu    # the same checks on the CPU
    python benchmarks/device_check.py --device cpu --quick   # a subset in seconds (for the suite)

Checks, each printed as ``name  PASS|FAIL  seconds  detail``:

* ``ppo <case>``: the batched tensor PPO path equals the readable reference
  (toolbox/ppo/reference.py) for every toggle of the ablation menu over two iterations, on the
  device (the comparison of tests/ppo_paths.py, which tests/test_ppo_reference.py runs on the CPU);
* ``ppo train``/``ppo learns``: a batched training returns finite numbers; CartPole is learned;
* ``dial <variant>``/``dial learns``: the tensor loop (``backend="tensor"``) of every method and
  network layout trains and returns finite results; DIAL solves the Switch Riddle for n = 3;
* ``gumbel …``: Gumbel-max, Gumbel-Softmax and the gradient estimators on the device agree with π
  and with the same statistics on the CPU;
* ``influence …``: the influence reward equals the CPU's; REINFORCE with the bonus learns the stag
  hunt;
* ``page <path>``: every page of the app runs in Streamlit's AppTest with
  ``RL_TOOLBOX_DEVICE=<device>``, without an exception and computing on that device (no silent
  fall-back to the CPU; the home page's sidebar names the device).

The exit status is 1 when any check fails. ``--only WORD`` runs the checks whose name contains WORD.
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from tests.ppo_paths import CPU_TOLERANCES, Tolerances, cases, compare  # noqa: E402

# On the GPU both PPO paths run on the same device, but through other kernels than on the CPU and
# than each other: the tensor path's batched baddbmm against the reference's nn.Linear (addmm), for
# which cuBLAS picks its own tile and split-K orders per shape; exp/log/tanh within a few ulp
# rather than correctly rounded; the fused Adam against torch.optim.Adam's foreach step. That is
# the situation of the compiled CPU kernel (another summation order), so the buffers get its 1e-4
# in every iteration, and the logged debug values (means of differences of nearly equal numbers,
# e.g. approx_kl ≈ mean(logratio²)/2) 1e-3. TF32 is switched off for the comparison (main): TF32
# matmuls keep 10 mantissa bits, a relative error of ~1e-3 in every layer, which would hide a real
# difference at float32 rounding behind a tolerance 100x looser.
CUDA_TOLERANCES = Tolerances(first=1e-4, later=1e-4, debug_rtol=1e-3, debug_atol=1e-5)

QUICK_PPO = ("all on", "shared network", "time limits")
"""The PPO cases of ``--quick``: every toggle on, the one-network layout, every normalisation at
the time limit."""


@dataclass
class Outcome:
    name: str
    ok: bool
    seconds: float
    detail: str


def _finite(values, what: str) -> None:
    a = np.asarray(values, dtype=np.float64)
    if a.size == 0 or not np.all(np.isfinite(a)):
        raise AssertionError(f"{what} is empty or not finite: {a.ravel()[:6]}")


# -- PPO ------------------------------------------------------------------------------------------
def ppo_case(name: str) -> Callable[[torch.device], str]:
    def check(dev: torch.device) -> str:
        config, prepare = cases()[name]
        tol = CPU_TOLERANCES if dev.type == "cpu" else CUDA_TOLERANCES
        result = compare(config, prepare, device=dev, tol=tol)
        clipfrac = result.debug["clipfrac"][-1]
        return (f"2 iterations equal to the reference; clipfrac {clipfrac:.3f}, "
                f"{len(result.episode_returns)} episodes")
    return check


def ppo_train(dev: torch.device) -> str:
    from toolbox.ppo.config import PPOConfig
    from toolbox.ppo.train import train

    base = PPOConfig(num_steps=32, total_timesteps=3 * 128)
    configs = [base, base.replace(norm_obs=True, norm_reward=True)]
    results = train(configs, [0, 1], device=dev, backend="tensor")
    for r in results:
        for key, values in r.debug.items():
            if key != "explained_variance":  # NaN by definition while every return is equal
                _finite(values, f"seed {r.seed} {key}")
        _finite(r.episode_returns, f"seed {r.seed} episode returns")
    return f"{len(results)} runs x 3 iterations batched, finite losses and episode log"


def ppo_learns(dev: torch.device) -> str:
    """CleanRL's defaults, 100k steps, two seeds batched on the tensor path: the mean return of the
    last 10 episodes of each run far above a random policy's ~22 (tests/test_ppo_compiled.py asks >
    150 of one seed on the compiled path; rounding makes a GPU run another trajectory, so the bar
    here is 100 for each seed)."""
    from toolbox.ppo.config import PPOConfig
    from toolbox.ppo.train import train

    results = train(PPOConfig(total_timesteps=100_000), [1, 2], device=dev, backend="tensor")
    last = [float(np.mean(r.episode_returns[-10:])) for r in results]
    assert min(last) > 100, f"mean return of the last 10 episodes per seed {last}"
    return f"last-10 mean return per seed {', '.join(f'{x:.0f}' for x in last)} (random ~22)"


# -- DIAL -----------------------------------------------------------------------------------------
DIAL_VARIANTS = {
    "dial": {},
    "rial": dict(method="rial"),
    "nocomm": dict(method="nocomm"),
    "one net per agent": dict(param_sharing=False),
    "concat inputs": dict(input_mode="concat"),
}


def dial_variant(kw: dict) -> Callable[[torch.device], str]:
    def check(dev: torch.device) -> str:
        from toolbox.dial.config import DialConfig
        from toolbox.dial.train import train

        c = DialConfig(n_batches=4, test_every=2, test_episodes=200, batch_size=16, **kw)
        r = train(c, 0, device=dev, backend="tensor")
        assert r.backend == "tensor", r.backend
        assert torch.device(r.device).type == dev.type, r.device
        assert r.epochs == [0, 2, 4], r.epochs
        _finite(r.test_normalized_reward, "test rewards")
        assert next(r.policy.parameters()).device.type == dev.type, "the team is not on the device"
        if c.method != "nocomm":
            assert all(abs(sum(h) - 1) < 1e-5 for h in r.message_hist), "message histogram"
        return f"4 batches; test rewards {', '.join(f'{x:.2f}' for x in r.test_normalized_reward)}"
    return check


def dial_learns(dev: torch.device) -> str:
    """DIAL with the paper's settings on the torch loop, n = 3: the greedy test reaches 0.9 of the
    oracle within 600 batches (tests/test_dial.py asks 0.95 of the compiled CPU run of seed 0; a
    GPU draws other random numbers, so this is another run of the method, and the bar is a little
    lower)."""
    from toolbox.dial.config import DialConfig
    from toolbox.dial.train import train

    c = DialConfig(n_batches=600, test_every=25, test_episodes=500, stop_at=0.95)
    r = train(c, 0, device=dev, backend="tensor")
    best = max(r.test_normalized_reward)
    assert best >= 0.9, f"best test reward {best:.3f} after {r.batches_trained} batches"
    return f"test reward {best:.3f} after {r.batches_trained} batches"


# -- Gumbel ---------------------------------------------------------------------------------------
# Statistics on the device are compared with the same statistics on the CPU (other random numbers)
# and with the exact values, at Z standard errors: |difference| > 5 σ has probability 6e-7 per
# coordinate.
Z = 5.0


def _gen(dev: torch.device, seed: int) -> torch.Generator:
    return torch.Generator(device=dev).manual_seed(seed)


def gumbel_sampling(dev: torch.device, n: int) -> str:
    from toolbox import gumbel as G

    probs = torch.tensor([0.5, 0.3, 0.15, 0.05])
    worst = 1.0
    freqs = {}
    for d in (dev, torch.device("cpu")):
        ex = G.gumbel_max_experiment(torch.log(probs).to(d), n, _gen(d, 11))
        # a correct sampler's p-values are uniform: below 1e-4 once in 10,000 seeds
        p = ex.chi_square.p_value
        assert p > 1e-4, f"{d}: chi-square p = {p:.2e}, frequencies {ex.freqs}"
        worst = min(worst, ex.chi_square.p_value)
        freqs[d.type] = ex.freqs
    se = torch.sqrt(2 * probs.double() * (1 - probs.double()) / n)
    gap = ((freqs[dev.type] - freqs["cpu"]).abs() / se).max().item()
    assert gap < Z, f"device and CPU frequencies {gap:.1f} standard errors apart"
    r_dev, r_cpu = (G.relaxed_experiment(torch.log(probs).to(d), 0.5, n, _gen(d, 12))
                    for d in (dev, torch.device("cpu")))
    se_y = torch.sqrt((r_dev.samples.var(0) + r_cpu.samples.var(0)) / n)
    gap_y = ((r_dev.mean_sample - r_cpu.mean_sample).abs() / se_y).max().item()
    assert gap_y < Z, f"relaxed sample means {gap_y:.1f} standard errors apart"
    se_pi = torch.sqrt(probs.double() * (1 - probs.double()) / n)
    gap_argmax = ((r_dev.argmax_freqs - probs.double()).abs() / se_pi).max().item()
    assert gap_argmax < Z, f"argmax of relaxed samples {gap_argmax:.1f} standard errors from π"
    return (f"{n} draws: chi-square p >= {worst:.3f}; device vs CPU {gap:.1f} SE (Gumbel-max), "
            f"{gap_y:.1f} SE (Gumbel-Softmax mean)")


def gumbel_estimators(dev: torch.device, n: int) -> str:
    from toolbox import gumbel as G

    logits = torch.log(torch.tensor([0.5, 0.3, 0.2]))
    f = torch.tensor([1.0, 0.0, 2.0])
    runs = {d.type: G.compare_estimators(logits.to(d), f.to(d), 0.5, n, _gen(d, 13))
            for d in (dev, torch.device("cpu"))}
    a, b = runs[dev.type], runs["cpu"]
    torch.testing.assert_close(a.exact, b.exact, rtol=1e-5, atol=1e-6)
    worst, name_worst = 0.0, ""
    for name in a.rows:
        ra, rb = a.rows[name], b.rows[name]
        se = torch.sqrt(ra.se ** 2 + rb.se ** 2).clamp(min=1e-12)
        gap = ((ra.mean - rb.mean).abs() / se).max().item()
        if gap > worst:
            worst, name_worst = gap, name
        assert gap < Z, f"{name}: device and CPU means {gap:.1f} standard errors apart"
        if name in G.UNBIASED:
            assert ra.bias < Z * ra.mc_error + 1e-9, (
                f"{name}: bias {ra.bias:.3g} > {Z} x Monte Carlo error {ra.mc_error:.3g}")
    return (f"{len(a.rows)} estimators, {n} samples: device vs CPU within {worst:.1f} SE "
            f"({name_worst or 'all equal'})")


# -- influence ------------------------------------------------------------------------------------
def influence_reward(dev: torch.device) -> str:
    from toolbox import influence as inf

    gen = torch.Generator().manual_seed(0)
    pi_i = torch.softmax(torch.randn(4, generator=gen), -1).double()
    pi_j = torch.softmax(torch.randn(4, 3, generator=gen), -1).double()
    on_dev = inf.influence_rewards(pi_i, pi_j, device=dev)
    assert on_dev.device.type == dev.type, f"result on {on_dev.device}"
    on_cpu = inf.influence_rewards(pi_i, pi_j, device="cpu")
    torch.testing.assert_close(on_dev.cpu(), on_cpu, rtol=1e-9, atol=1e-12)
    mi = float(inf.mutual_information(pi_i, pi_j, device=dev))
    return f"influence rewards equal to the CPU's; I(a^i; a^j) = {mi:.4f} nats"


def influence_learns(dev: torch.device, iterations: int) -> str:
    """The stag hunt of tests/test_influence.py on the device: without the bonus i settles on hare
    (return 3); with β = 0.5 j learns to follow stag (return above 3.6) and the pair stays mutually
    informative."""
    from toolbox import influence as inf

    base = dict(game="stag hunt", n_seeds=8, iterations=iterations, seed=0)
    plain = inf.train_influence_game(inf.InfluenceTrainConfig(beta=0.0, **base), device=dev)
    bonus = inf.train_influence_game(inf.InfluenceTrainConfig(beta=0.5, **base), device=dev)
    for r in (plain, bonus):
        _finite(r.extrinsic_i, "extrinsic return")
        _finite(r.mutual_information, "mutual information")
    if iterations < 600:
        return f"{iterations} updates x 8 seeds, finite curves"
    ret_plain, ret_bonus = plain.extrinsic_i[:, -1].mean(), bonus.extrinsic_i[:, -1].mean()
    mi_bonus = bonus.mutual_information[:, -1].mean()
    assert ret_plain < 3.1 and ret_bonus > 3.6 and mi_bonus > 0.2, (ret_plain, ret_bonus, mi_bonus)
    return (f"return {ret_plain:.2f} without the bonus, {ret_bonus:.2f} with it "
            f"(MI {mi_bonus:.2f} nats)")


# -- pages ----------------------------------------------------------------------------------------
def page(path: str) -> Callable[[torch.device], str]:
    def check(dev: torch.device) -> str:
        from tests.apptest_helpers import open_page
        from toolbox.device import ENV_VAR, device_label
        from ui.common import page_device

        # Streamlit warns of a missing script context for every call made outside a running page
        logger = "streamlit.runtime.scriptrunner_utils.script_run_context"
        logging.getLogger(logger).setLevel(logging.ERROR)
        before = os.environ.get(ENV_VAR)
        os.environ[ENV_VAR] = str(dev)
        try:
            # an unusable override makes the pages compute on the CPU (with a sidebar error): not a
            # pass
            used = page_device()
            assert used == dev, f"with {ENV_VAR}={dev} the pages compute on {used}"
            at = open_page(path, timeout=120)
        finally:
            if before is None:
                os.environ.pop(ENV_VAR, None)
            else:
                os.environ[ENV_VAR] = before
        assert len(at.title) >= 1, "the page has no title"
        label = device_label(dev)
        if path == "app_pages/home.py":  # AppTest keeps app.py's sidebar on the first page only
            problems = [e.value for e in at.sidebar.error]
            assert not problems, f"sidebar: {problems}"
            sidebar = " ".join(str(m.value) for m in at.sidebar.markdown)
            assert label in sidebar, f"the sidebar does not name {label}: {sidebar[:120]}"
        return f"no exception; computes on {label}"
    return check


def all_pages() -> list[str]:
    from toolbox.lessons import LESSONS

    return ["app_pages/home.py"] + [lesson.page_path for lesson in LESSONS]


# -- running --------------------------------------------------------------------------------------
def checks(quick: bool) -> list[tuple[str, Callable[[torch.device], str]]]:
    """The (name, check) pairs to run: every check, or the ``--quick`` subset."""
    ppo = [n for n in cases() if not quick or n in QUICK_PPO]
    out = [(f"ppo {n}", ppo_case(n)) for n in ppo]
    out.append(("ppo train", ppo_train))
    if not quick:
        out.append(("ppo learns", ppo_learns))
    dial = ["dial", "one net per agent"] if quick else list(DIAL_VARIANTS)
    out += [(f"dial {n}", dial_variant(DIAL_VARIANTS[n])) for n in dial]
    if not quick:
        out.append(("dial learns", dial_learns))
    n = 20_000 if quick else 200_000
    out.append(("gumbel sampling", lambda d: gumbel_sampling(d, n)))
    out.append(("gumbel estimators", lambda d: gumbel_estimators(d, n)))
    out.append(("influence reward", influence_reward))
    its = 60 if quick else 600
    name = "influence train" if quick else "influence learns"
    out.append((name, lambda d: influence_learns(d, its)))
    pages = ["app_pages/home.py"] if quick else all_pages()
    out += [(f"page {p}", page(p)) for p in pages]
    return out


def environment(dev: torch.device) -> list[str]:
    """Lines describing the machine: device name, torch, CUDA and cuDNN versions, numpy, Python."""
    from toolbox.device import device_label

    cudnn = torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None
    lines = [f"device: {dev} ({device_label(dev)})",
             f"torch {torch.__version__}, CUDA {torch.version.cuda or 'none'}, "
             f"cuDNN {cudnn or 'none'}, "
             f"numpy {np.__version__}, Python {platform.python_version()}, {platform.machine()}",
             f"torch threads {torch.get_num_threads()}, "
             f"TF32 matmul {torch.backends.cuda.matmul.allow_tf32}, "
             f"TF32 cuDNN {torch.backends.cudnn.allow_tf32}"]
    if dev.type == "cuda":
        p = torch.cuda.get_device_properties(dev)
        lines.append(f"GPU: {p.name}, {p.total_memory / 2**30:.0f} GiB, "
                     f"compute capability {p.major}.{p.minor}")
    return lines


def run(dev: torch.device, selected, verbose: bool = False, out=print) -> list[Outcome]:
    """Run ``selected`` (name, check) pairs on ``dev``; print one line each as it finishes."""
    outcomes = []
    width = max(len(n) for n, _ in selected)
    for name, check in selected:
        t0 = time.perf_counter()
        try:
            detail = check(dev)
            if dev.type == "cuda":
                torch.cuda.synchronize(dev)
            ok = True
        except Exception as err:  # a failing check is reported and the others still run
            ok = False
            text = str(err).strip().splitlines()
            detail = f"{type(err).__name__}: {text[0][:160] if text else ''}"
            if verbose:
                traceback.print_exc()
        o = Outcome(name, ok, time.perf_counter() - t0, detail)
        outcomes.append(o)
        verdict = "PASS" if ok else "FAIL"
        out(f"{name:<{width}}  {verdict}  {o.seconds:7.2f} s  {detail}", flush=True)
    return outcomes


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda", help="cuda (default), cuda:N or cpu")
    ap.add_argument("--quick", action="store_true",
                    help="a subset with short runs (seconds, for the test suite)")
    ap.add_argument("--only", default=None,
                    help="run only the checks whose name contains this text")
    ap.add_argument("--verbose", action="store_true", help="print the traceback of a failing check")
    ap.add_argument("--threads", type=int, default=1,
                    help="torch CPU threads (default 1, as the suite and the server's trainings)")
    args = ap.parse_args(argv)

    from toolbox.device import resolve_device

    try:
        dev = resolve_device(args.device)
    except ValueError as err:
        print(f"device_check: {err}", file=sys.stderr)
        return 2
    # One CPU thread by default: the checks are thousands of tiny tensor ops, and on a loaded 2-core
    # machine OpenMP's threads waiting for each other made the CPU run 9x slower with 2 (ppo learns:
    # 339 s against 37 s with 1; tests/conftest.py and toolbox.device say the same of the suite).
    torch.set_num_threads(max(1, args.threads))
    # see CUDA_TOLERANCES: the comparisons are made at float32 rounding, not at TF32's
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    selected = [(n, c) for n, c in checks(args.quick) if args.only is None or args.only in n]
    if not selected:
        print(f"device_check: no check name contains {args.only!r}", file=sys.stderr)
        return 2
    for line in environment(dev):
        print(line)
    t0 = time.perf_counter()
    outcomes = run(dev, selected, args.verbose)
    failed = [o.name for o in outcomes if not o.ok]
    passed = len(outcomes) - len(failed)
    print(f"{passed}/{len(outcomes)} passed in {time.perf_counter() - t0:.1f} s"
          + (f"; failed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    status = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # The page checks import the app, which compiles the CPU kernels in a background thread
    # (ui/preload.py); an ordinary interpreter exit while that thread is inside the compiler aborts
    # the process ("terminate called without an active exception", SIGABRT) and loses the status.
    # Nothing is left to write: leave now.
    os._exit(status)
