"""The work on the way to an ack, and what the bot's Slack calls cost: `auth.test` is asked
once, before serving; the ack does not wait for the number rules; calls to Slack share their
connections."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest

from smsbot.sandbox.testing import SandboxHandle
from smsbot.slack.command_text import Help, Unclear, parse, reply_in_ack
from tests.fakes import slack_requests as sr
from tests.fakes.slack_api import FakeSlackApi
from tests.slack.conftest import SlackBot, bot_settings, serving_bot, set_up_workspace


@pytest.mark.parametrize(
    ("text", "answered_in_ack"),
    [
        ("", None),  # the form
        ("  ", None),
        ("help", Help),
        (" HELP ", Help),
        ("?", Help),
        ("-h", Help),
        ("--help", Help),
        ("history", None),  # looked up after the ack
        ("History", None),
        ("0612345678", None),  # the form, pre-filled
        ("0612345678 Server room door is open", None),
        ("06 1234 5678 hi there", None),
        ("+31 6 1234 5678 hi", None),
        ("(06) 1234-5678 hi", None),
        ("060 1234 5678 hi", None),  # refused by the number rules, after the ack
        ("06 1234 567 hi", None),
        ("<tel:0612345678|0612345678> hi", None),
        ("<@U0ALICE|alice> call me", None),
        ("<@U0ALICE>", None),
        ("<!channel> hi", Unclear),
        ("alice call me", Unclear),
        ("&lt;06&gt; hi", Unclear),
        ("hello 0612345678", Unclear),
        ("0612345678\nline two", None),
    ],
)
def test_the_ack_answers_usage_and_unreadable_text_only(text: str, answered_in_ack) -> None:
    answer = reply_in_ack(text)
    assert (None if answer is None else type(answer)) is answered_in_ack
    # What the ack said is what the command means: parse gives the same answer.
    if answer is not None:
        assert parse(text) == answer
    else:
        assert not isinstance(parse(text), Help | Unclear)


async def test_a_burst_right_after_the_start_asks_auth_test_once(slack_bot: SlackBot) -> None:
    forms = [slack_bot.command_form(f"06123456{n:02d} burst {n}")[0] for n in range(20)]
    answers = await asyncio.gather(*(slack_bot.slack.command(form) for form in forms))
    assert [(s, sr.is_sending_ack(b)) for s, b in answers] == [(200, True)] * 20
    assert len(slack_bot.fake.calls_to("auth.test")) == 1


async def test_without_an_answer_at_the_start_bolt_asks_on_first_use(
    fake_slack: FakeSlackApi, sandbox: SandboxHandle, tmp_path: Path
) -> None:
    set_up_workspace(fake_slack)
    fake_slack.script("auth.test", {"ok": False, "error": "ratelimited"})
    settings = bot_settings(fake_slack, sandbox, tmp_path)
    async with serving_bot(settings) as (service, metrics, slack):
        bot = SlackBot(settings, service, metrics, fake_slack, sandbox, slack)
        status, body, _ = await bot.command("0612345678 after a failed warm-up")
        assert status == 200 and sr.is_sending_ack(body)
        await bot.wait_for(lambda: fake_slack.messages)
    assert len(fake_slack.calls_to("auth.test")) == 2  # the start's, then Bolt's own


async def test_calls_to_slack_share_their_connections(
    fake_slack: FakeSlackApi, sandbox: SandboxHandle, tmp_path: Path
) -> None:
    opened: list[object] = []
    requests: list[object] = []

    async def on_connection(session: object, context: object, params: object) -> None:
        opened.append(params)

    async def on_request(session: object, context: object, params: object) -> None:
        requests.append(params)

    tracing = aiohttp.TraceConfig()
    tracing.on_connection_create_end.append(on_connection)
    tracing.on_request_end.append(on_request)
    set_up_workspace(fake_slack)
    settings = bot_settings(fake_slack, sandbox, tmp_path)
    async with (
        aiohttp.ClientSession(trace_configs=[tracing]) as to_slack,
        serving_bot(settings, slack_session=to_slack) as (service, metrics, slack),
    ):
        bot = SlackBot(settings, service, metrics, fake_slack, sandbox, slack)
        for n in range(4):
            _, _, sent = await bot.command(f"0612345678 confirmed in the channel {n}")
            await bot.wait_for(lambda n=n: len(fake_slack.messages) == n + 1)
            # One at a time: the "Sending…" line is gone before the next command.
            await bot.wait_for(lambda sent=sent: fake_slack.posts_to(sent))
        # Not a member there: chat.postMessage is refused, the response_url answers instead.
        _, _, response_id = await bot.command("0612345678 answered by URL", channel="G0PRIVATE")
        await bot.wait_for(lambda: fake_slack.answers(response_id))
    # auth.test, 5 chat.postMessage and 1 response_url post, all through the one session ...
    calls = len(fake_slack.calls) + len(fake_slack.response_posts)
    assert calls >= 7 and len(requests) == calls
    # ... on the connection the first one opened.
    assert len(opened) == 1
