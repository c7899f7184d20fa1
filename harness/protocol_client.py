"""A Streamlit session driven over the server's own websocket protocol, without a browser.

It speaks what the browser speaks on ``/_stcore/stream``: it sends ``BackMsg.rerun_script``
(page name, query string, widget states) and reads ``ForwardMsg``s until the run has finished.
The server does exactly the work it does for a browser (a session, a script run per
interaction, the same deltas sent back); the client costs almost no CPU, so on a small machine a
load test measures the server rather than thirty Chromium renderers sharing its cores.

Widgets are addressed by their ``key=``: Streamlit's element ids end in ``-<key>``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState

_RERUN = ForwardMsg.ScriptFinishedStatus.Value("FINISHED_EARLY_FOR_RERUN")
_OK = ForwardMsg.ScriptFinishedStatus.Value("FINISHED_SUCCESSFULLY")


@dataclass
class RunResult:
    """What one script run sent: the widgets by key, the text of every element, exceptions."""

    seconds: float
    widgets: dict[str, object] = field(default_factory=dict)
    text: str = ""
    exceptions: list[str] = field(default_factory=list)
    query_string: str = ""


_BINARY = ("arrow_data_frame", "arrow_table", "imgs", "audio", "video")


def _text(etype: str, body) -> str:
    """An element's text for :attr:`RunResult.text`, cheaply: a chart's JSON as it came (its
    title is text a student reads), no binary data; formatting a large element with ``str`` cost
    the client more CPU than the server spent on it."""
    if etype == "plotly_chart":
        return body.spec
    if etype in _BINARY:
        return ""
    return str(body)


class ProtocolSession:
    """One browser-less session. Use as
    ``async with ProtocolSession(url) as s: await s.open(...)``."""

    def __init__(self, base_url: str, timeout_s: float = 600.0):
        self.uri = base_url.replace("http://", "ws://").replace("https://",
                                                                "wss://") + "/_stcore/stream"
        self.timeout_s = timeout_s
        self.page = ""
        self.query_string = ""
        self.widgets: dict[str, object] = {}
        self.states: dict[str, WidgetState] = {}
        self._ws = None

    async def __aenter__(self) -> "ProtocolSession":
        self._ws = await websockets.connect(self.uri, subprotocols=["streamlit"], max_size=None,
                                            open_timeout=self.timeout_s, ping_interval=None)
        return self

    async def __aexit__(self, *exc) -> None:
        await self._ws.close()

    async def open(self, page: str, query: str = "") -> RunResult:
        """Navigate to ``page`` (its URL path) with ``query``, as following a link does."""
        self.page, self.query_string, self.states, self.widgets = page, query, {}, {}
        return await self._rerun([])

    async def set_select_slider(self, key: str, option: str) -> RunResult:
        state = WidgetState(id=self._id(key))
        state.string_array_value.data.append(option)
        return await self._rerun([state])

    async def set_number(self, key: str, value: float) -> RunResult:
        return await self._rerun([WidgetState(id=self._id(key), double_value=float(value))])

    async def set_toggle(self, key: str, value: bool) -> RunResult:
        return await self._rerun([WidgetState(id=self._id(key), bool_value=bool(value))])

    async def set_multiselect(self, key: str, labels: list[str]) -> RunResult:
        """Choose ``labels`` (the options as the page shows them)."""
        state = WidgetState(id=self._id(key))
        state.string_array_value.data.extend(labels)
        return await self._rerun([state])

    async def click(self, key: str) -> RunResult:
        # a trigger is true for one run only, as a browser's button press is
        return await self._rerun([WidgetState(id=self._id(key), trigger_value=True)], keep=False)

    async def _send_click(self, key: str) -> None:
        """Send the run a press of button ``key`` starts, with the other widgets' states, without
        waiting for it."""
        msg = BackMsg()
        msg.rerun_script.page_name = self.page
        msg.rerun_script.query_string = self.query_string
        msg.rerun_script.widget_states.widgets.extend(
            list(self.states.values()) + [WidgetState(id=self._id(key), trigger_value=True)])
        await self._ws.send(msg.SerializeToString())

    async def click_and_leave(self, key: str, after_s: float = 0.5) -> None:
        """Press a button and close the tab: send the run, wait ``after_s`` seconds, disconnect."""
        import asyncio

        await self._send_click(key)
        await asyncio.sleep(after_s)

    async def click_and_stay(self, key: str, read_s: float = 2.0) -> str:
        """Press a button and keep the tab open without waiting for the run to end: read what the
        server sends for ``read_s`` seconds and return its text (a refusal, or the progress)."""
        import asyncio

        await self._send_click(key)
        parts: list[str] = []
        end = time.monotonic() + read_s
        while (left := end - time.monotonic()) > 0:
            try:
                raw = await asyncio.wait_for(self._ws.recv(), timeout=left)
            except asyncio.TimeoutError:
                break
            m = ForwardMsg()
            m.ParseFromString(raw)
            if m.WhichOneof("type") == "delta" and m.delta.WhichOneof("type") == "new_element":
                element = m.delta.new_element
                parts.append(str(getattr(element, element.WhichOneof("type"))))
            elif m.WhichOneof("type") == "script_finished" and m.script_finished != _RERUN:
                break
        return "\n".join(parts)

    def _id(self, key: str) -> str:
        if key not in self.widgets:
            raise KeyError(
                f"no widget with key {key!r} on {self.page} (have: "
                f"{', '.join(sorted(self.widgets))})")
        return self.widgets[key].id

    async def _rerun(self, changed: list[WidgetState], keep: bool = True) -> RunResult:
        states = dict(self.states)
        for s in changed:
            states[s.id] = s
        if keep:
            self.states = states
        msg = BackMsg()
        msg.rerun_script.page_name = self.page
        msg.rerun_script.query_string = self.query_string
        msg.rerun_script.widget_states.widgets.extend(states.values())
        t0 = time.perf_counter()
        await self._ws.send(msg.SerializeToString())
        result = await self._read_until_finished(t0)
        self.widgets.update(result.widgets)
        return result

    async def _read_until_finished(self, t0: float) -> RunResult:
        import asyncio

        result = RunResult(0.0)
        parts: list[str] = []
        while True:
            raw = await asyncio.wait_for(self._ws.recv(), timeout=self.timeout_s)
            m = ForwardMsg()
            m.ParseFromString(raw)
            kind = m.WhichOneof("type")
            if kind == "delta" and m.delta.WhichOneof("type") == "new_element":
                element = m.delta.new_element
                etype = element.WhichOneof("type")
                body = getattr(element, etype)
                if etype == "exception":
                    result.exceptions.append(f"{body.type}: {body.message}"[:500])
                wid = getattr(body, "id", "")
                if isinstance(wid, str) and wid.startswith("$$ID-") and "-" in wid[5:]:
                    result.widgets[wid.split("-", 2)[2]] = body
                parts.append(_text(etype, body))
            elif kind == "page_info_changed":
                self.query_string = m.page_info_changed.query_string
            elif kind == "script_finished" and m.script_finished != _RERUN:
                if m.script_finished != _OK:
                    result.exceptions.append(f"script finished with status {m.script_finished}")
                break
        result.seconds = time.perf_counter() - t0
        result.text = "\n".join(parts)
        result.query_string = self.query_string
        return result
