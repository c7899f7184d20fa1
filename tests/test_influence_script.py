"""'Run it yourself': a generated script runs in a fresh interpreter and prints the toolbox's
numbers."""

from __future__ import annotations

import math
import re
import subprocess
import sys

import numpy as np
import pytest

from toolbox import influence as inf
from toolbox.lessons import influence as influence_lesson


def _run(source: str, tmp_path) -> str:
    path = tmp_path / "influence_reward.py"
    path.write_text(source)
    done = subprocess.run([sys.executable, "-I", str(path)], capture_output=True, text=True,
                          timeout=60, cwd=tmp_path, env={"OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stderr
    return done.stdout


def _number(out: str, label: str) -> str:
    match = re.search(rf"^{re.escape(label)} = (\S+) nats$", out, re.M)
    assert match, out
    return match.group(1)


def _page_format(x: float) -> str:
    return "inf" if math.isinf(x) else f"{x:.4f}"


@pytest.mark.parametrize("preset,n_j,a_i", [("i's move as a signal (illustrative)", 1, 1),
                                            ("partial influence", 3, 2), ("j ignores i", 2, 0)])
def test_generated_script_prints_the_toolbox_numbers(tmp_path, preset, n_j, a_i):
    p = influence_lesson.influence_preset(preset, n_j)
    source = influence_lesson.influence_script(p.pi_i, p.pi_j_given_ai, a_i, p.action_names_i)
    assert "import numpy" in source and "toolbox" not in source and "torch" not in source
    out = _run(source, tmp_path)
    assert _number(out, "influence reward r^i") == _page_format(
        inf.influence_reward(p.pi_i, p.pi_j_given_ai, a_i)
    )
    assert _number(out, "expected influence E[r^i]") == _page_format(
        inf.expected_influence(p.pi_i, p.pi_j_given_ai)
    )
    mi = float(inf.mutual_information(p.pi_i, p.pi_j_given_ai).sum())
    assert _number(out, "mutual information sum_j I(a^i; a^j)") == _page_format(mi)
    kls = inf.influence_rewards(p.pi_i, p.pi_j_given_ai).numpy()[a_i]
    for j, kl in enumerate(kls):
        assert (
            f"influencee {j + 1}: " in out
            and f"KL = {_page_format(kl)} nats" in out.splitlines()[1 + j]
        )
    assert f"chosen action a^i = {a_i} ({p.action_names_i[a_i]})" in out


def test_script_of_edited_tables_with_zeros_and_an_infinite_reward(tmp_path):
    pi_i = np.array([0.7, 0.3, 0.0])
    pi_j = np.array([[1.0, 0.0], [0.25, 0.75], [0.0, 1.0]])
    out = _run(influence_lesson.influence_script(pi_i, pi_j, 2), tmp_path)
    assert _number(out, "influence reward r^i") == f"{inf.influence_reward(pi_i, pi_j, 2):.4f}"
    assert _number(out, "expected influence E[r^i]") == f"{inf.expected_influence(pi_i, pi_j):.4f}"
    # j answers the never-played action with a move
    # the marginal never sees: KL = inf, as on the page
    never = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    assert math.isinf(inf.influence_reward(pi_i, never, 2))
    out = _run(influence_lesson.influence_script(pi_i, never, 2), tmp_path)
    assert _number(out, "influence reward r^i") == "inf"
    assert _number(out, "expected influence E[r^i]") == f"{inf.expected_influence(pi_i, never):.4f}"
    out = _run(influence_lesson.influence_script(pi_i.tolist(), pi_j.tolist(), 1), tmp_path)
    assert _number(out, "influence reward r^i") == f"{inf.influence_reward(pi_i, pi_j, 1):.4f}"


def test_script_refuses_bad_tables():
    with pytest.raises(ValueError, match="negative"):
        influence_lesson.influence_script([0.5, 0.5], [[1.2, -0.2], [0.5, 0.5]], 0)
    with pytest.raises(ValueError, match="out of range"):
        influence_lesson.influence_script([0.5, 0.5], [[1.0, 0.0], [0.5, 0.5]], 2)
    with pytest.raises(ValueError, match="action name"):
        influence_lesson.influence_script([0.5, 0.5], [[1.0, 0.0], [0.5, 0.5]], 0, ["only one"])
