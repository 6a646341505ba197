"""Socket Mode: Slack delivers commands and interactions over a websocket the bot opens.

No public URL is needed. The websocket URL comes from `apps.connections.open` (called with the
`xapp-` app token at `settings.slack.api_url`), and slack-sdk's aiohttp client keeps the
connection alive and reconnects. This module adds what the bot needs on top:

- `connected` for `/readyz`: true only after Slack's `hello` on the current websocket, so a
  socket that opened but was never greeted, or was told to `disconnect`, is not "ready";
- the ack latency of every envelope into `metrics.ack_latency`, as HTTP mode measures it;
- a start that never blocks the web server: connecting (and retrying) runs in the background.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

import aiohttp
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.adapter.socket_mode.async_internals import (
    run_async_bolt_app,
    send_async_response,
)
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.web.async_client import AsyncWebClient

from smsbot.errors import ConfigurationError
from smsbot.metrics import Metrics

log = logging.getLogger(__name__)

# apps.connections.open errors that no retry will cure: the app token itself is wrong.
REFUSED_TOKEN_ERRORS = frozenset(
    {"invalid_auth", "not_authed", "token_revoked", "account_inactive", "not_allowed_token_type"}
)


# A socket whose last pong echoes a ping sent longer ago than this many ping intervals is
# treated as disconnected (a pong normally returns within milliseconds of its ping).
PING_PONG_FAILING_AFTER_INTERVALS = 2.5


class _TimedHandler(AsyncSocketModeHandler):
    """Bolt's handler, timing each envelope from arrival to the ack written to the socket."""

    def __init__(self, app: AsyncApp, *, metrics: Metrics | None, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self._metrics = metrics

    async def handle(self, client: SocketModeClient, req: SocketModeRequest) -> None:  # type: ignore[override]
        started = time.perf_counter()
        bolt_response = await run_async_bolt_app(self.app, req)
        await send_async_response(client, req, bolt_response, time.time())
        if self._metrics is not None:
            self._metrics.ack_latency.observe(time.perf_counter() - started)


class SocketModeConnection:
    """One Socket Mode connection of a Bolt app. Create it inside the running event loop."""

    def __init__(
        self,
        bolt_app: AsyncApp,
        *,
        app_token: str,
        api_url: str,
        metrics: Metrics | None = None,
        ping_interval: float = 10.0,
    ) -> None:
        # Its own Web API client: apps.connections.open takes the app token, not the bot token,
        # and must go to the configured API URL.
        web_client = AsyncWebClient(base_url=_with_slash(api_url))
        self._handler = _TimedHandler(
            bolt_app,
            metrics=metrics,
            app_token=app_token,
            web_client=web_client,
            ping_interval=ping_interval,
        )
        self._handler.client.message_listeners.append(self._on_message)
        self._greeted_session: object | None = None
        self._hello = asyncio.Event()
        self._connecting: asyncio.Task[None] | None = None

    @property
    def client(self) -> SocketModeClient:
        return self._handler.client

    @property
    def connected(self) -> bool:
        """True when Slack said `hello` on the websocket that is open now, and that socket
        answers pings: slack-sdk only reconnects after 4 unanswered ping intervals, and a
        socket that stopped answering delivers nothing meanwhile."""
        session = self.client.current_session
        return (
            not self.client.closed
            and not self.client.stale
            and session is not None
            and not session.closed
            and session is self._greeted_session
            and not self._ping_pong_failing()
        )

    def _ping_pong_failing(self) -> bool:
        # slack-sdk stamps `last_ping_pong_time` with the send time each pong echoes back.
        last = self.client.last_ping_pong_time
        limit = self.client.ping_interval * PING_PONG_FAILING_AFTER_INTERVALS
        return last is not None and time.time() - last > limit

    async def start(self) -> None:
        """Asks Slack for a websocket URL, then connects in the background.

        A token Slack refuses stops the start with `ConfigurationError`: slack-sdk would retry
        it forever. Anything else (Slack unreachable, 5xx) is left to slack-sdk's retries, and
        `/readyz` says "disconnected" meanwhile.
        """
        if self._connecting is not None:
            return
        try:
            self.client.wss_uri = await self.client.issue_new_wss_url()
        except SlackApiError as exc:
            error = exc.response.get("error") if exc.response is not None else None
            if error in REFUSED_TOKEN_ERRORS:
                raise ConfigurationError(
                    f"Slack refused SMSBOT_SLACK__APP_TOKEN ({error}): create an app-level token "
                    "with the connections:write scope (Slack app settings > Basic Information > "
                    "App-Level Tokens) and make sure Socket Mode is on"
                ) from exc
            log.warning("Slack did not open a socket yet (%s); retrying", error)
        except (aiohttp.ClientError, OSError) as exc:
            log.warning("Slack is not reachable yet (%s); retrying", exc)
        self._connecting = asyncio.create_task(self._connect(), name="slack-socket-connect")

    async def wait_connected(self) -> None:
        """Returns once `connected`; wrap it in `asyncio.timeout`. For startup and tests."""
        while not self.connected:
            self._hello.clear()
            await self._hello.wait()

    async def close(self) -> None:
        """Closes the websocket: Slack sends new envelopes to other connections from now on."""
        if self._connecting is not None and not self._connecting.done():
            self._connecting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._connecting
        await self._handler.close_async()

    async def _connect(self) -> None:
        # slack-sdk's connect() retries every failure by itself, every `ping_interval` seconds,
        # until it is connected or closed.
        await self._handler.connect_async()

    async def _on_message(self, client: Any, message: dict[str, Any], raw: str | None) -> None:
        # slack-sdk handles `disconnect` itself (it opens a new socket before listeners run);
        # the new socket is a different session, so `connected` is false until its `hello`.
        if message.get("type") == "hello":
            self._greeted_session = client.current_session
            self._hello.set()
            log.info("Socket Mode connected to Slack")


def _with_slash(url: str) -> str:
    return url if url.endswith("/") else url + "/"
