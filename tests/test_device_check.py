"""benchmarks/device_check.py, the GPU ready check, keeps working: its quick mode passes on the CPU
(and on CUDA where a GPU is present), and it reports a failing check with a non-zero exit
status."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch

from tests.apptest_helpers import ROOT

SCRIPT = str(ROOT / "benchmarks" / "device_check.py")


def _run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, SCRIPT, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)


def _lines(out: str) -> dict[str, str]:
    """Check name -> PASS/FAIL from the script's one-line-per-check output."""
    found = {}
    for line in out.splitlines():
        parts = line.split("  ")
        words = [p.strip() for p in parts if p.strip()]
        if len(words) >= 3 and words[1] in ("PASS", "FAIL") and words[2].endswith(" s"):
            found[words[0]] = words[1]
    return found


@pytest.mark.slow
def test_quick_check_passes_on_the_cpu():
    proc = _run("--device", "cpu", "--quick")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    status = _lines(proc.stdout)
    # every kind of check ran: PPO against the reference, DIAL's torch loop, Gumbel, influence, a
    # page
    for prefix in ("ppo all on", "ppo time limits", "dial dial", "gumbel sampling",
                   "gumbel estimators", "influence", "page app_pages/home.py"):
        assert any(name.startswith(prefix) for name in status), (prefix, proc.stdout)
    assert set(status.values()) == {"PASS"}
    assert "torch " in proc.stdout and "passed in" in proc.stdout


def test_a_failing_check_gives_a_non_zero_exit_status(monkeypatch):
    """The script's runner marks a raising check FAIL and main's status follows (in-process: a
    broken check is injected rather than a broken toolbox)."""
    from benchmarks import device_check as dc

    def broken(dev):
        raise AssertionError("deliberately wrong")

    lines = []
    outcomes = dc.run(torch.device("cpu"), [("fine", lambda d: "ok"), ("broken", broken)],
                      out=lambda text, flush=False: lines.append(text))
    assert [o.ok for o in outcomes] == [True, False]
    assert "FAIL" in lines[1] and "deliberately wrong" in lines[1]
    monkeypatch.setattr(dc, "checks", lambda quick: [("broken", broken)])
    assert dc.main(["--device", "cpu"]) == 1
    assert dc.main(["--device", "cpu", "--only", "nothing-matches"]) == 2


@pytest.mark.slow
@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_without_a_gpu_is_refused_with_a_reason():
    proc = _run("--device", "cuda", timeout=60)
    assert proc.returncode == 2 and "no usable CUDA" in proc.stderr


@pytest.mark.slow
@pytest.mark.skipif(not torch.cuda.is_available(),
                    reason="needs a CUDA GPU (torch.cuda.is_available() is False)")
def test_quick_check_passes_on_cuda():
    proc = _run("--device", "cuda", "--quick", timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr


# -- device placement, checked without a GPU ------------------------------------------------------
@pytest.fixture
def meta_allowed(monkeypatch):
    """Let the environment and the running statistics be built on PyTorch's ``meta`` device
    (shapes, no data), which ``toolbox.device.resolve_device`` refuses to users."""
    import toolbox.envs.cartpole as cartpole
    import toolbox.running_stats as running_stats
    from toolbox.device import resolve_device

    def resolve(spec=None):
        return torch.device("meta") if str(spec) == "meta" else resolve_device(spec)

    for module in (cartpole, running_stats):
        monkeypatch.setattr(module, "resolve_device", resolve)
    return torch.device("meta")


def test_ppo_group_computes_on_its_device_without_host_reads(meta_allowed):
    """A group built on ``meta`` runs its rollout, advantages and update: a tensor made on the CPU
    by mistake meets a meta tensor and raises (as it would meet a CUDA one), and any read of a
    value back to the host (``.item()``, ``bool()``, ``.tolist()``), which stalls a GPU, raises
    too. The advantage normalisation's finiteness check did such a read on every minibatch."""
    from toolbox.ppo.config import PPOConfig
    from toolbox.ppo.group import Group

    base = PPOConfig(num_steps=8, total_timesteps=2 * 8 * 4)
    for config in (base, base.replace(norm_obs=True, norm_reward=True, bootstrap_truncation=True,
                                      shared_network=True)):
        g = Group([config, config.replace(ent_coef=0.0, norm_adv=False)], [0, 1], meta_allowed)
        # the step is torch.optim.Adam's own (fused on CUDA: no host read), which meta cannot run
        steps = []
        g.optimizer.step = lambda: steps.append(1)
        g.rollout()
        g.compute_advantages()
        g.iteration = 1
        g.update()
        for t in (g.theta, g.advantages, g.grad, g.debug["value_loss"][-1]):
            assert t.device == meta_allowed
        assert steps, "the update took no optimizer step"
    with pytest.raises(RuntimeError, match="meta"):  # the fixture really detects a host read
        bool(torch.zeros((), device=meta_allowed))


def test_influence_training_takes_the_device_names_every_trainer_takes():
    """``"auto"`` (and None) resolve as in toolbox.device; it was passed to ``torch.device`` and
    rejected."""
    from toolbox import influence as inf

    cfg = inf.InfluenceTrainConfig(n_seeds=2, iterations=20, record_every=10)
    auto = inf.train_influence_game(cfg, device="auto")
    on = inf.train_influence_game(cfg, device="cuda" if torch.cuda.is_available() else "cpu")
    np.testing.assert_array_equal(auto.extrinsic_i, on.extrinsic_i)
    with pytest.raises(ValueError, match="not a device"):
        inf.train_influence_game(cfg, device="gpu")
