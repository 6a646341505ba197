"""A fake of Slack's Socket Mode endpoint: a real websocket server on loopback.

It speaks the protocol as Slack does (https://docs.slack.dev/apis/events-api/using-socket-mode):
on connect it sends `{"type": "hello", ...}`; the test pushes envelopes
`{"envelope_id", "type": "slash_commands" | "interactive" | "events_api", "payload",
"accepts_response_payload"}` and reads back the app's acks `{"envelope_id", "payload"?}`.
`disconnect(reason)` sends Slack's `{"type": "disconnect"}` and `drop()` closes the sockets
without a word, as a network failure would.

Point the fake Web API's `apps.connections.open` at it: `fake_slack.socket_url = socket.url`.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Callable
from typing import Any

from aiohttp import WSMsgType, web

from tests.fixtures.waiting import WITHIN_SECONDS, until


class FakeSocketMode:
    def __init__(self, *, greet: bool = True, app_id: str = "AFAKE") -> None:
        self.greet = greet  # False: never say hello, as a broken Slack edge would
        self.answer_pings = True  # False: pings go unanswered, as on a dead connection
        self.app_id = app_id
        self.url = ""
        self.connections_opened = 0
        self.acks: dict[str, dict[str, Any]] = {}
        self.unexpected: list[str] = []  # anything the app sent that is not an ack
        self._sockets: list[web.WebSocketResponse] = []
        self._ids = itertools.count(1)
        self._changed = asyncio.Event()
        self._runner: web.AppRunner | None = None

    @property
    def open_sockets(self) -> int:
        return sum(1 for ws in self._sockets if not ws.closed)

    async def start(self) -> FakeSocketMode:
        app = web.Application()
        app.router.add_get("/link/", self._link)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"ws://127.0.0.1:{port}/link/?ticket=fake-ticket&app_id={self.app_id}"
        return self

    async def close(self) -> None:
        await self.drop()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeSocketMode:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def send_envelope(
        self,
        kind: str,
        payload: dict[str, Any],
        *,
        accepts_response_payload: bool | None = None,
        retry_attempt: int = 0,
    ) -> str:
        """Sends one envelope on the newest open socket; returns its envelope_id.

        `accepts_response_payload` is set as Slack sets it unless given: true for slash
        commands and interactions (the ack may carry a message, a view or inline errors),
        false for Events API envelopes (`function_executed` included), whose ack is bare."""
        if accepts_response_payload is None:
            accepts_response_payload = kind != "events_api"
        envelope_id = f"{next(self._ids):08d}-fake-envelope"
        envelope: dict[str, Any] = {
            "envelope_id": envelope_id,
            "type": kind,
            "payload": payload,
            "accepts_response_payload": accepts_response_payload,
        }
        if kind == "events_api":
            envelope["retry_attempt"] = retry_attempt
            envelope["retry_reason"] = ""
        await self._newest_socket().send_str(json.dumps(envelope))
        return envelope_id

    async def wait_ack(self, envelope_id: str, within: float = WITHIN_SECONDS) -> dict[str, Any]:
        await self.wait_for(lambda: envelope_id in self.acks, within)
        return self.acks[envelope_id]

    async def wait_for(
        self, condition: Callable[[], object], within: float = WITHIN_SECONDS
    ) -> None:
        await until(condition, "fake Socket Mode: condition", within=within, changed=self._changed)

    async def disconnect(self, reason: str = "refresh_requested") -> None:
        """Slack's polite way to move a client to a new socket."""
        message = {
            "type": "disconnect",
            "reason": reason,
            "debug_info": {"host": "applink-fake"},
        }
        for ws in list(self._sockets):
            if not ws.closed:
                await ws.send_str(json.dumps(message))

    async def drop(self) -> None:
        """Closes every socket, as a lost connection would."""
        for ws in list(self._sockets):
            await ws.close()
        self._sockets.clear()
        self._changed.set()

    def _newest_socket(self) -> web.WebSocketResponse:
        open_sockets = [ws for ws in self._sockets if not ws.closed]
        if not open_sockets:
            raise AssertionError("fake Socket Mode: no app is connected")
        return open_sockets[-1]

    async def _link(self, request: web.Request) -> web.WebSocketResponse:
        if request.query.get("ticket") != "fake-ticket":
            raise web.HTTPUnauthorized(text="invalid ticket")
        ws = web.WebSocketResponse(autoping=self.answer_pings)
        await ws.prepare(request)
        self._sockets.append(ws)
        self.connections_opened += 1
        self._changed.set()
        if self.greet:
            await ws.send_str(
                json.dumps(
                    {
                        "type": "hello",
                        "num_connections": self.open_sockets,
                        "debug_info": {
                            "host": "applink-fake",
                            "build_number": 1,
                            "approximate_connection_time": 18060,
                        },
                        "connection_info": {"app_id": self.app_id},
                    }
                )
            )
        async for message in ws:
            if message.type != WSMsgType.TEXT:
                continue
            data = json.loads(message.data)
            if isinstance(data, dict) and "envelope_id" in data:
                self.acks[data["envelope_id"]] = data
            else:
                self.unexpected.append(message.data)
            self._changed.set()
        if ws in self._sockets:
            self._sockets.remove(ws)
        self._changed.set()
        return ws
