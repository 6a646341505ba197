"""The Slack notifier against the fake Slack Web API: where each kind of answer goes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest
from pydantic import SecretStr
from slack_sdk.web.async_client import AsyncWebClient

from smsbot.settings import Settings
from smsbot.slack.notifier import SlackNotifier
from smsbot.sms.request import Outcome, SendRequest, SendResult, Surface
from tests.fakes.slack_api import BOT_TOKEN, FakeSlackApi

SENT = SendResult(
    Outcome.SENT, "req-1", to="+31612345678", document_id="doc-1", parts=1, encoding="GSM-7"
)


@pytest.fixture
def notifier(fake_slack: FakeSlackApi) -> SlackNotifier:
    fake_slack.add_user("U1", "alice")
    settings = Settings(
        _env_file=None,
        slack={"bot_token": SecretStr(BOT_TOKEN), "admin_contact": "#it-help"},
    )
    return SlackNotifier(AsyncWebClient(token=BOT_TOKEN, base_url=fake_slack.api_url), settings)


def request(fake: FakeSlackApi, channel: str | None, *, response: bool = True) -> SendRequest:
    reply = {"user": "U1", "channel": channel}
    if response:
        reply["response_url"] = fake.response_url("r1")
    return SendRequest(
        actor="U1",
        surface=Surface.SLACK_COMMAND,
        to="0612345678",
        text="door <!channel>",
        channel=channel,
        reply=reply,
    )


async def test_confirmation_goes_to_the_channel_masked(
    fake_slack: FakeSlackApi, notifier: SlackNotifier
) -> None:
    fake_slack.add_channel("C1", "ops")
    await notifier.notify(request(fake_slack, "C1"), SENT)
    [message] = fake_slack.messages
    assert message["channel"] == "C1"
    assert "+31 6 ****5678" in message["text"] and "612345678" not in str(message)
    assert "doc-1" in str(message["blocks"]) and "<!channel>" not in str(message["blocks"])
    assert fake_slack.response_posts == []


@pytest.mark.parametrize("channel", ["C_NOT_MEMBER", "G_PRIVATE", "D123"])
async def test_confirmation_falls_back_to_response_url(
    fake_slack: FakeSlackApi, notifier: SlackNotifier, channel: str
) -> None:
    fake_slack.add_channel("C_NOT_MEMBER", "elsewhere", bot_is_member=False)
    fake_slack.add_channel("G_PRIVATE", "secret", bot_is_member=False, is_private=True)
    fake_slack.scopes -= {"chat:write.public"}  # installed before the app asked for it
    await notifier.notify(request(fake_slack, channel), SENT)
    [post] = fake_slack.posts_to("r1")
    assert post["response_type"] == "in_channel" and "doc-1" in post["text"]
    assert fake_slack.messages == []


async def test_without_channel_or_response_url_the_person_gets_a_dm(
    fake_slack: FakeSlackApi, notifier: SlackNotifier
) -> None:
    await notifier.notify(request(fake_slack, None, response=False), SENT)
    [call] = fake_slack.calls_to("chat.postMessage")
    assert call.args["channel"] == "U1"  # Slack posts this in the app's DM with the person
    assert "doc-1" in call.args["text"]


@pytest.mark.parametrize(
    ("result", "says"),
    [
        (
            SendResult(Outcome.REFUSED, "r", reason="Not allowed. Ask #it-help.", rule="allowlist"),
            lambda text: text.startswith("Not sent: Not allowed. Ask #it-help."),
        ),
        (
            SendResult(Outcome.FAILED, "r", to="+31612345678", reason="KPN is unavailable"),
            lambda text: text == "Your SMS to +31 6 ****5678 was not sent: KPN is unavailable.",
        ),
        (
            SendResult(Outcome.UNKNOWN, "r", to="+31612345678", reason="no answer in 15 s"),
            lambda text: (
                "may not have arrived: no answer in 15 s" in text
                and "does not resend it on its own (request r)" in text
            ),
        ),
    ],
)
async def test_problems_are_ephemeral(
    fake_slack: FakeSlackApi,
    notifier: SlackNotifier,
    result: SendResult,
    says: Callable[[str], bool],
) -> None:
    fake_slack.add_channel("C1", "ops")
    await notifier.notify(request(fake_slack, "C1"), result)
    [post] = fake_slack.posts_to("r1")
    assert post["response_type"] == "ephemeral"
    assert says(post["text"]), post["text"]
    assert fake_slack.messages == []


async def test_problem_without_response_url_uses_post_ephemeral(
    fake_slack: FakeSlackApi, notifier: SlackNotifier
) -> None:
    fake_slack.add_channel("C1", "ops")
    failed = SendResult(Outcome.FAILED, "r", reason="KPN is unavailable")
    await notifier.notify(request(fake_slack, "C1", response=False), failed)
    [call] = fake_slack.calls_to("chat.postEphemeral")
    assert call.args["user"] == "U1" and call.args["channel"] == "C1"


async def test_already_told_stays_quiet(fake_slack: FakeSlackApi, notifier: SlackNotifier) -> None:
    told = SendRequest("U1", Surface.SLACK_MODAL, "x", "y", reply={"told": True, "user": "U1"})
    await notifier.notify(told, SendResult(Outcome.REFUSED, "r", rule="allowlist"))
    assert fake_slack.calls == [] and fake_slack.response_posts == []


async def test_expired_response_url_falls_back_to_post_ephemeral(
    fake_slack: FakeSlackApi, notifier: SlackNotifier
) -> None:
    fake_slack.add_channel("C1", "ops")
    gone = request(fake_slack, "C1", response=False)
    gone = replace(gone, reply={**gone.reply, "response_url": fake_slack.url + "/expired/r1"})
    await notifier.notify(gone, SendResult(Outcome.FAILED, "r", reason="KPN is unavailable"))
    [call] = fake_slack.calls_to("chat.postEphemeral")
    assert "KPN is unavailable" in call.args["text"]


async def test_blocks_slack_refuses_still_leave_the_text(
    fake_slack: FakeSlackApi, notifier: SlackNotifier
) -> None:
    fake_slack.add_channel("C1", "ops")
    fake_slack.script("chat.postMessage", {"ok": False, "error": "invalid_blocks"})
    await notifier.notify(request(fake_slack, "C1"), SENT)
    [message] = fake_slack.messages
    assert "doc-1" in message["text"] and message["blocks"] == []
