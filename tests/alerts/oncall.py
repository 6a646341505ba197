"""The on-call loop running for real: the bot as `smsbot serve` composes it (`running_bot`,
Slack off unless a bot token is set for the mirror) on loopback, the sandbox as KPN, the store
on an injected clock (escalation steps fall due when the test moves it), and replies handed to
the alert reply handler as the inbound pipeline hands them."""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import aiohttp
from pydantic import SecretStr

from smsbot.alerts.commands import AlertCommandHandler
from smsbot.alerts.escalation import EscalationTimer
from smsbot.alerts.groups import AlertGroups
from smsbot.alerts.routing import Route
from smsbot.alerts.silences import SilencesClient
from smsbot.service import SmsService
from smsbot.settings import Settings
from smsbot.store import ManualClock
from tests.alerts.harness import TOKEN, running_alert_app
from tests.alerts.payloads import load
from tests.fakes import slack_requests as sr
from tests.fakes.slack_api import BOT_TOKEN

ON_CALL = "+31612345678"
SECOND = "+31687654321"
REPLY_NUMBER = "+3197012345678"


def oncall_settings(sandbox_url: str, database_url: str, **route: Any) -> Settings:
    """One route to `ON_CALL` that escalates to `SECOND` after 5 minutes (unless `route`
    says otherwise), with a reply number."""
    table = {
        "name": "on-call",
        "recipients": [ON_CALL],
        "escalate": [{"after": "5m", "to": [SECOND]}],
        **route,
    }
    settings = Settings(
        _env_file=None,
        database_url=database_url,
        alerts={"token": TOKEN, "routes": [table]},
        kpn={
            "read_timeout": 2.0,
            "connect_timeout": 1.0,
            "max_retry_seconds": 1.0,
            "reply_number": REPLY_NUMBER,
        },
    )
    return settings.with_sandbox(sandbox_url)


@dataclass(frozen=True)
class Inbound:
    """An inbound SMS as the reply handlers see it."""

    sender: str
    text: str
    request_id: str = field(default_factory=lambda: secrets.token_hex(16))


@dataclass
class OnCall:
    url: str
    service: SmsService
    groups: AlertGroups
    commands: AlertCommandHandler
    timer: EscalationTimer
    clock: ManualClock
    session: aiohttp.ClientSession

    async def alert(self, body: dict[str, Any]) -> dict[str, Any]:
        async with self.session.post(
            self.url + "/alerts/alertmanager",
            data=json.dumps(body),
            headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
        ) as response:
            assert response.status == 200, await response.text()
            return await response.json()

    async def reply(self, sender: str, text: str) -> bool:
        return await self.commands.handle(Inbound(sender, text))

    async def later(self, by: timedelta) -> list[Any]:
        """Move the clock on by `by` and run the escalation timer once; the steps it fired."""
        self.clock.advance(by)
        return await self.timer.tick()


@asynccontextmanager
async def running_oncall(
    settings: Settings,
    *,
    clock: ManualClock | None = None,
    silences: Callable[[Route], SilencesClient] | None = None,
) -> AsyncIterator[OnCall]:
    """`silences` gives the Alertmanager client (default: from the settings)."""
    # Each reading a millisecond on, so rows stamped one after the other keep their order.
    clock = clock or ManualClock(tick=timedelta(milliseconds=1))
    async with running_alert_app(
        settings, clock=clock, timers_tick=3600.0, silences=silences
    ) as running:  # the test runs the escalation timer itself, on its clock
        alerts = running.parts
        groups, commands, timer = alerts.groups, alerts.commands, alerts.timer
        assert groups is not None and commands is not None and timer is not None, "on-call on"
        yield OnCall(
            running.url,
            running.service,
            groups,
            commands,
            timer,
            clock,
            running.session,
        )


def slack_oncall_settings(
    sandbox_url: str,
    fake: Any,
    database_url: str,
    port: int,
    route: dict[str, Any],
    **alerts: Any,
) -> Settings:
    """The bot with Slack (the fake at `fake`), delivery reports coming back to `port`, the
    reply number, and one alert route `on-call` to U0ALICE mirrored to C0ALERTS, with `route`'s
    settings."""
    return Settings(
        _env_file=None,
        database_url=database_url,
        public_url=f"http://127.0.0.1:{port}",  # delivery reports come back
        slack={
            "bot_token": SecretStr(BOT_TOKEN),
            "signing_secret": SecretStr(sr.SIGNING_SECRET),
            "api_url": fake.api_url,
        },
        allow={"users": ["U0ALICE"]},
        alerts={
            "token": TOKEN,
            "routes": [
                {
                    "name": "on-call",
                    "recipients": ["U0ALICE"],
                    "mirror_channel": "C0ALERTS",
                    **route,
                }
            ],
            **alerts,
        },
        kpn={"reply_number": REPLY_NUMBER, "read_timeout": 2.0, "max_retry_seconds": 1.0},
    ).with_sandbox(sandbox_url)


async def post_alert(http: aiohttp.ClientSession, bot_url: str, body: dict[str, Any]) -> None:
    """POST `body` to a running bot's Alertmanager route, as Alertmanager does."""
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with http.post(f"{bot_url}/alerts/alertmanager", json=body, headers=headers) as answer:
        assert answer.status == 200, await answer.text()


def firing(**changes: Any) -> dict[str, Any]:
    body = load("alertmanager_firing")
    body.update(changes)
    return body


def resolved(body: dict[str, Any]) -> dict[str, Any]:
    done = json.loads(json.dumps(body))
    done["status"] = "resolved"
    for alert in done["alerts"]:
        alert["status"] = "resolved"
    return done


DISK_FULL = {"alertname": "DiskFull", "instance": "db1:9100", "severity": "page"}


def alertmanager_config(hook_url: str) -> str:
    """A real Alertmanager notifying smsbot at `hook_url` with the bearer token."""
    # Grouped by alertname: DiskFull and CpuHot are two groups, so two alert SMS.
    return json.dumps(
        {
            "route": {
                "receiver": "smsbot",
                "group_by": ["alertname"],
                "group_wait": "0s",
                "group_interval": "1s",
                "repeat_interval": "1h",
            },
            "receivers": [
                {
                    "name": "smsbot",
                    "webhook_configs": [
                        {
                            "url": hook_url,
                            "http_config": {
                                "authorization": {"type": "Bearer", "credentials": TOKEN}
                            },
                        }
                    ],
                }
            ],
        }
    )
