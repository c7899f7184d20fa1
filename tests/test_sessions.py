"""Expired disconnected sessions leave the web process (ui/sessions.py), on the installed
Streamlit's own session manager and storage."""

from __future__ import annotations

import time
import weakref

from streamlit.runtime.memory_session_storage import MemorySessionStorage
from streamlit.runtime.session_manager import SessionInfo
from streamlit.runtime.websocket_session_manager import WebsocketSessionManager

from ui.sessions import expire_disconnected


class FakeSession:
    """What the storage keeps of a disconnected session: its id (and, in the app, its state)."""

    def __init__(self, sid: str):
        self.id = sid


def test_expired_sessions_are_dropped_not_kept_until_the_next_disconnect():
    storage = MemorySessionStorage(maxsize=16, ttl_seconds=0.2)
    manager = WebsocketSessionManager(storage, None, None, None)
    sessions = [FakeSession(f"s{i}") for i in range(3)]
    for s in sessions:
        storage.save(SessionInfo(client=None, session=s))
    refs = [weakref.ref(s) for s in sessions]
    del sessions, s
    assert expire_disconnected(manager) == 0  # within the reconnect window: kept
    time.sleep(0.3)
    assert storage.list() == []  # expired: invisible, yet still held by the cache ...
    assert all(r() is not None for r in refs)
    assert expire_disconnected(manager) == 3  # ... until dropped
    assert all(r() is None for r in refs)


def test_nothing_to_do_with_another_storage():
    assert expire_disconnected(object()) is None
