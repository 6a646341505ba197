"""The one place that composes the bot's aiohttp application and its routes.

```
POST /slack/events   Slack, HTTP mode only (Socket Mode receives over its websocket)
GET  /healthz        liveness: the process answers
GET  /readyz         readiness: this process answers HTTP and its store answers
                     (`?verbose` adds Slack's connection state, which readiness ignores)
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

from smsbot import read_deadline
from smsbot.metrics import Metrics, ScrapeReadings
from smsbot.settings import Settings
from smsbot.slack.http import add_slack_routes

if TYPE_CHECKING:
    from slack_bolt.async_app import AsyncApp

log = logging.getLogger(__name__)

# A readiness probe must answer quickly even when the database hangs; past this, "not ready".
READY_CHECK_TIMEOUT_SECONDS = 2.0

# A route registrar adds routes to the application, made from parts built before it, e.g. the
# alert intake's: `smsbot.alerts.routes.alert_routes(settings, parts)`.
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
READINGS = web.AppKey("readings", ScrapeReadings | None)
SOCKET = web.AppKey("socket", SlackConnection | None)
SLACK_HTTP = web.AppKey("slack_http", bool)


def create_app(
    settings: Settings,
    service: ReadyService,
    *,
    metrics: Metrics,
    readings: ScrapeReadings | None = None,
    slack_app: AsyncApp | None = None,
    socket: SlackConnection | None = None,
    routes: Iterable[RouteRegistrar] = (),
) -> web.Application:
    """The bot's web application.

    `slack_app` is served at `POST /slack/events` unless `socket` is given: in Socket Mode
    Slack delivers over the websocket, and an open HTTP endpoint would only be attack surface.
    `routes` are further registrars; the alert intake is added through them. `readings` are
    read into `metrics` at each scrape of `/metrics` (the outbox, KPN's and Slack's state).
    """
    serve_slack_http = slack_app is not None and socket is None
    app = web.Application(middlewares=[read_deadline.middleware])
    app[SETTINGS] = settings
    app[SERVICE] = service
    app[METRICS] = metrics
    app[READINGS] = readings
    app[SOCKET] = socket
    app[SLACK_HTTP] = serve_slack_http

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
    # Readiness is the process's own: it answers HTTP (this answer) and its store answers. Not
    # Slack's connection: a load balancer that took the pod out of service during a Slack
    # outage would stop the alert intake just when alert SMS matter most. Slack's state is
    # shown (with `?verbose`, and in /metrics) but changes nothing here.
    checks: dict[str, Any] = {"store": await _store_state(request.app[SERVICE])}
    not_ready = [name for name, state in checks.items() if state != "ok"]
    body: dict[str, Any] = {"status": "not ready" if not_ready else "ready"}
    if not_ready:
        body["not_ready"] = not_ready
    body["checks"] = checks
    if "verbose" in request.query:
        body["slack"] = _slack_state(request.app)
    return web.json_response(body, status=503 if not_ready else 200)


def _slack_state(app: web.Application) -> str:
    socket = app[SOCKET]
    if socket is not None:
        return "connected" if socket.connected else "disconnected"
    return "http" if app[SLACK_HTTP] else "off"


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
    metrics, readings = request.app[METRICS], request.app[READINGS]
    if readings is not None:
        await readings.refresh()
    # prometheus-client's content type carries parameters (version, charset), which
    # web.Response(content_type=...) refuses, so it goes in as a plain header.
    return web.Response(body=metrics.render(), headers={"Content-Type": metrics.content_type})
