"""The one place that composes the bot's aiohttp application and its routes.

```
POST /slack/events   Slack, HTTP mode only (Socket Mode receives over its websocket)
GET  /healthz        liveness: the process answers
GET  /readyz         readiness: the store is reachable and, in Socket Mode, Slack is connected
GET  /metrics        Prometheus text format
...                  whatever the route registrars add (alert intake)
```

Nothing is built at import time: `create_app(settings, service, metrics=...)` builds it all.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Protocol

from aiohttp import web

from smsbot.metrics import Metrics
from smsbot.settings import Settings
from smsbot.slack.http import add_slack_routes

if TYPE_CHECKING:
    from slack_bolt.async_app import AsyncApp

log = logging.getLogger(__name__)

# A readiness probe must answer quickly even when the database hangs; past this, "not ready".
READY_CHECK_TIMEOUT_SECONDS = 2.0

# A route registrar adds routes to the application, e.g. the alert intake:
# `lambda app: add_alert_routes(app, settings, service, metrics=metrics)`.
RouteRegistrar = Callable[[web.Application], None]


class ReadyService(Protocol):
    async def ready(self) -> bool: ...


class SlackConnection(Protocol):
    """What readiness needs to know of a Socket Mode connection."""

    @property
    def connected(self) -> bool: ...


SETTINGS = web.AppKey("settings", Settings)
SERVICE = web.AppKey("service", ReadyService)
METRICS = web.AppKey("metrics", Metrics)
SOCKET = web.AppKey("socket", SlackConnection | None)


def create_app(
    settings: Settings,
    service: ReadyService,
    *,
    metrics: Metrics,
    slack_app: AsyncApp | None = None,
    socket: SlackConnection | None = None,
    routes: Iterable[RouteRegistrar] = (),
) -> web.Application:
    """The bot's web application.

    `slack_app` is served at `POST /slack/events` unless `socket` is given: in Socket Mode
    Slack delivers over the websocket, and an open HTTP endpoint would only be attack surface.
    `routes` are further registrars; the alert intake is added through them.
    """
    serve_slack_http = slack_app is not None and socket is None
    app = web.Application()
    app[SETTINGS] = settings
    app[SERVICE] = service
    app[METRICS] = metrics
    app[SOCKET] = socket

    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/readyz", _readyz)
    app.router.add_get("/metrics", _metrics)

    if serve_slack_http:
        secret = settings.slack.signing_secret
        add_slack_routes(
            app,
            slack_app,
            signing_secret=secret.get_secret_value() if secret else None,
            on_ack=metrics.ack_latency.observe,
        )

    for register in routes:
        register(app)
    return app


async def _healthz(request: web.Request) -> web.Response:
    # Liveness only: a slow database or a Slack outage must not get the process restarted.
    return web.json_response({"status": "ok"})


async def _readyz(request: web.Request) -> web.Response:
    checks: dict[str, Any] = {"store": await _store_state(request.app[SERVICE])}
    socket = request.app[SOCKET]
    if socket is not None:
        checks["slack"] = "connected" if socket.connected else "disconnected"
    not_ready = [name for name, state in checks.items() if state not in ("ok", "connected")]
    if not_ready:
        return web.json_response(
            {"status": "not ready", "not_ready": not_ready, "checks": checks}, status=503
        )
    return web.json_response({"status": "ready", "checks": checks})


async def _store_state(service: ReadyService) -> str:
    try:
        async with asyncio.timeout(READY_CHECK_TIMEOUT_SECONDS):
            return "ok" if await service.ready() else "unreachable"
    except TimeoutError:
        return "timeout"
    except Exception:
        log.warning("readiness check of the store failed", exc_info=True)
        return "unreachable"


async def _metrics(request: web.Request) -> web.Response:
    metrics = request.app[METRICS]
    # prometheus-client's content type carries parameters (version, charset), which
    # web.Response(content_type=...) refuses, so it goes in as a plain header.
    return web.Response(body=metrics.render(), headers={"Content-Type": metrics.content_type})
