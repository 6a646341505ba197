"""The alert routes running for real: the service on SQLite, the sandbox as KPN, served on
loopback and posted to over HTTP."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer

from smsbot.alerts.routes import register
from smsbot.bootstrap import open_service
from smsbot.metrics import Metrics
from smsbot.service import SmsService
from smsbot.settings import Settings

TOKEN = "alert-token-0123456789"
ON_CALL = "+31612345678"


def alert_settings(
    sandbox_url: str, database_url: str, *, slack: dict[str, Any] | None = None, **alerts: Any
) -> Settings:
    """Sandbox credentials, the given database, fast KPN timeouts and these alert settings;
    by default one route sending everything to `ON_CALL`, with the bearer token `TOKEN`."""
    values: dict[str, Any] = {
        "token": TOKEN,
        "routes": [{"name": "on-call", "recipients": [ON_CALL]}],
        **alerts,
    }
    settings = Settings(
        _env_file=None,
        database_url=database_url,
        alerts=values,
        slack=slack or {},
        kpn={"read_timeout": 2.0, "connect_timeout": 1.0, "max_retry_seconds": 1.0},
    )
    return settings.with_sandbox(sandbox_url)


@dataclass
class AlertApp:
    url: str
    service: SmsService
    app: web.Application
    session: aiohttp.ClientSession
    metrics: Metrics

    async def post(
        self,
        path: str,
        body: bytes | dict[str, Any],
        *,
        token: str | None = TOKEN,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, Any]]:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        all_headers = {"Content-Type": "application/json", **(headers or {})}
        if token is not None:
            all_headers["Authorization"] = f"Bearer {token}"
        async with self.session.post(self.url + path, data=data, headers=all_headers) as resp:
            return resp.status, await resp.json()

    async def alertmanager(self, body: bytes | dict[str, Any], **kwargs: Any):
        return await self.post("/alerts/alertmanager", body, **kwargs)

    async def grafana(self, body: bytes | dict[str, Any], **kwargs: Any):
        return await self.post("/alerts/grafana", body, **kwargs)


class WithoutStore:
    """The service as the alert routes see it: everything but its store, so every alert test
    checks that the surface talks only to the service."""

    def __init__(self, service: SmsService) -> None:
        self._service = service

    def __getattr__(self, name: str) -> Any:
        if name == "store":
            raise AttributeError("an alert surface reached past the service to its store")
        return getattr(self._service, name)


@asynccontextmanager
async def running_alert_app(
    settings: Settings, *, directory: Any = None, retry_delays: tuple[float, float] = (0.05, 0.2)
) -> AsyncIterator[AlertApp]:
    """The outbox retries quickly while KPN is unreachable (`retry_delays`), for tests."""
    metrics = Metrics()
    async with open_service(settings, metrics=metrics, retry_delays=retry_delays) as service:
        app = web.Application()
        surface_view = WithoutStore(service)
        register(app, settings=settings, service=surface_view, metrics=metrics, directory=directory)
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        try:
            async with aiohttp.ClientSession() as session:
                yield AlertApp(str(server.make_url("")).rstrip("/"), service, app, session, metrics)
        finally:
            await server.close()


async def eventually(
    condition: Callable[[], Any], within: float = 10.0, step: float = 0.02
) -> None:
    """Wait until `condition()` is true; the outbox sends after the webhook has answered."""
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {within}s")
        await asyncio.sleep(step)
