"""User text shown back as plain text; a failing page explained locally, redacted in public."""

from __future__ import annotations

import re
import string

import pytest

from tests.apptest_helpers import shown
from ui.common import MAX_ECHO, plain
from ui.errors import failure_message, is_local_host, show_details


def test_plain_escapes_every_markdown_character_and_shows_the_text_unchanged():
    hostile = "`**x** [link](https://example.com) ![img](http://e/x.png) $x^2$ :red[y] <b>z</b>"
    out = plain(hostile, limit=1000)
    i = 0
    while i < len(out):  # every punctuation character comes as a backslash pair
        if out[i] == "\\":
            i += 2
            continue
        assert out[i] not in string.punctuation, f"unescaped {out[i]!r} at {i} in {out!r}"
        i += 1
    assert shown(out) == hostile


def test_plain_truncates_long_values_and_flattens_lines():
    assert shown(plain("a" * 100_000)) == "a" * MAX_ECHO + "…"
    assert shown(plain("one\ntwo\r\nthree")) == "one two three"
    assert plain(3.5) == "3\\.5"


@pytest.mark.parametrize("host, local", [
    ("localhost:8501", True), ("127.0.0.1:8501", True), ("[::1]:8501", True), ("localhost", True),
    ("rl-toolbox.streamlit.app", False), ("10.0.0.5:8501", False), ("", False), (None, False),
    ("0.0.0.0", False),
])
def test_local_hosts(host, local):
    assert is_local_host(host) is local


def test_details_follow_the_servers_bind_address_unless_overridden():
    assert show_details("localhost", env={}) is True
    assert show_details("127.0.0.1", env={}) is True
    assert show_details(None, env={}) is False  # streamlit run app.py: every interface
    assert show_details("0.0.0.0", env={}) is False
    assert show_details(None, env={"RL_TOOLBOX_SHOW_ERRORS": "1"}) is True
    assert show_details("localhost", env={"RL_TOOLBOX_SHOW_ERRORS": "0"}) is False


def test_a_clients_host_header_does_not_reveal_details(monkeypatch):
    """A visitor of a public server sending ``Host: localhost`` still sees no exception text."""
    import ui.errors as E

    monkeypatch.delenv("RL_TOOLBOX_SHOW_ERRORS", raising=False)
    monkeypatch.setattr(E.st, "get_option", lambda name: None if name == "server.address" else "x")
    assert E._server_address() is None and E.show_details(E._server_address()) is False


def test_failure_message_names_the_cause_locally_and_nothing_in_public():
    err = ModuleNotFoundError("No module named 'scipy'")
    local = shown(failure_message(err, details=True))
    assert "ModuleNotFoundError: No module named 'scipy'" in local
    assert "terminal" in local and "pip install -r requirements.txt" in local
    public = shown(failure_message(err, details=False))
    assert "scipy" not in public and "ModuleNotFoundError" not in public
    assert "server log" in public


def test_a_failing_page_shows_the_message_and_the_sidebar_still_works(tmp_path):
    from streamlit.testing.v1 import AppTest

    script = tmp_path / "app.py"
    script.write_text(
        "import streamlit as st\n"
        "from ui.errors import run_page\n"
        "def broken():\n"
        "    raise ModuleNotFoundError(\"No module named 'scipy'\")\n"
        "nav = st.navigation([st.Page(broken, title='Broken')])\n"
        "st.sidebar.write('sidebar ok')\n"
        "run_page(nav)\n"
    )
    import os
    import sys

    sys.path.insert(0, os.getcwd())
    os.environ["RL_TOOLBOX_SHOW_ERRORS"] = "1"
    try:
        at = AppTest.from_file(str(script)).run()
    finally:
        del os.environ["RL_TOOLBOX_SHOW_ERRORS"]
    assert not at.exception
    assert "No module named 'scipy'" in shown(at.error[0].value)


@pytest.mark.parametrize("text", ["https://evil.example/x", "see www.evil.example",
                                  "mail me@evil.example", "ftp://x.y"])
def test_echoed_text_never_matches_an_autolink_pattern(text):
    """GFM finds autolinks in the text after escapes are resolved, so the resolved text must not
    hold one."""
    # escapes resolved, as the Markdown renderer does
    resolved = re.sub(r"\\(.)", r"\1", plain(text))
    assert shown(plain(text)) == text  # reads the same
    assert "://" not in resolved and "www." not in resolved
    assert not re.search(r"@[A-Za-z0-9]", resolved)
