"""The downloadable standalone PPO script: generated from the readable reference's source, every
variant compiles with its settings as defaults, it computes the reference's numbers, it learns."""

from __future__ import annotations

import ast
import json
import math
import os
import subprocess
import sys
from dataclasses import fields

import numpy as np
import pytest
import torch

from toolbox.envs.cartpole import BatchedCartPole
from toolbox.lessons.ppo import inline
from toolbox.lessons.ppo import script as script_module
from toolbox.lessons.ppo.script import (
    GymnasiumCartPole,
    field_docs,
    script_filename,
    standalone_script,
)
from toolbox.lessons.ppo.variants import variants
from toolbox.ppo import reference
from toolbox.ppo.config import PPOConfig

TOGGLES = ("anneal_lr", "gae", "norm_adv", "clip_surrogate", "clip_vloss", "clip_grad",
           "shared_network", "orthogonal_init", "norm_obs", "norm_reward", "bootstrap_truncation")
NAMED_IFS = ("anneal_lr", "gae", "norm_adv", "clip_grad", "shared_network", "norm_obs",
             "norm_reward", "bootstrap_truncation")
"""Toggles the reference writes as ``if config.<name>:`` (the loss's ``clip_surrogate`` and
``clip_vloss`` are ``torch.where`` on the flag, so that many runs can be trained at once;
``orthogonal_init`` is an ``if`` inside ``layer_init``)."""
NO_TOOLBOX = ("import runpy, sys; sys.modules['toolbox'] = None; sys.modules['numba'] = None; "
              "sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')")
"""Runs a script with ``import toolbox`` (and Numba) made impossible: ``python -I -c NO_TOOLBOX
script.py args…`` (``-I``: no PYTHONPATH, no user site, no current directory on ``sys.path``)."""


def _args_defaults(src: str) -> dict:
    """``{field: default}`` of the script's ``Args`` dataclass, read from its syntax tree."""
    cls = next(n for n in ast.parse(src).body if isinstance(n, ast.ClassDef) and n.name == "Args")
    return {n.target.id: ast.literal_eval(n.value) for n in cls.body
            if isinstance(n, ast.AnnAssign)}


def _imported_modules(src: str) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(src)):
        if isinstance(node, ast.Import):
            out |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            out.add(node.module.split(".")[0])
    return out


def _run_script(path, *options, cwd, timeout=240) -> subprocess.CompletedProcess:
    run = subprocess.run([sys.executable, "-I", "-c", NO_TOOLBOX, str(path), *options],
                         capture_output=True, text=True, timeout=timeout, cwd=cwd, check=False,
                         env=dict(os.environ))  # one torch thread: set in tests/conftest.py
    assert run.returncode == 0, run.stderr[-3000:]
    return run


@pytest.mark.parametrize("name", list(variants()))
def test_every_variant_compiles_and_its_defaults_are_the_toggles(name):
    config = variants()[name]
    src = standalone_script(config, name)
    compile(src, script_filename(name), "exec")
    defaults = _args_defaults(src)
    assert defaults.pop("seed") == 1 and defaults.pop("env_id") == "CartPole-v1"
    assert defaults.pop("save_json") == ""
    assert defaults == config.to_dict()
    imported = _imported_modules(src)
    assert imported - set(sys.stdlib_module_names) == {"torch", "numpy", "gymnasium"}, imported


def test_the_script_is_the_reference_source_with_config_named_args():
    """Every line of the reference's ``ReferencePPO``, ``Agent`` and ``layer_init`` and of the loss
    is in the script, with ``config`` read as ``args`` (markers gone; one line rewritten: the
    environment)."""
    src = standalone_script(PPOConfig())
    lines = {line.strip() for line in src.splitlines()}
    for module in ("toolbox.ppo.reference", "toolbox.ppo.loss"):
        m = inline.read_module(module)
        for name in ("ReferencePPO", "Agent", "layer_init") if "reference" in module else m.defs:
            text = inline.plain_roles(inline.rewrite_names(
                inline.definition_text(m, m.defs[name]), script_module.RENAMES, frozenset({"rng"})))
            open_parens = 0  # the rewritten environment call may span several lines
            for line in text.splitlines():
                if "BatchedCartPole(" in line or open_parens > 0:
                    assert "GymnasiumCartPole(args.env_id, E, seed, device=device)" in src
                    open_parens += line.count("(") - line.count(")")
                    continue
                assert line.strip() in lines, (name, line)
    assert "[detail:" not in src and "[/detail:" not in src
    assert not [line for line in src.splitlines()
                if line.lstrip().startswith(("import toolbox", "from toolbox"))]
    for f in TOGGLES:
        assert f"args.{f}" in src, f
    for f in NAMED_IFS:
        assert f"if args.{f}" in src, f
    assert "if args.target_kl is not None and approx_kl > args.target_kl:" in src
    for line in ("def layer_init(", "def get_value(", "def get_action_and_value(",
                 "loss = L.total_loss(pg_loss, v_loss, entropy_loss, args.ent_coef, args.vf_coef)",
                 "loss = pg_loss - ent_coef * entropy_loss + v_loss * vf_coef",
                 "eps=args.adam_eps)", "gym.make(env_id)"):
        assert line in src, line


def test_a_change_of_the_reference_changes_the_script(monkeypatch):
    original = inline.module_source

    def edited(name):
        text = original(name)
        if name == "toolbox.ppo.reference":
            assert text.count("clip_coef = config.clip_coef\n") == 1
            text = text.replace("clip_coef = config.clip_coef\n",
                                "clip_coef = config.clip_coef  # a new remark\n")
        return text

    monkeypatch.setattr(inline, "module_source", edited)
    script_module.script_parts.cache_clear()
    try:
        assert "clip_coef = args.clip_coef  # a new remark" in standalone_script(PPOConfig())
    finally:
        monkeypatch.undo()
        script_module.script_parts.cache_clear()
    assert "# a new remark" not in standalone_script(PPOConfig())


def test_names_are_rewritten_in_code_only_and_locals_are_not_module_names():
    text = ('def f(config, x):\n'
            '    """config stays here; rng.uniform too"""\n'
            '    y = rng.uniform(config.seed)  # config in a comment stays\n'
            '    return self.rng.a, pg_loss(y), x\n')
    assert inline.rewrite_names(text, {"config": "args"}, frozenset({"rng"})) == (
        'def f(args, x):\n'
        '    """config stays here; rng.uniform too"""\n'
        '    y = uniform(args.seed)  # config in a comment stays\n'
        '    return self.rng.a, pg_loss(y), x\n')
    free = {n.id for n in inline.free_names(ast.parse(text)) if isinstance(n, ast.Name)}
    assert free == {"rng", "self", "pg_loss"}  # not the parameters nor y


def test_args_fields_carry_the_config_docstrings():
    docs = field_docs()
    assert set(docs) == {f.name for f in fields(PPOConfig)}
    src = standalone_script(PPOConfig())
    assert f'"""{docs["clip_vloss"]}"""' in src


def test_bad_settings_and_names():
    with pytest.raises(ValueError, match="does not divide"):
        standalone_script(PPOConfig(num_minibatches=3))
    with pytest.raises(ValueError, match="PPOConfig"):
        standalone_script({"num_envs": 4})
    assert script_filename("no GAE (MC returns)") == "ppo_no_gae_mc_returns.py"
    assert script_filename('"""; import os') == "ppo_import_os.py"
    src = standalone_script(PPOConfig(), name='bad """ name \\')
    compile(src, "x.py", "exec")


def test_gymnasium_cartpole_behaves_as_the_toolbox_cartpole():
    """The script's only hand-written piece of the PPO run, :class:`GymnasiumCartPole`, gives what
    ``BatchedCartPole`` gives from the same states: the same observations, rewards, flags and
    ``final_obs`` (dtypes included), through terminations and a truncation at 500 steps.
    Tolerance 1e-6 on float32 observations: both step the float64 state with the same formula,
    in a different operation order (tests/test_cartpole.py)."""
    n = 4
    gym_envs = GymnasiumCartPole("CartPole-v1", n, seed=5)
    bat = BatchedCartPole(n, device="cpu", seed=0)
    gym_obs, bat_obs = gym_envs.reset(), bat.reset()

    def sync():  # start the toolbox's episodes where Gymnasium's start
        states = [e.unwrapped.state for e in gym_envs.envs.envs]
        bat.state = torch.tensor(np.stack(states), dtype=torch.float64)
        return bat.state.to(torch.float32)

    bat_obs = sync()
    rs = np.random.default_rng(0)
    ended = {"terminated": 0, "truncated": 0}
    for _ in range(520):
        s = bat.state[0]
        balance = int(s[2] + 0.5 * s[3] + 0.01 * s[0] + 0.1 * s[1] > 0)
        actions = torch.tensor([balance, *rs.integers(0, 2, n - 1)])
        torch.testing.assert_close(gym_obs, bat_obs, rtol=0, atol=1e-6)
        gym_out, bat_out = gym_envs.step(actions), bat.step(actions)
        for a, b in zip(gym_out[1:4], bat_out[1:4]):
            assert a.dtype == b.dtype and torch.equal(a, b)
        torch.testing.assert_close(gym_out[4]["final_obs"], bat_out[4]["final_obs"], rtol=0,
                                   atol=1e-6)
        done = gym_out[2] | gym_out[3]
        ended["terminated"] += int(gym_out[2].sum())
        ended["truncated"] += int(gym_out[3].sum())
        gym_obs, bat_obs = gym_out[0], bat_out[0]
        if done.any():
            bat_obs = torch.where(done.unsqueeze(-1), sync(), bat_obs)
            torch.testing.assert_close(gym_obs[~done], bat_obs[~done], rtol=0, atol=1e-6)
    gym_envs.close()
    assert ended["terminated"] > 10 and ended["truncated"] == 1, ended


EQUAL_CASES = {
    "all on": PPOConfig(total_timesteps=1024),
    "every toggle flipped": PPOConfig(
        total_timesteps=1024, num_envs=1, num_steps=512, orthogonal_init=False, adam_eps=1e-8,
        anneal_lr=False, gae=False, num_minibatches=1, norm_adv=False, clip_surrogate=False,
        clip_vloss=False, ent_coef=0.0, clip_grad=False, shared_network=True, norm_obs=True,
        norm_reward=True, target_kl=0.015, bootstrap_truncation=True),
    "extras on": PPOConfig(total_timesteps=768, num_envs=3, num_steps=128, learning_rate=1e-3,
                           norm_obs=True, norm_reward=True, target_kl=5e-4,
                           bootstrap_truncation=True, num_minibatches=8, update_epochs=3),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", list(EQUAL_CASES))
def test_script_computes_the_reference_numbers(case, tmp_path, monkeypatch):
    """The generated script, run as a student runs it (a clean interpreter that cannot import the
    toolbox), computes exactly the numbers of ``toolbox/ppo/reference.py`` with the same settings
    and seed: every episode's return and end step, and every iteration's debug values (losses,
    KL, clip fraction, explained variance, gradient norm, epochs run, learning rate).

    Why the reference runs here on the script's environment: the script must train on
    Gymnasium's own CartPole, whose resets draw from Gymnasium's seeded generator, while the
    toolbox's ``BatchedCartPole`` draws them from the run's hash streams (``toolbox.rng``). Their
    dynamics are equal step by step (tests/test_cartpole.py), but episodes would start from other
    states, so the two runs could not be compared past the first reset. So the reference's
    ``BatchedCartPole`` is replaced by the script's ``GymnasiumCartPole`` (the one part of the run
    not generated from the reference; the test above checks it against ``BatchedCartPole``), and
    everything else — initialization, action draws, shuffles, normalizations, GAE, loss, update —
    is the reference's own code on both sides.

    Why exact equality: the same operations in the same order on the same machine, library
    versions and one torch thread give the same bits; the script writes its numbers with
    ``json`` (``repr``: floats read back exactly). A tolerance would hide a changed constant.
    """
    config, seed = EQUAL_CASES[case], 7

    def gymnasium_cartpole(num_envs, device=None, env_keys=None):
        return GymnasiumCartPole("CartPole-v1", num_envs, seed, device=device)

    monkeypatch.setattr(reference, "BatchedCartPole", gymnasium_cartpole)
    run = reference.ReferencePPO(config, seed, device="cpu")
    debug = [run.run_iteration().debug for _ in range(config.num_iterations)]
    run.envs.close()

    path = tmp_path / script_filename(case)
    path.write_text(standalone_script(config, case, seed=seed))
    out = _run_script(path, "--save-json", "run.json", cwd=tmp_path)
    assert f"step {config.total_timesteps:>7}" in out.stdout and "final mean return" in out.stdout
    got = json.loads((tmp_path / "run.json").read_text())

    assert len(run.episode_returns) >= 5, "the runs should finish a few episodes"
    assert got["episode_returns"] == run.episode_returns
    assert got["episode_steps"] == run.episode_steps
    assert len(got["debug"]) == len(debug) == config.num_iterations
    for it, (theirs, ours) in enumerate(zip(got["debug"], debug)):
        assert set(theirs) == set(ours)
        for key, value in ours.items():
            same = theirs[key] == value or (math.isnan(theirs[key]) and math.isnan(value))
            assert same, (case, it, key, theirs[key], value)
    if case == "extras on":  # the early stop is taken
        assert min(d["epochs_run"] for d in debug) < config.update_epochs


# That the script learns (30,000 steps: 127 here against a random policy's ~22) is measured by
# benchmarks/ppo_script_check.py (results/ppo_script_check.json); the tests above prove it computes
# the reference's numbers, and tests/test_ppo.py and test_ppo_compiled.py that PPO learns.
