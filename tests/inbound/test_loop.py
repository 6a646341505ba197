"""The two-way loop over loopback, composed as `smsbot serve` composes it: an SMS sent from
Slack (signed requests to the bot, the fake Slack Web API), the phone's reply from the sandbox
(KPN's inbound payload to the bot's webhook), the reply as a thread reply at the fake Slack, and
the answer by the "Reply by SMS" button, which reaches the sandbox's phone."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from pydantic import SecretStr

from smsbot.cli.serve_cmd import RunningBot, SlackMode, running_bot
from smsbot.sandbox.testing import SandboxHandle
from smsbot.settings import Settings
from smsbot.slack import blocks
from smsbot.store import AuditRecord, InboundOutcome, InboundRecord
from tests.fakes import slack_requests as sr
from tests.fakes.slack_api import FakeSlackApi
from tests.fixtures.waiting import until
from tests.slack.conftest import bot_settings, set_up_workspace

TOKEN = "inbound-token-0123456789"
REPLY_NUMBER = "097012345678"
PHONE = "+31612345678"


@dataclass
class Loop:
    bot: RunningBot
    fake: FakeSlackApi
    sandbox: SandboxHandle
    slack: sr.SlackSender
    http: aiohttp.ClientSession

    async def phone_replies(self, content: str, phone: str = PHONE) -> dict[str, Any]:
        body = {"from": phone, "content": content}
        async with self.http.post(self.sandbox.url + "/sandbox/inbound", json=body) as response:
            assert response.status == 200, await response.text()
            return await response.json()

    async def inbound(self, count: int) -> list[InboundRecord]:
        """The inbound records, once `count` are stored and none is still being handled."""

        async def handled() -> list[InboundRecord] | None:
            found = await self.bot.service.store.recent_inbound()
            done = [r for r in found if r.outcome is not InboundOutcome.RECEIVED]
            return found if len(done) >= count else None

        return await until(handled, f"{count} inbound SMS handled")

    def posted(self, **where: Any) -> list[dict[str, Any]]:
        return [m for m in self.fake.messages if all(m.get(k) == v for k, v in where.items())]


def loop_settings(fake: FakeSlackApi, sandbox: SandboxHandle, tmp_path: Path, **extra) -> Settings:
    settings = bot_settings(fake, sandbox, tmp_path)
    kpn = settings.kpn.model_copy(
        update={"reply_number": "+3197012345678", "inbound_token": SecretStr(TOKEN)}
    )
    replies = settings.replies.model_copy(update=extra)
    return settings.model_copy(update={"kpn": kpn, "replies": replies})


@contextlib.asynccontextmanager
async def running_loop(
    fake: FakeSlackApi, sandbox: SandboxHandle, settings: Settings
) -> AsyncIterator[Loop]:
    set_up_workspace(fake)
    async with (
        running_bot(settings, host="127.0.0.1", port=0, mode=SlackMode.HTTP) as bot,
        aiohttp.ClientSession() as http,
    ):
        sandbox.set_inbound_webhook(f"{bot.url}/kpn/inbound/{TOKEN}")
        yield Loop(bot, fake, sandbox, sr.SlackSender(http, bot.url + "/slack/events"), http)


@pytest.fixture
def settings(fake_slack: FakeSlackApi, sandbox: SandboxHandle, tmp_path: Path) -> Settings:
    return loop_settings(fake_slack, sandbox, tmp_path)


async def send_from_slack(loop: Loop, text: str = "Can you call me back?") -> dict[str, Any]:
    """/sms from alice in #general; the confirmation message as the fake Slack stored it."""
    url = loop.fake.response_url(f"resp-{len(loop.fake.messages)}")
    form = sr.slash_command_form(
        f"0612345678 {text}", user_id="U0ALICE", channel_id="C0GENERAL", response_url=url
    )
    status, _ = await loop.slack.command(form)
    assert status == 200
    await until(lambda: loop.posted(channel="C0GENERAL"), "the confirmation")
    [confirmation] = loop.posted(channel="C0GENERAL")
    return confirmation


def button_of(message: dict[str, Any]) -> dict[str, Any]:
    [button] = [
        element
        for block in message["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
        if element.get("action_id") == blocks.REPLY_ACTION
    ]
    return button


async def test_a_reply_from_the_phone_lands_in_the_confirmations_thread(
    fake_slack: FakeSlackApi, sandbox: SandboxHandle, settings: Settings
) -> None:
    async with running_loop(fake_slack, sandbox, settings) as loop:
        confirmation = await send_from_slack(loop)
        [sms] = loop.sandbox.messages()
        assert sms["sender"] == "3197012345678"  # sent from the reply number, so it can be answered
        assert button_of(confirmation)["text"]["text"] == "Reply by SMS"
        assert PHONE not in str(confirmation)

        await loop.phone_replies("Sure, in 5 minutes")
        [record] = await loop.inbound(1)
        assert record.outcome is InboundOutcome.THREADED
        [thread_reply] = loop.posted(thread_ts=confirmation["ts"])
        assert thread_reply["channel"] == "C0GENERAL"
        shown = str(thread_reply["blocks"])
        assert "Sure, in 5 minutes" in shown and "+31 6 ****5678" in shown and PHONE not in shown
        assert record.slack_ts == confirmation["ts"] and record.text is None
        assert not loop.fake.calls_to("conversations.history")  # no channel messages are read


async def test_mention_injection_in_a_reply_is_escaped(
    fake_slack: FakeSlackApi, sandbox: SandboxHandle, settings: Settings
) -> None:
    async with running_loop(fake_slack, sandbox, settings) as loop:
        confirmation = await send_from_slack(loop)
        await loop.phone_replies("<!channel> <@U0BOB> <https://evil.example|click> & more")
        await loop.inbound(1)
        [thread_reply] = loop.posted(thread_ts=confirmation["ts"])
        shown = str(thread_reply["blocks"]) + thread_reply["text"]
        assert "<!channel>" not in shown and "<@U0BOB>" not in shown and "<https://" not in shown
        assert "&lt;!channel&gt;" in shown and "&amp; more" in shown


async def test_answering_by_the_button_reaches_the_phone_and_continues_the_thread(
    fake_slack: FakeSlackApi, sandbox: SandboxHandle, settings: Settings
) -> None:
    async with running_loop(fake_slack, sandbox, settings) as loop:
        confirmation = await send_from_slack(loop)
        await loop.phone_replies("Which door?")
        await loop.inbound(1)
        [thread_reply] = loop.posted(thread_ts=confirmation["ts"])
        click = sr.message_button_payload(
            user_id="U0ALICE",
            channel_id="C0GENERAL",
            message=thread_reply,
            action=button_of(thread_reply),
        )
        status, _ = await loop.slack.interaction(click)
        assert status == 200
        await until(lambda: loop.fake.calls_to("views.open"), "the form opened")
        view = loop.fake.views[next(iter(loop.fake.views))]
        assert view["title"]["text"] == "Reply by SMS"
        assert "+31 6 ****5678" in str(view["blocks"]) and PHONE not in str(view)
        values = {
            blocks.SENDER_BLOCK: {blocks.SENDER_ACTION: sr.text_value(None)},
            blocks.TEXT_BLOCK: {blocks.TEXT_ACTION: sr.text_value("The blue one")},
        }
        submit = sr.view_submission_payload(user_id="U0ALICE", view=view, values=values)
        status, _ = await loop.slack.interaction(submit)
        assert status == 200
        await until(lambda: len(loop.sandbox.messages()) == 2, "the answer at the phone")
        answer = loop.sandbox.messages()[-1]
        assert answer["mobile_number"] == PHONE and answer["content"] == "The blue one"
        assert answer["sender"] == "3197012345678"
        # Its confirmation is in the same thread, and the phone's next reply goes there too.
        await until(lambda: len(loop.posted(thread_ts=confirmation["ts"])) == 2, "its confirmation")
        await loop.phone_replies("Thanks!")
        await loop.inbound(2)
        assert len(loop.posted(thread_ts=confirmation["ts"])) == 3


async def test_the_button_applies_the_allowlist(
    fake_slack: FakeSlackApi, sandbox: SandboxHandle, settings: Settings
) -> None:
    async with running_loop(fake_slack, sandbox, settings) as loop:
        confirmation = await send_from_slack(loop)
        click = sr.message_button_payload(
            user_id="U0DAVE",
            channel_id="C0GENERAL",
            message=confirmation,
            action=button_of(confirmation),
        )
        assert (await loop.slack.interaction(click))[0] == 200
        await until(lambda: loop.fake.calls_to("views.open"), "the form opened")
        view = loop.fake.views[next(iter(loop.fake.views))]
        values = {blocks.TEXT_BLOCK: {blocks.TEXT_ACTION: sr.text_value("sneaky")}}
        submit = sr.view_submission_payload(user_id="U0DAVE", view=view, values=values)
        assert (await loop.slack.interaction(submit))[0] == 200
        [refused] = await until(lambda: _refused(loop), "the refusal recorded")
        assert refused.recipient == PHONE and len(loop.sandbox.messages()) == 1


async def _sent_alerts(loop: Loop) -> list[AuditRecord]:
    return [r for r in await loop.bot.service.recent() if str(r.surface) == "alertmanager"]


async def _with_conversation(loop: Loop) -> list[AuditRecord]:
    return [r for r in await _sent_alerts(loop) if r.slack_ts]


async def _refused(loop: Loop) -> list[object] | None:
    records = await loop.bot.service.recent()
    refused = [r for r in records if r.actor == "U0DAVE" and str(r.outcome) == "refused"]
    return refused or None


async def test_a_reply_with_no_conversation_goes_to_the_replies_channel(
    fake_slack: FakeSlackApi, sandbox: SandboxHandle, tmp_path: Path
) -> None:
    settings = loop_settings(fake_slack, sandbox, tmp_path, channel="C0OPS")
    async with running_loop(fake_slack, sandbox, settings) as loop:
        await loop.phone_replies("Who is this?")
        [record] = await loop.inbound(1)
        assert record.outcome is InboundOutcome.POSTED and record.conversation is None
        [posted] = loop.posted(channel="C0OPS")
        assert "thread_ts" not in posted and "Who is this?" in str(posted["blocks"])


async def test_a_reply_with_no_conversation_and_no_channel_is_audited_and_dropped(
    fake_slack: FakeSlackApi, sandbox: SandboxHandle, settings: Settings
) -> None:
    async with running_loop(fake_slack, sandbox, settings) as loop:
        await loop.phone_replies("Who is this?")
        [record] = await loop.inbound(1)
        assert record.outcome is InboundOutcome.DROPPED
        assert loop.fake.messages == []
        [shown] = [
            r
            for r in await loop.bot.service.recent_both_ways()
            if r.to_json()["direction"] == "inbound"
        ]
        assert shown.to_json()["outcome"] == "dropped"


async def test_a_reply_to_an_alert_sms_lands_under_its_mirror(
    fake_slack: FakeSlackApi, sandbox: SandboxHandle, tmp_path: Path
) -> None:
    """An alert SMS mirrored to its route's channel: a reply that is no alert command goes in
    the mirror's thread (the group's message, or the SMS's own mirror)."""
    from tests.alerts.oncall import ON_CALL, firing, oncall_settings, post_alert

    alert_settings = oncall_settings(
        sandbox.url, f"sqlite:///{tmp_path / 'alerts.db'}", mirror_channel="C0OPS"
    )
    slack = loop_settings(fake_slack, sandbox, tmp_path).slack
    kpn = alert_settings.kpn.model_copy(update={"inbound_token": SecretStr(TOKEN)})
    settings = alert_settings.model_copy(update={"slack": slack, "kpn": kpn})
    async with running_loop(fake_slack, sandbox, settings) as loop:
        await post_alert(loop.http, loop.bot.url, firing())
        await until(
            lambda: [m for m in sandbox.messages() if m["mobile_number"] == ON_CALL], "alert SMS"
        )
        [sent] = await until(lambda: _with_conversation(loop), "the mirror stored")
        await loop.phone_replies("On my way, 10 minutes", phone=ON_CALL)
        [record] = await loop.inbound(1)
        assert record.outcome is InboundOutcome.THREADED, record
        assert record.conversation == sent.request_id
        [thread_reply] = loop.posted(thread_ts=sent.reply.get("thread_ts") or sent.slack_ts)[-1:]
        assert thread_reply["channel"] == "C0OPS"
        assert "On my way, 10 minutes" in str(thread_reply["blocks"])


async def test_a_reply_from_a_person_picked_by_profile_shows_their_name(
    fake_slack: FakeSlackApi, sandbox: SandboxHandle, settings: Settings
) -> None:
    async with running_loop(fake_slack, sandbox, settings) as loop:
        url = loop.fake.response_url("resp-alice")
        form = sr.slash_command_form(
            "<@U0BOB|bob> Standup moved",
            user_id="U0ALICE",
            channel_id="C0GENERAL",
            response_url=url,
        )
        assert (await loop.slack.command(form))[0] == 200
        [confirmation] = await until(lambda: loop.posted(channel="C0GENERAL"), "the confirmation")
        await loop.phone_replies("ok", phone="+31633334444")  # bob's profile phone
        await loop.inbound(1)
        [thread_reply] = loop.posted(thread_ts=confirmation["ts"])
        assert "SMS reply from bob (+31 6 ****4444)" in str(thread_reply["blocks"])


async def test_a_reply_in_a_dutch_senders_thread_is_said_in_dutch(
    fake_slack: FakeSlackApi, sandbox: SandboxHandle, settings: Settings
) -> None:
    async with running_loop(fake_slack, sandbox, settings) as loop:
        loop.fake.users["U0ALICE"].locale = "nl-NL"  # alice sent the SMS and reads Dutch
        url = loop.fake.response_url("resp-alice")
        form = sr.slash_command_form(
            "<@U0BOB|bob> Standup verplaatst",
            user_id="U0ALICE",
            channel_id="C0GENERAL",
            response_url=url,
        )
        assert (await loop.slack.command(form))[0] == 200
        [confirmation] = await until(lambda: loop.posted(channel="C0GENERAL"), "the confirmation")
        assert confirmation["text"].startswith("Sms verstuurd naar @bob")
        await loop.phone_replies("ok", phone="+31633334444")
        await loop.inbound(1)
        [thread_reply] = loop.posted(thread_ts=confirmation["ts"])
        assert thread_reply["text"] == "Sms-antwoord van bob (+31 6 ****4444)"
        assert "Antwoorden per sms" in str(thread_reply["blocks"])
