"""What a lecturer sees when a page fails: the cause locally, nothing internal in public.

Streamlit's own error box is configured away (``showErrorDetails = "none"`` in
``.streamlit/config.toml``), because on a public deployment a traceback shows file paths and code
to every visitor. A lecturer running the app on a laptop, though, needs the cause to act on it:
"No module named scipy" must not hide behind a redacted box. So app.py runs the page through
:func:`run_page`, which catches the failure, writes the full traceback to the terminal that runs
``streamlit run`` (the server log), and shows on the page

* locally (the browser reached the server as ``localhost``/``127.0.0.1``/``::1``, or
  ``RL_TOOLBOX_SHOW_ERRORS=1``): the exception type and message, and where the traceback is;
* otherwise (a public deployment, or ``RL_TOOLBOX_SHOW_ERRORS=0``): that the page failed and that
  the server log has the details.
"""

from __future__ import annotations

import logging
import os
import traceback

import streamlit as st

from ui.text import plain

ENV_VAR = "RL_TOOLBOX_SHOW_ERRORS"
LOCAL_HOSTS = ("localhost", "127.0.0.1", "[::1]", "::1", "0.0.0.0")
_log = logging.getLogger("rl_toolbox")


def is_local_host(host: str | None) -> bool:
    """True when a request's ``Host`` header names this machine (``localhost:8501`` and the like)."""
    if not host:
        return False
    name = host.strip().lower()
    if name.startswith("["):
        name = name.split("]")[0] + "]"
    else:
        name = name.rsplit(":", 1)[0] if name.count(":") == 1 else name
    return name in LOCAL_HOSTS


def show_details(host: str | None, env: dict | None = None) -> bool:
    """Whether a failure's cause goes on the page: the override, else whether the visitor is local."""
    flag = (env if env is not None else os.environ).get(ENV_VAR, "").strip().lower()
    if flag in ("1", "true", "yes", "on"):
        return True
    if flag in ("0", "false", "no", "off"):
        return False
    return is_local_host(host)


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


def _request_host() -> str | None:
    try:
        return st.context.headers.get("Host")
    except Exception:  # noqa: BLE001 - no request context (AppTest, bare mode): treat as not local
        return None


def _report(err: BaseException, where: str) -> None:
    _log.error("%s failed:\n%s", where, traceback.format_exc())
    st.error(failure_message(err, show_details(_request_host())), icon=":material/error:")


def stop_with_failure(err: BaseException) -> None:
    """For app.py's start-up: explain a failure to import the app (a broken install) and stop the run."""
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
