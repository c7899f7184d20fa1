"""The downloadable continuous PPO script: generated from the readable reference's source, every
variant compiles with its settings as defaults and imports only torch, numpy, gymnasium and the
standard library, it computes the reference's numbers, it learns at the page's budget."""

from __future__ import annotations

import json
import math
import sys

import numpy as np
import pytest
import torch

from tests.test_ppo_script import _args_defaults, _imported_modules, _run_script
from toolbox.envs.pendulum import BatchedPendulum
from toolbox.lessons.ppo import inline
from toolbox.lessons.ppo_continuous import script as script_module
from toolbox.lessons.ppo_continuous.data import DETAILS, label, variant_args
from toolbox.lessons.ppo_continuous.script import (
    FINAL,
    GymnasiumPendulum,
    load_check,
    script_filename,
    script_note,
    standalone_script,
)
from toolbox.ppo.continuous import reference
from toolbox.ppo.continuous.args import CONTINUOUS_DETAILS, CORE_TOGGLES, PENDULUM, Args

VARIANTS = [None, *DETAILS]
"""The variants the page offers: "all on" and each detail off."""


@pytest.mark.parametrize("detail", VARIANTS, ids=lambda d: d or "all_on")
def test_every_variant_compiles_with_its_settings_and_imports_only_torch_numpy_gymnasium(detail):
    args, name = variant_args(detail), label(detail)
    src = standalone_script(args, name)
    compile(src, script_filename(name), "exec")
    defaults = _args_defaults(src)
    assert defaults.pop("seed") == 1 and defaults.pop("env_id") == "Pendulum-v1"
    assert defaults.pop("save_json") == ""
    assert defaults == args.to_dict()
    imported = _imported_modules(src)
    assert imported - set(sys.stdlib_module_names) == {"torch", "numpy", "gymnasium"}, imported
    head = src.split('"""')[1]  # the module docstring: which variant, which budget
    assert f"in one file: {name}." in head and "Budget: 102,400 environment steps" in head
    if detail is not None:
        assert f"{detail} = {getattr(args, detail)!r}" in " ".join(head.split())
    assert 'gym.make(env_id)' in src and "SyncVectorEnv" in src


def test_the_script_is_the_reference_source():
    """Every line of the readable reference's classes and functions is in the script (markers
    gone, names renamed, one call rewritten: the environment), and so is every line of the
    functions it calls from the loss and the Gaussian policy."""
    src = standalone_script(PENDULUM, "all on")
    lines = {line.strip() for line in src.splitlines()}
    m = inline.read_module(script_module.REFERENCE)
    names = ["ReferencePPO", "Agent", "Observe", "ppo_loss", "entropy_loss", "clip_to_env"]
    texts = [(n, m, script_module._use_gymnasium(m.name, n, inline.definition_text(m, m.defs[n])))
             for n in names]
    for module, defs in (("toolbox.ppo.loss", ("gae", "pg_loss", "v_loss", "kl_and_clipfrac")),
                         ("toolbox.ppo.continuous.policy", ("gaussian_log_prob",
                                                            "gaussian_sample"))):
        other = inline.read_module(module)
        texts += [(n, other, inline.definition_text(other, other.defs[n])) for n in defs]
    for name, _, text in texts:
        text = script_module._UNMARK.sub("# ", inline.plain_roles(
            inline.rewrite_names(text, {}, frozenset({"rng"}))))
        for line in text.splitlines():
            assert line.strip() in lines, (name, line)
    assert "self.envs = GymnasiumPendulum(args.env_id, E, seed, device=device)" in src
    assert "[detail:" not in src and "[/detail:" not in src and "step_fast" not in src
    assert not [line for line in src.splitlines()
                if line.lstrip().startswith(("import toolbox", "from toolbox", "import numba"))]
    for field in (*CORE_TOGGLES, *CONTINUOUS_DETAILS):
        assert f"args.{field}" in src, field


def test_a_change_of_the_reference_changes_the_script(monkeypatch):
    original = inline.module_source

    def edited(name):
        text = original(name)
        if name == script_module.REFERENCE:
            assert text.count("env_action = clip_to_env(action)\n") == 1
            text = text.replace("env_action = clip_to_env(action)\n",
                                "env_action = clip_to_env(action)  # a new remark\n")
        return text

    monkeypatch.setattr(inline, "module_source", edited)
    script_module.script_parts.cache_clear()
    try:
        assert "env_action = clip_to_env(action)  # a new remark" in standalone_script(PENDULUM)
    finally:
        monkeypatch.undo()
        script_module.script_parts.cache_clear()
    assert "# a new remark" not in standalone_script(PENDULUM)


def test_bad_settings_and_names():
    with pytest.raises(ValueError, match="must divide"):
        standalone_script(PENDULUM.replace(num_minibatches=3))
    with pytest.raises(ValueError, match="Args"):
        standalone_script({"num_envs": 4})
    with pytest.raises(ValueError, match="seed"):
        standalone_script(PENDULUM, seed=-1)
    assert script_filename("all on") == "ppo_continuous_all_on.py"
    assert (script_filename(label("norm_obs"))
            == "ppo_continuous_norm_obs_off_raw_observations.py")
    src = standalone_script(PENDULUM, name='bad """ name \\')
    compile(src, "x.py", "exec")


def test_the_pages_note_names_the_file_the_budget_and_the_measured_returns():
    note = script_note(PENDULUM, "all on", None)
    assert "ppo_continuous_all_on.py" in note and "102,400 steps" in note
    check = {"meta": {"date": "2026-12-04"}, "runs": [
        {"variant": "all on", "seed": s, "final_last32": f, "cpu_seconds": 40.0, "seconds": 60.0}
        for s, f in ((1, -812.3), (2, -640.0))]}
    assert "average −812 to −640 (seeds 1, 2)" in script_note(PENDULUM, "all on", check)
    assert "measured for “all on”" in script_note(PENDULUM, label("gae"), check)
    stored = load_check()
    if stored is not None:  # the stored runs: "all on" learns at the page's budget
        finals = [r["final_last32"] for r in stored["runs"] if r["variant"] == "all on"]
        assert stored["meta"]["budget"] == PENDULUM.total_timesteps and len(finals) >= 3
        assert np.mean(finals) > -1000, finals


def test_gymnasium_pendulum_behaves_as_the_toolbox_pendulum():
    """The script's only hand-written piece of the PPO run, :class:`GymnasiumPendulum`, gives what
    ``BatchedPendulum.step_fast`` gives from the same states: the same observations, rewards and
    flags (dtypes included), through torques outside [−2, 2] and two truncations at 200 steps.
    The toolbox's state is set to Gymnasium's before every step, and the tolerances are
    tests/test_pendulum.py's, argued there: observations to 1e-6 (float32), rewards to 1e-9
    (NumPy's scalar ``powf`` of the float32 torque may differ by one float32 ulp), flags
    exactly."""
    n = 3
    gym_envs = GymnasiumPendulum("Pendulum-v1", n, seed=5)
    bat = BatchedPendulum(n, device="cpu", seed=0)
    assert (gym_envs.action_low, gym_envs.action_high) == (bat.action_low, bat.action_high)
    low, high = gym_envs.envs.single_action_space.low, gym_envs.envs.single_action_space.high
    assert (float(low[0]), float(high[0])) == (bat.action_low, bat.action_high)
    gym_obs = gym_envs.reset()
    rs = np.random.default_rng(0)
    truncations = 0
    for _ in range(420):
        states = [e.unwrapped.state for e in gym_envs.envs.envs]
        bat.state = torch.tensor(np.stack(states), dtype=torch.float64)
        torch.testing.assert_close(gym_obs, torch.stack(
            (bat.state[:, 0].cos(), bat.state[:, 0].sin(), bat.state[:, 1]), -1).float(),
            rtol=0, atol=1e-6)
        actions = torch.tensor(rs.uniform(-3, 3, (n, 1)), dtype=torch.float32)
        gym_out, bat_out = gym_envs.step(actions), bat.step_fast(actions)
        assert all(a.dtype == b.dtype for a, b in zip(gym_out[:4], bat_out[:4]))
        torch.testing.assert_close(gym_out[1], bat_out[1], rtol=0, atol=1e-9)
        assert torch.equal(gym_out[2], bat_out[2]) and torch.equal(gym_out[3], bat_out[3])
        ended = gym_out[3]
        truncations += int(ended.any())
        torch.testing.assert_close(gym_out[0][~ended], bat_out[0][~ended], rtol=0, atol=1e-6)
        gym_obs = gym_out[0]
    gym_envs.close()
    assert truncations == 2


EQUAL_CASES = {
    "all on": PENDULUM.replace(total_timesteps=4096),
    "every toggle flipped": PENDULUM.replace(
        total_timesteps=4096, target_kl=0.002,
        **{f: not getattr(PENDULUM, f) for f in (*CORE_TOGGLES, *CONTINUOUS_DETAILS)}),
    "log sigma(s) head, correlated": Args(
        total_timesteps=2048, num_envs=4, num_steps=128, num_minibatches=4, update_epochs=3,
        gamma=0.9, learning_rate=1e-3, state_independent_std=False, independent_actions=False,
        clip_action=False, shared_network=True),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", list(EQUAL_CASES))
def test_script_computes_the_reference_numbers(case, tmp_path, monkeypatch):
    """The generated script, run as a student runs it (a clean interpreter that cannot import the
    toolbox), computes exactly the numbers of ``toolbox/ppo/continuous/reference.py`` with the
    same settings and seed: every episode's return and end step, every iteration's debug values
    (losses, entropy, KL, clip fraction, gradient norm) — so its first iteration starts from the
    reference's parameters and its every update is the reference's.

    Why the reference runs here on the script's environment: the script trains on Gymnasium's own
    Pendulum, whose resets draw from Gymnasium's seeded generator, while the toolbox's
    ``BatchedPendulum`` draws them from the run's hash streams. Their dynamics are equal step by
    step (tests/test_pendulum.py and the test above), but episodes would start from other
    states. Everything else — initialization, action noise, shuffles, normalizations, GAE, loss,
    update — is the reference's own code on both sides (the random streams are copied into the
    script), so the numbers are equal bit for bit: same operations, same order, same machine, one
    torch thread. A tolerance would hide a changed constant."""
    args, seed = EQUAL_CASES[case], 7

    class Stepped(GymnasiumPendulum):
        step_fast = GymnasiumPendulum.step

    def gymnasium_pendulum(num_envs, device=None, env_keys=None):
        return Stepped("Pendulum-v1", num_envs, seed, device=device)

    monkeypatch.setattr(reference, "BatchedPendulum", gymnasium_pendulum)
    run = reference.ReferencePPO(args, seed)
    debug = [run.run_iteration() for _ in range(args.num_iterations)]
    run.envs.close()

    path = tmp_path / script_filename(case)
    path.write_text(standalone_script(args, case, seed=seed))
    out = _run_script(path, "--save-json", "run.json", cwd=tmp_path)
    assert f"step {args.total_timesteps:>7}" in out.stdout
    final = FINAL.search(out.stdout)
    assert final is not None and float(final[1]) == pytest.approx(
        np.mean(run.episode_returns[-32:]), abs=0.06)
    got = json.loads((tmp_path / "run.json").read_text())

    assert len(run.episode_returns) >= 8, "the runs should finish a few episodes"
    assert got["episode_returns"] == run.episode_returns
    assert got["episode_steps"] == run.episode_steps
    assert len(got["debug"]) == len(debug) == args.num_iterations
    for it, (theirs, ours) in enumerate(zip(got["debug"], debug)):
        assert set(theirs) == set(ours)
        for key, value in ours.items():
            same = theirs[key] == value or (math.isnan(theirs[key]) and math.isnan(value))
            assert same, (case, it, key, theirs[key], value)


# That the script learns at the page's budget (102,400 steps, ≈ 30 s of CPU a run) is measured by
# benchmarks/ppo_continuous_script_check.py (results/ppo_continuous_script_check.json, seeds 1-5:
# −907 to −683 against random torques' ≈ −1,250), not here: the test above proves the script
# computes the reference's numbers bit for bit, and tests/test_ppo_continuous_compiled.py that the
# algorithm, proven equal to the reference there, learns.


def test_another_task_is_refused_with_what_to_change():
    """The script's ``--env-id`` reaches ``gym.make``; a task with other spaces than Pendulum's
    stops with a sentence naming the constants to change, not a shape error deep in training."""
    with pytest.raises(SystemExit, match="written for Pendulum-v1.*change OBS_DIM, ACT_DIM"):
        GymnasiumPendulum("MountainCarContinuous-v0", 2, seed=0)
    GymnasiumPendulum("Pendulum-v1", 2, seed=0).close()
