"""What a lecturer sees when a page fails: the cause locally, nothing internal in public.

Streamlit's own error box is configured away (``showErrorDetails = "none"`` in
``.streamlit/config.toml``), because on a public deployment a traceback shows file paths and code
to every visitor. A lecturer running the app on a laptop, though, needs the cause to act on it:
"No module named scipy" must not hide behind a redacted box. So app.py runs the page through
:func:`run_page`, which catches the failure, writes the full traceback to the terminal that runs
``streamlit run`` (the server log), and shows on the page

* on a server started in a local mode (``streamlit run app.py --server.address localhost``, so
  that only this machine can reach it, or ``RL_TOOLBOX_SHOW_ERRORS=1``): the exception type and
  message, and where the traceback is;
* otherwise (any server other machines can reach, or ``RL_TOOLBOX_SHOW_ERRORS=0``): that the page
  failed and that the server log has the details.

Why not the request's ``Host`` header (as before): the client writes it, so any visitor of a public
server could send ``Host: localhost`` and read exception messages. The address the server listens on
is set by whoever started it.
"""

from __future__ import annotations

import logging
import os
import traceback

import streamlit as st

from ui.text import plain

ENV_VAR = "RL_TOOLBOX_SHOW_ERRORS"
LOCAL_HOSTS = ("localhost", "127.0.0.1", "[::1]", "::1")
"""Bind addresses only this machine can reach (``0.0.0.0`` and an empty address listen on every
interface)."""
_log = logging.getLogger("rl_toolbox")


def is_local_host(host: str | None) -> bool:
    """True when ``host`` (an address, optionally with a port) names only this machine
    (``localhost:8501``)."""
    if not host:
        return False
    name = host.strip().lower()
    if name.startswith("["):
        name = name.split("]")[0] + "]"
    else:
        name = name.rsplit(":", 1)[0] if name.count(":") == 1 else name
    return name in LOCAL_HOSTS


def show_details(server_address: str | None, env: dict | None = None) -> bool:
    """Whether a failure's cause goes on the page: the override, else whether the server listens
    only on this machine (``server_address``: Streamlit's ``server.address`` option; None or
    "" = every interface)."""
    flag = (env if env is not None else os.environ).get(ENV_VAR, "").strip().lower()
    if flag in ("1", "true", "yes", "on"):
        return True
    if flag in ("0", "false", "no", "off"):
        return False
    return is_local_host(server_address)


def failure_message(err: BaseException, details: bool) -> str:
    """The Markdown shown in place of a failed page (the exception text shown as plain text)."""
    if details:
        return (
            f"**This page failed:** {plain(type(err).__name__)}: {plain(err, limit=400)}\n\n"
            "The full traceback is in the terminal that runs `streamlit run app.py`. "
            "If it names a missing module, reinstall with `pip install -r requirements.txt`."
        )
    return ("**This page failed.** The server log has the details; the other pages still work. "
            "If you run this app, look at the terminal (or the app's log) for the traceback.")


def _server_address() -> str | None:
    try:
        return st.get_option("server.address")
    except Exception:  # noqa: BLE001 - an unknown option in another Streamlit: treat as public
        return None


def _report(err: BaseException, where: str) -> None:
    _log.error("%s failed:\n%s", where, traceback.format_exc())
    st.error(failure_message(err, show_details(_server_address())), icon=":material/error:")


def stop_with_failure(err: BaseException) -> None:
    """For app.py's start-up: explain a failure to import the app (a broken install) and stop the
    run."""
    _report(err, "app start-up")
    st.stop()


def run_page(navigation) -> None:
    """Run the selected page; a failure is logged with its traceback and explained on the page.

    Streamlit's control flow (``st.rerun``, ``st.stop``, page switches) raises ``BaseException``
    subclasses, which pass through untouched.
    """
    try:
        navigation.run()
    except Exception as err:  # noqa: BLE001 - any failure of a page must leave a readable page
        _report(err, f"page {getattr(navigation, 'title', '?')}")
