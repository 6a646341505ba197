"""A time limit for receiving each request, against slow (or hostile) clients.

aiohttp waits for a request's headers and body as long as the client keeps the connection
open, so 50 clients that send half a request and stop hold 50 connections for ever. Here each
request must arrive whole, headers and body, within `seconds` of the connection opening (or of
the previous answer on a keep-alive connection, which also closes idle keep-alive connections
after that long); otherwise the connection is closed.

How: `listen` serves the runner's aiohttp protocol through `ReadDeadline`, a protocol that
passes everything on and keeps the timer. The request handler task aiohttp starts for the
connection inherits the context in which the connection was made, so `middleware` finds its
`ReadDeadline` there (`_CONNECTION`) and tells it when a request has arrived and when it has
been answered. A request counts as arrived once its body has been read to the end.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

log = logging.getLogger(__name__)

# Long enough for a slow mobile uplink to send a 1 MB alert; far shorter than "for ever".
READ_SECONDS = 15.0

_CONNECTION: contextvars.ContextVar[ReadDeadline | None] = contextvars.ContextVar(
    "smsbot_read_deadline", default=None
)


class ReadDeadline(asyncio.Protocol):
    def __init__(self, inner: asyncio.Protocol, seconds: float) -> None:
        self._inner = inner
        self._seconds = seconds
        self._transport: asyncio.Transport | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._request: web.BaseRequest | None = None

    # -- told by the middleware --

    def arrived(self, request: web.BaseRequest) -> None:
        self._request = request

    def answered(self) -> None:
        self._request = None
        self._arm()  # the next request on this keep-alive connection has as long

    # -- the protocol --

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        _CONNECTION.set(self)  # inherited by the handler task the next call starts
        self._inner.connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self._inner.eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        self._inner.connection_lost(exc)

    def pause_writing(self) -> None:
        self._inner.pause_writing()

    def resume_writing(self) -> None:
        self._inner.resume_writing()

    def _arm(self) -> None:
        self._disarm()
        loop = asyncio.get_running_loop()
        self._timer = loop.call_later(self._seconds, self._expired)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _expired(self) -> None:
        self._timer = None
        request = self._request
        if request is not None and request.content.is_eof():
            return  # received whole: being answered
        log.info("closed a connection whose request did not arrive within %.0f s", self._seconds)
        if self._transport is not None:
            self._transport.abort()


@web.middleware
async def middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    connection = _CONNECTION.get()
    if connection is None:  # served some other way (tests' TestServer): no deadline
        return await handler(request)
    connection.arrived(request)
    try:
        return await handler(request)
    finally:
        connection.answered()


async def listen(
    runner: web.BaseRunner, host: str, port: int, *, seconds: float = READ_SECONDS
) -> asyncio.Server:
    """Serve `runner` (set up) on host:port with the read deadline; close the returned server
    before `runner.cleanup()`."""
    server = runner.server
    assert server is not None, "call runner.setup() first"
    loop = asyncio.get_running_loop()
    return await loop.create_server(
        lambda: ReadDeadline(server(), seconds), host, port, reuse_address=True
    )
