"""A running bot for scenario tests: the real service on SQLite, the real sandbox, the Bolt app
served over loopback HTTP by `smsbot.web`, and the fake Slack Web API it talks to.

The workspace, set up the same way for every test:

| who      | id        | phone on profile | may send because                 |
|----------|-----------|------------------|----------------------------------|
| alice    | U0ALICE   | 06 1111 2222     | listed by user id                |
| bob      | U0BOB     | +31 6 3333 4444  | member of the user group S0ONCALL|
| carol    | U0CAROL   | 0655556666       | only from the listed channel C0OPS |
| dave     | U0DAVE    | (none)           | no                               |
| erin     | U0ERIN    | +44 7700 900123  | no                               |

Channels: C0GENERAL and C0OPS (the bot is a member), C0OUTSIDE (public, it is not: chat:write.public
still posts there), G0PRIVATE (private, it is not: Slack says channel_not_found).
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from pydantic import SecretStr

from smsbot.bootstrap import SlackMode
from smsbot.cli.serve_cmd import SERVING_OUTBOX, running_bot
from smsbot.metrics import Metrics
from smsbot.outbox import OutboxOptions
from smsbot.sandbox.testing import SandboxHandle
from smsbot.service import SmsService
from smsbot.settings import Settings
from smsbot.store import AuditRecord
from tests.fakes import slack_requests as sr
from tests.fakes.slack_api import BOT_TOKEN, FakeSlackApi
from tests.fixtures.waiting import WITHIN_SECONDS, until

ADMIN_CONTACT = "#sms-admins"
_responses = itertools.count(1)


@dataclass
class SlackBot:
    settings: Settings
    service: SmsService
    metrics: Metrics
    fake: FakeSlackApi
    sandbox: SandboxHandle
    slack: sr.SlackSender

    def new_response_url(self) -> tuple[str, str]:
        response_id = f"resp{next(_responses)}"
        return response_id, self.fake.response_url(response_id)

    def command_form(
        self, text: str, *, user: str = "U0ALICE", channel: str = "C0GENERAL", **kwargs: Any
    ) -> tuple[dict[str, str], str]:
        response_id, url = self.new_response_url()
        form = sr.slash_command_form(
            text, user_id=user, channel_id=channel, response_url=url, **kwargs
        )
        return form, response_id

    async def command(
        self, text: str, *, user: str = "U0ALICE", channel: str = "C0GENERAL"
    ) -> tuple[int, str, str]:
        """Post `/sms text`; returns the ack's status and body, and the response_url's id."""
        form, response_id = self.command_form(text, user=user, channel=channel)
        status, body = await self.slack.command(form)
        return status, body, response_id

    async def wait_for(self, condition: Any, within: float = WITHIN_SECONDS) -> None:
        await self.fake.wait_for(condition, within)

    async def records(self, count: int, within: float = WITHIN_SECONDS) -> list[AuditRecord]:
        """The newest audit records, once there are at least `count` (work after the ack)."""

        async def enough() -> list[AuditRecord] | None:
            records = await self.service.recent()
            return records if len(records) >= count else None

        found = await until(enough, f"{count} audit records", within=within)
        assert found is not None
        return found


def bot_settings(fake: FakeSlackApi, sandbox: SandboxHandle, tmp_path: Path) -> Settings:
    return Settings(
        _env_file=None,
        slack={
            "bot_token": SecretStr(BOT_TOKEN),
            "signing_secret": SecretStr(sr.SIGNING_SECRET),
            "api_url": fake.api_url,
            "admin_contact": ADMIN_CONTACT,
        },
        allow={"users": ["U0ALICE"], "usergroups": ["S0ONCALL"], "channels": ["C0OPS"]},
        database_url=f"sqlite:///{tmp_path / 'smsbot.db'}",
    ).with_sandbox(sandbox.url)


def set_up_workspace(fake: FakeSlackApi) -> None:
    fake.add_user("U0ALICE", "alice", phone="06 1111 2222")
    fake.add_user("U0BOB", "bob", phone="+31 6 3333 4444")
    fake.add_user("U0CAROL", "carol", phone="0655556666")
    fake.add_user("U0DAVE", "dave")
    fake.add_user("U0ERIN", "erin", phone="+44 7700 900123")
    fake.add_usergroup("S0ONCALL", ["U0BOB"])
    fake.add_channel("C0GENERAL", "general")
    fake.add_channel("C0OPS", "ops")
    fake.add_channel("C0OUTSIDE", "outside", bot_is_member=False)
    fake.add_channel("G0PRIVATE", "private", bot_is_member=False, is_private=True)


@contextlib.asynccontextmanager
async def serving_bot(
    settings: Settings,
    *,
    slack_session: aiohttp.ClientSession | None = None,
    outbox: OutboxOptions = SERVING_OUTBOX,
) -> AsyncIterator[tuple[SmsService, Metrics, sr.SlackSender]]:
    """The whole bot as `smsbot serve` runs it (`running_bot`), in HTTP mode on a free loopback
    port: one session for the calls to Slack (`slack_session`, or one of its own), `auth.test`
    asked before serving; the step permissions are not synced at start. `outbox` as serve's,
    unless a test shortens its waits."""
    async with (
        running_bot(
            settings,
            host="127.0.0.1",
            port=0,
            mode=SlackMode.HTTP,
            slack_session=slack_session,
            outbox=outbox,
            sync_step_permissions=False,  # tests of the step sync when they mean to
        ) as bot,
        aiohttp.ClientSession() as session,
    ):
        yield bot.service, bot.metrics, sr.SlackSender(session, f"{bot.url}/slack/events")


@pytest.fixture
async def slack_bot(
    fake_slack: FakeSlackApi, sandbox: SandboxHandle, tmp_path: Path
) -> AsyncIterator[SlackBot]:
    set_up_workspace(fake_slack)
    settings = bot_settings(fake_slack, sandbox, tmp_path)
    async with serving_bot(settings) as (service, metrics, sender):
        yield SlackBot(settings, service, metrics, fake_slack, sandbox, sender)
