"""Golden numbers of the DIAL mathematics, pinned across refactors and portable across CPUs.

What is pinned: the loss and each parameter block's gradient norm of the first training batch of a
fresh team (``toolbox.dial.fingerprint``), for DIAL, RIAL, no communication, one network per agent,
concatenated inputs and n = 4, recorded in ``tests/data/dial_first_batch.json`` with the machine
that computed them. They are compared to ``FINGERPRINT_RTOL`` (1e-3) relative: the argument for that
bound, and the differences measured between CPU kernels, are in ``toolbox/dial/fingerprint.py``.

What is not pinned: a whole training run. Runs are chaotic (a greedy decision at a near-tie flips
under another rounding and the trajectories part), so an earlier version of this test, which pinned
the test rewards and a parameter checksum after 20 batches, failed on an Intel Xeon. Runs are
instead tested for being the same on one machine (``tests/test_reproducibility.py``), for learning
(``tests/test_dial.py``), and the compiled step for equality with this readable loop in one process
(``tests/test_dial_compiled.py``).

Mutations this test (with ``tests/test_dial_results.py``) was checked against, each failing it: the
head's BatchNorm dropped (14 failures), the TD target read from the same day instead of the next
(13), the DRU's noise scaled by 0.9 (7: the variants that send messages), the loss divided by B
instead of B n (14). ``test_a_change_of_the_mathematics_is_caught`` keeps two more in the suite.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from toolbox.dial.config import DialConfig
from toolbox.dial.fingerprint import fingerprint_mismatches, first_batch_fingerprint
from toolbox.provenance import machine_provenance

RECORD = Path(__file__).parent / "data" / "dial_first_batch.json"
SEED = 1
VARIANTS = {
    "dial": DialConfig(method="dial"),
    "rial": DialConfig(method="rial"),
    "nocomm": DialConfig(method="nocomm"),
    "separate": DialConfig(param_sharing=False),
    "concat": DialConfig(input_mode="concat"),
    "n4": DialConfig(n_agents=4),
}


def write_record() -> None:
    """Regenerate the record — only for an intended change of the mathematics (say why in the
    commit): ``python -c "from tests.test_dial_golden import write_record; write_record()"``."""
    runs = {name: first_batch_fingerprint(cfg, SEED, "cpu") for name, cfg in VARIANTS.items()}
    RECORD.write_text(json.dumps({"meta": machine_provenance(), "seed": SEED, "runs": runs},
                                 indent=1))


@pytest.fixture(scope="module")
def record() -> dict:
    return json.loads(RECORD.read_text())


def test_the_record_says_where_it_came_from(record):
    assert {"cpu", "cpu_capability", "torch", "numpy", "numba"} <= set(record["meta"])
    assert set(record["runs"]) == set(VARIANTS)


@pytest.mark.parametrize("name", list(VARIANTS))
def test_first_batch_equals_the_record(name, record):
    fresh = first_batch_fingerprint(VARIANTS[name], record["seed"], "cpu")
    assert fingerprint_mismatches(fresh, record["runs"][name]) == []


@pytest.mark.parametrize("change", [dict(gamma=0.99), dict(sigma=1.9)], ids=["gamma", "sigma"])
def test_a_change_of_the_mathematics_is_caught(change, record):
    """The tolerance is not vacuous: a 1 % change of the discount or 5 % of the DRU's noise is
    seen."""
    fresh = first_batch_fingerprint(replace(VARIANTS["dial"], **change), record["seed"], "cpu")
    assert fingerprint_mismatches(fresh, record["runs"]["dial"]) != []


def test_the_fingerprint_is_exact_on_one_machine():
    """On one machine nothing is left to rounding: two computations are equal bit for bit."""
    a = first_batch_fingerprint(VARIANTS["dial"], SEED, "cpu")
    assert a == first_batch_fingerprint(VARIANTS["dial"], SEED, "cpu")
