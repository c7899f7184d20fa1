"""The downloadable standalone PPO script: every variant compiles with its toggles as defaults, and one learns."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from dataclasses import fields

import pytest

from toolbox.ppo.config import PPOConfig

from toolbox.lessons.ppo.variants import variants
from toolbox.lessons.ppo.script import field_docs, script_filename, standalone_script

ALLOWED_IMPORTS = {"argparse", "dataclasses", "time", "typing", "gymnasium", "numpy", "torch"}


def _args_defaults(src: str) -> dict:
    """``{field: default}`` of the script's ``Args`` dataclass, read from its syntax tree."""
    cls = next(n for n in ast.parse(src).body if isinstance(n, ast.ClassDef) and n.name == "Args")
    return {n.target.id: ast.literal_eval(n.value) for n in cls.body if isinstance(n, ast.AnnAssign)}


def _imported_modules(src: str) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(src)):
        if isinstance(node, ast.Import):
            out |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            out.add(node.module.split(".")[0])
    return out


@pytest.mark.parametrize("name", list(variants()))
def test_every_variant_compiles_and_its_defaults_are_the_toggles(name):
    config = variants()[name]
    src = standalone_script(config, name)
    compile(src, script_filename(name), "exec")
    defaults = _args_defaults(src)
    assert defaults.pop("seed") == 1 and defaults.pop("env_id") == "CartPole-v1"
    assert defaults == config.to_dict()
    assert _imported_modules(src) <= ALLOWED_IMPORTS
    # every detail is a named `if` on its setting
    for f in ("anneal_lr", "gae", "norm_adv", "clip_surrogate", "clip_vloss", "clip_grad", "shared_network",
              "orthogonal_init", "norm_obs", "norm_reward", "bootstrap_truncation"):
        assert f"if args.{f}" in src
    assert "args.target_kl is not None and approx_kl > args.target_kl" in src
    for line in ("def layer_init(", "def get_value(", "def get_action_and_value(",
                 "loss = pg_loss - args.ent_coef * entropy_loss + v_loss * args.vf_coef",
                 "torch.optim.Adam(agent.parameters(), lr=args.learning_rate, eps=args.adam_eps)",
                 "gym.make(args.env_id)"):
        assert line in src


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


def test_downloaded_script_learns_cartpole(tmp_path):
    """CleanRL's defaults, seed 1, 30,000 steps on one thread: the last 10 episodes average 145.6 here
    (a random policy scores about 22); the threshold of 100 leaves room for other platforms' rounding."""
    path = tmp_path / "ppo_all_on.py"
    path.write_text(standalone_script(PPOConfig(), "all on"))
    env = dict(os.environ)  # one torch thread: set in tests/conftest.py
    run = subprocess.run(
        [sys.executable, str(path), "--total-timesteps", "30000", "--seed", "1"],
        capture_output=True, text=True, timeout=240, env=env, cwd=tmp_path,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    final = re.search(r"final mean return \(last 10 episodes\): ([0-9.]+)", run.stdout)
    assert final is not None, run.stdout[-2000:]
    assert float(final.group(1)) >= 100, run.stdout[-2000:]


def test_script_with_every_toggle_flipped_runs(tmp_path):
    """Every detail's other branch runs (two short iterations)."""
    flipped = PPOConfig(
        total_timesteps=1024, num_envs=1, num_steps=512, orthogonal_init=False, adam_eps=1e-8, anneal_lr=False,
        gae=False, num_minibatches=1, norm_adv=False, clip_surrogate=False, clip_vloss=False, ent_coef=0.0,
        clip_grad=False, shared_network=True, norm_obs=True, norm_reward=True, target_kl=0.015,
        bootstrap_truncation=True,
    )
    path = tmp_path / "ppo_flipped.py"
    path.write_text(standalone_script(flipped, "every toggle flipped"))
    run = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=120,
                         env=dict(os.environ), cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "step    1024" in run.stdout and "final mean return" in run.stdout
