"""Closed tabs' sessions leave the web process when their reconnect window ends.

Streamlit keeps a disconnected session (its script state, widgets, session_state) for
``server.disconnectedSessionTTL`` seconds so that a tab that reconnects finds it, in a TTL cache
that drops expired entries only when another session is stored in it: after a class, nobody new
disconnects, and the 60 sessions of a class stayed in the web process (~2 MB each: 60 s after 60
sessions the app held 130 MB more than before them, 7,686 widget records of sessions that had all
expired; measured). :func:`expire_disconnected` drops the expired ones, as Streamlit itself would at
the next disconnect; ui/preload.py calls it from the app's periodic collection
(:func:`toolbox.memory.trim_every`), so their memory goes back to the system.

It reaches into the session manager's storage (private attributes of Streamlit 1.67's
``WebsocketSessionManager`` and ``MemorySessionStorage``): where a Streamlit keeps them otherwise it
does nothing and returns None (tests/test_sessions.py fails then, so an upgrade is noticed).
"""

from __future__ import annotations

from typing import Any


def expire_disconnected(manager: Any = None) -> int | None:
    """Drop the disconnected sessions whose reconnect window has passed from ``manager`` (default:
    the running server's session manager); returns how many, or None without a server or where
    the session storage is not Streamlit's in-memory TTL cache."""
    if manager is None:
        from streamlit.runtime import Runtime

        if not Runtime.exists():
            return None
        manager = getattr(Runtime.instance(), "_session_mgr", None)
    cache = getattr(getattr(manager, "_session_storage", None), "_cache", None)
    lock = getattr(manager, "_storage_lock", None)
    if not callable(getattr(cache, "expire", None)) or lock is None:
        return None
    with lock:  # the lock the manager holds while it stores or deletes a session
        return len(cache.expire())
