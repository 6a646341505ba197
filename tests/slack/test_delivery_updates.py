"""Delivery shown where the Slack sender looks, end to end over loopback as `smsbot serve` runs:
a signed `/sms` to the bot, the SMS to the sandbox, the sandbox's report to the bot's signed
delivery URL, the stored state, the confirmation updated at the fake Slack (`chat.update`), the
sender told of a failure, `/sms history` and `smsbot audit --json`. Both engines."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from pydantic import SecretStr

from smsbot.cli.main import main
from smsbot.cli.serve_cmd import RunningBot, SlackMode, running_bot
from smsbot.sandbox.testing import SandboxHandle, running_sandbox
from smsbot.settings import Settings
from smsbot.store import AuditRecord, Delivery
from tests.fakes import slack_requests as sr
from tests.fakes.slack_api import BOT_TOKEN, FakeSlackApi
from tests.fixtures.waiting import until
from tests.slack.conftest import set_up_workspace


@contextlib.asynccontextmanager
async def loop(
    fake_slack: FakeSlackApi, database_url: str, port: int
) -> AsyncIterator[tuple[RunningBot, SandboxHandle, sr.SlackSender]]:
    set_up_workspace(fake_slack)
    async with running_sandbox(delivery_delay_ms=0) as sandbox:
        settings = Settings(
            _env_file=None,
            database_url=database_url,
            public_url=f"http://127.0.0.1:{port}",
            slack={
                "bot_token": SecretStr(BOT_TOKEN),
                "signing_secret": SecretStr(sr.SIGNING_SECRET),
                "api_url": fake_slack.api_url,
            },
            allow={"users": ["U0ALICE"]},
            timezone="UTC",
        ).with_sandbox(sandbox.url)
        async with (
            running_bot(settings, host="127.0.0.1", port=port, mode=SlackMode.HTTP) as bot,
            aiohttp.ClientSession() as http,
        ):
            yield bot, sandbox, sr.SlackSender(http, f"{bot.url}/slack/events")


async def send(bot: RunningBot, slack: sr.SlackSender, fake: FakeSlackApi) -> AuditRecord:
    form = sr.slash_command_form(
        "0612345678 Server room door is open",
        user_id="U0ALICE",
        channel_id="C0GENERAL",
        response_url=fake.response_url("r1"),
    )
    status, _ = await slack.command(form)
    assert status == 200

    async def reported() -> AuditRecord | None:
        [record] = await bot.service.store.recent(1) or [None]
        return record if record is not None and shows_final(fake, record) else None

    return await until(reported, "the report stored and the confirmation updated")


def shows_final(fake: FakeSlackApi, record: AuditRecord) -> bool:
    """The record's delivery is final and its confirmation shows a final state."""
    if record.delivery is None or not record.delivery.is_final or not record.slack_ts:
        return False
    message = confirmation(fake, record)
    return bool(message.get("attachments")) and shown_delivery(message)[0] in "✓✗"


def confirmation(fake: FakeSlackApi, record: AuditRecord) -> dict[str, Any]:
    [message] = [m for m in fake.messages if m["ts"] == record.slack_ts]
    return message


def shown_delivery(message: dict[str, Any]) -> str:
    [attachment] = message["attachments"]
    [context] = attachment["blocks"]
    return str(context["elements"][0]["text"])


async def test_a_delivered_sms_updates_its_confirmation_and_the_audit(
    fake_slack: FakeSlackApi, database_url: str, unused_tcp_port: int, monkeypatch
):
    async with loop(fake_slack, database_url, unused_tcp_port) as (bot, _sandbox, slack):
        record = await send(bot, slack, fake_slack)
        assert record.delivery is Delivery.DELIVERED
        assert record.slack_channel == "C0GENERAL"
        message = confirmation(fake_slack, record)
        # Updated in place: the confirmation's own blocks (with the SMS text) are kept.
        assert "Server room door is open" in json.dumps(message["blocks"])
        assert shown_delivery(message).startswith("✓ delivered ")
        assert shown_delivery(message).endswith(" s)") and " UTC (" in shown_delivery(message)
        update = fake_slack.calls_to("chat.update")[-1]
        assert (update.args["channel"], update.args["ts"]) == ("C0GENERAL", record.slack_ts)
        assert fake_slack.ephemerals == []  # a delivery is no news worth a second message

    monkeypatch.setenv("SMSBOT_DATABASE_URL", database_url)
    for name in list(os.environ):
        if name.startswith("SMSBOT_") and name != "SMSBOT_DATABASE_URL":
            monkeypatch.delenv(name)
    read, write = os.pipe()
    with os.fdopen(read) as output, os.fdopen(write, "w") as into:
        with contextlib.redirect_stdout(into):
            assert await asyncio.to_thread(main, ["audit", "--json", "--limit", "1"]) == 0
        into.close()
        [row] = json.loads(output.read())
    assert row["request_id"] == record.request_id
    assert row["delivery"] == "delivered"
    assert row["delivered_at"] == record.delivered_at.isoformat()


async def test_a_failure_updates_the_confirmation_and_tells_the_sender(
    fake_slack: FakeSlackApi, database_url: str, unused_tcp_port: int
):
    async with loop(fake_slack, database_url, unused_tcp_port) as (bot, sandbox, slack):
        sandbox.script_delivery("failed", error_code="007")
        record = await send(bot, slack, fake_slack)
        assert (record.delivery, record.delivery_code) == (Delivery.FAILED, "007")
        reason = "recipient is temporarily unreachable or out of coverage (007)"
        assert shown_delivery(confirmation(fake_slack, record)) == f"✗ not delivered: {reason}"

        # Told privately through the command's response_url (ephemeral, in C0GENERAL).
        def told() -> list[dict[str, Any]]:
            return [
                p.body
                for p in fake_slack.response_posts
                if "did not reach" in p.body.get("text", "")
            ]

        await fake_slack.wait_for(told)
        [note] = told()
        assert note["response_type"] == "ephemeral"
        assert f"did not reach the phone: {reason}" in note["text"]
        assert "+31612345678" not in note["text"]  # masked

        form = sr.slash_command_form(
            "history", user_id="U0ALICE", channel_id="C0GENERAL",
            response_url=fake_slack.response_url("r2"),
        )  # fmt: skip
        status, body = await slack.command(form)
        assert status == 200

        def history() -> str:
            posts = [p.body for p in fake_slack.response_posts if p.response_id == "r2"]
            return body + json.dumps(posts, ensure_ascii=False)

        await fake_slack.wait_for(lambda: "Your last SMS" in history())
        assert f"✗ not delivered: {reason}" in history()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_dutch_sender_reads_the_delivery_line_and_the_note_in_dutch(
    fake_slack: FakeSlackApi, database_url: str, unused_tcp_port: int
):
    async with loop(fake_slack, database_url, unused_tcp_port) as (bot, sandbox, slack):
        fake_slack.users["U0ALICE"].locale = "nl-NL"
        sandbox.script_delivery("failed", error_code="007")
        record = await send(bot, slack, fake_slack)
        reason = "de ontvanger is tijdelijk onbereikbaar of buiten bereik (007)"
        update = fake_slack.calls_to("chat.update")[-1]
        assert update.args["text"].startswith("Sms naar +31 6 ")
        assert update.args["text"].endswith(f": ✗ niet afgeleverd: {reason}")
        assert shown_delivery(confirmation(fake_slack, record)) == f"✗ niet afgeleverd: {reason}"

        def told() -> list[str]:
            return [
                p.body.get("text", "")
                for p in fake_slack.response_posts
                if "niet op de telefoon aangekomen" in p.body.get("text", "")
            ]

        await fake_slack.wait_for(told)
        assert f"niet op de telefoon aangekomen: {reason}." in told()[0]


async def test_a_confirmation_by_direct_message_is_updated_in_the_dm(
    fake_slack: FakeSlackApi, database_url: str, unused_tcp_port: int
):
    """A global shortcut has no channel: the confirmation goes to the person's DM, which Slack
    names by its D… id; that is the id an update must use."""
    async with loop(fake_slack, database_url, unused_tcp_port) as (bot, sandbox, _slack):
        from smsbot.sms.request import SendRequest, Surface

        sandbox.script_delivery("expired")
        request = SendRequest(
            actor="U0ALICE",
            surface=Surface.SLACK_SHORTCUT,
            to="0612345678",
            text="hello",
            reply={"user": "U0ALICE"},
        )
        result = await bot.service.submit(request)

        async def updated() -> AuditRecord | None:
            record = await bot.service.store.get(result.request_id)
            return record if record is not None and shows_final(fake_slack, record) else None

        record = await until(updated, "the DM confirmation updated")
        assert record.slack_channel == "D0ALICE"
        line = "✗ not delivered: message validity expired before delivery (024)"
        assert shown_delivery(confirmation(fake_slack, record)) == line
        # The confirmation was not in a channel: the sender is told by DM.
        await fake_slack.wait_for(lambda: len(fake_slack.messages) == 2)
        assert fake_slack.messages[-1]["channel"] == "D0ALICE"
        assert "did not reach the phone" in fake_slack.messages[-1]["text"]
