"""The alert routes running for real: the bot as `smsbot serve` composes it (without Slack),
the service on SQLite, the sandbox as KPN, served on loopback and posted to over HTTP."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web

from smsbot.alerts.parts import AlertParts, SilencesFor
from smsbot.cli.serve_cmd import running_bot
from smsbot.metrics import Metrics
from smsbot.outbox import OutboxOptions
from smsbot.service import SmsService
from smsbot.settings import Settings
from smsbot.store import Clock, utcnow

TOKEN = "alert-token-0123456789"
ON_CALL = "+31612345678"


# How often the outbox looks for due rows (serve: each second): a retry after KPN was down is
# due 0.05 s later, and is sent then, not at the next whole second.
POLL_SECONDS = 0.05


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
    parts: AlertParts  # the bot's alert parts: intake, storm summaries, timers

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


@asynccontextmanager
async def running_alert_app(
    settings: Settings,
    *,
    retry_delays: tuple[float, float] = (0.05, 0.2),
    clock: Clock = utcnow,
    timers_tick: float | None = None,
    silences: SilencesFor | None = None,
) -> AsyncIterator[AlertApp]:
    """The bot as `smsbot serve` runs it without Slack, on a free loopback port; the outbox
    retries quickly while KPN is unreachable (`retry_delays`), for tests. `clock` is the time
    of the whole bot (store, outbox, alert intake, storm summaries); `timers_tick` how often
    its durable timers (escalation, repeats of unknown SMS) look on their own (tests that
    tick them themselves make it rare); `silences` gives the Alertmanager client (default: from
    the settings)."""
    outbox = OutboxOptions(retry_delays=retry_delays, poll_seconds=POLL_SECONDS)
    async with (
        running_bot(
            settings,
            host="127.0.0.1",
            port=0,
            mode=None,
            outbox=outbox,
            clock=clock,
            escalation_tick=timers_tick,
            silences=silences,
        ) as running,
        aiohttp.ClientSession() as session,
    ):
        bot = running.bot
        yield AlertApp(running.url, bot.service, bot.web, session, bot.metrics, bot.alerts)
