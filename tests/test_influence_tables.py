"""Probability tables as the page shows them, and the shape of the influence package."""

from __future__ import annotations

import ast
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from toolbox import influence as inf

PACKAGE = Path(__file__).resolve().parent.parent / "toolbox" / "influence"


def test_distribution_labels_are_fractions_or_decimals_that_sum_to_one():
    assert inf.distribution_labels([2 / 3, 1 / 3]) == ("2/3", "1/3")
    assert inf.distribution_labels([0.7, 0.3]) == ("7/10", "3/10")
    assert inf.distribution_labels([3 / 7, 4 / 7]) == ("3/7", "4/7")
    rng = np.random.default_rng(0)
    for _ in range(50):
        row = rng.dirichlet(np.ones(rng.integers(2, 7)))
        labels = inf.distribution_labels(row)
        assert sum(Fraction(x) for x in labels) == 1, labels
        assert all(abs(float(x) - p) <= 1e-3 for x, p in zip(labels, row))
    with pytest.raises(ValueError, match="sums to"):
        inf.distribution_labels([0.666, 0.333])
    with pytest.raises(ValueError, match="negative"):
        inf.distribution_labels([1.5, -0.5])


def test_editor_columns_round_instead_of_truncating():
    from app_pages.social_influence.tables import column_config

    cfg = column_config(["bad", "good"])
    for col in ("bad", "good"):
        assert cfg[col]["type_config"]["format"] == "%.3f"
        # a step makes Streamlit truncate 2/3 to 0.666
        assert cfg[col]["type_config"]["step"] is None


def test_package_modules_are_small_and_never_import_streamlit():
    files = sorted(PACKAGE.glob("*.py"))
    # the mathematics; presets, the precomputed runs and the script are lesson material
    assert {f.stem for f in files} >= {"tables", "reward", "signalling", "games", "learning"}
    for f in files:
        text = f.read_text()
        assert len(text.splitlines()) < 400, f.name
        imported = {n.names[0].name.split(".")[0] for n in ast.walk(ast.parse(text)) if isinstance(
            n, ast.Import)}
        imported |= {(n.module or "").split(".")[0] for n in ast.walk(
            ast.parse(text)) if isinstance(n, ast.ImportFrom)}
        assert "streamlit" not in imported, f.name
