"""The DIAL lesson's training request and link values (toolbox.lessons.dial.requests)."""

from __future__ import annotations

import json

import pytest

from toolbox.dial.config import DialConfig
from toolbox.lessons.dial.requests import (
    MAX_SEEDS,
    SHOWN_CHARS,
    job_key,
    lesson_configs,
    link_agents,
    link_choice,
    link_float,
    link_int,
    shown_value,
)


def test_shown_value_truncates_and_flattens():
    raw = "`**x** [link](https://example.com)` ![img](a.png) $x$ :red[y] <b>"
    assert shown_value(raw, limit=1000) == raw
    long = shown_value("y" * 100_000)
    assert long == "y" * SHOWN_CHARS + "…"
    assert shown_value("a\n\n# b\tc") == "a # b c"


def test_link_agents_accepts_the_trainable_range_only():
    assert link_agents("3") == 3 and link_agents(" 10 ") == 10
    with pytest.raises(
        ValueError, match=r"n = 9007199254740992, outside the range this page accepts \(2 to 10\)"
    ):
        link_agents("9007199254740992")
    for raw in ("1", "11", "-3"):
        with pytest.raises(ValueError, match="2 to 10"):
            link_agents(raw)
    for raw in ("3.5", "three", "", "9" * 5000):
        with pytest.raises(ValueError, match="not a whole number"):
            link_agents(raw)


def test_link_messages_quote_the_value_and_the_page_escapes_it():
    from tests.apptest_helpers import shown
    from ui.text import plain

    with pytest.raises(ValueError) as err:
        link_int("n", "**x** [l](https://e.com)", 2, 10)
    assert "**x** [l](https://e.com)" in str(err.value)
    escaped = plain(err.value, limit=600)  # what ui.common.show_error puts on the page
    assert "**x**" not in escaped and shown(escaped) == str(err.value)
    with pytest.raises(ValueError) as err:
        link_choice("mode", "`" + "z" * 100_000, ("sum", "concat"))
    assert len(str(err.value)) < 200 and "sum, concat" in str(err.value)


def test_link_float_rejects_huge_and_non_finite_values():
    assert link_float("sigma", "2.5", 0, 5) == 2.5
    with pytest.raises(ValueError, match="outside the range"):
        link_float("sigma", "1e39", 0, 5)
    for raw in ("nan", "inf", "abc", "1" * 100):
        with pytest.raises(ValueError, match="not a number"):
            link_float("sigma", raw, 0, 5)
    assert link_choice("mode", "concat", ("sum", "concat")) == "concat"


def test_lesson_configs_one_validated_config_per_method():
    cfgs = lesson_configs(["dial", "nocomm"], 3, True, "sum", 600, 2.0, 3)
    assert list(cfgs) == ["dial", "nocomm"]
    assert cfgs["dial"] == DialConfig(n_agents=3, method="dial", n_batches=600, sigma=2.0,
                                      test_every=20)
    assert lesson_configs(["rial"], 4, False, "concat", 100, 1.0, 1)["rial"].test_every == 50
    with pytest.raises(ValueError, match="at least one method"):
        lesson_configs([], 3, True, "sum", 600, 2.0, 3)
    with pytest.raises(ValueError, match=f"between 1 and {MAX_SEEDS} seeds"):
        lesson_configs(["dial"], 3, True, "sum", 600, 2.0, MAX_SEEDS + 1)
    with pytest.raises(ValueError, match="at least 2 agents"):
        lesson_configs(["dial"], 1, True, "sum", 600, 2.0, 3)
    with pytest.raises(ValueError, match="Unknown method"):
        lesson_configs(["dial", "gumbel"], 3, True, "sum", 600, 2.0, 3)


def test_job_key_is_equal_for_equal_requests_only():
    a = lesson_configs(["dial", "rial"], 3, True, "sum", 600, 2.0, 3)
    b = lesson_configs(["rial", "dial"], 3, True, "sum", 600, 2.0, 3)
    assert job_key(a, 3) == job_key(b, 3)
    assert job_key(a, 3) != job_key(a, 2)
    assert job_key(a, 3) != job_key(lesson_configs(["dial", "rial"], 3, True, "sum", 600, 1.0, 3),
                                    3)
    body = json.loads(job_key(a, 3).removeprefix("dial:"))
    assert body["seeds"] == 3 and body["dial"]["sigma"] == 2.0
