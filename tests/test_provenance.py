"""Stored results say where they came from, and the pages say what a retrain elsewhere gives."""

from __future__ import annotations

import numba
import numpy
import pytest
import torch

from toolbox.provenance import PROVENANCE_KEYS, machine_provenance, provenance_sentence


def test_machine_provenance_names_the_cpu_and_the_versions():
    meta = machine_provenance()
    assert set(meta) == set(PROVENANCE_KEYS)
    assert meta["torch"] == torch.__version__ and meta["numpy"] == numpy.__version__
    assert meta["numba"] == numba.__version__
    assert meta["cpu_capability"] == torch.backends.cpu.get_cpu_capability()
    assert meta["cpu"] and all(isinstance(v, str) for v in meta.values())


def test_the_sentence_names_the_machine_and_says_statistically_the_same():
    text = provenance_sentence({"cpu": "Some CPU 9000", "cpu_capability": "AVX2",
                                "torch": "2.13.0+cpu", "numpy": "2.4.6", "numba": "0.68.1"})
    assert text.startswith(
        "Computed on Some CPU 9000 (AVX2 kernels) with torch 2.13.0+cpu, numpy 2.4.6, numba 0.68.1."
    )
    assert "statistically the same curves, not identical" in text
    assert provenance_sentence({}).startswith("Computed on an unrecorded CPU.")


@pytest.mark.slow
def test_the_dial_page_says_where_its_curves_came_from():
    from tests.apptest_helpers import open_page, texts
    from toolbox.lessons.dial.precomputed import load_results

    at = open_page("app_pages/dial/page.py")
    assert provenance_sentence(load_results()["meta"]) in texts(at)
