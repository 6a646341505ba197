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
from tests.fakes.slack_api import FakeSlackApi
from tests.slack.conftest import SlackBot, bot_settings, serving_bot, set_up_workspace


@pytest.mark.parametrize(
    "text",
    [
        "",
        "  ",
        "help",
        " HELP ",
        "?",
        "-h",
        "--help",
        "history",
        "History",
        "0612345678",
        "0612345678 Server room door is open",
        "06 1234 5678 hi there",
        "+31 6 1234 5678 hi",
        "(06) 1234-5678 hi",
        "060 1234 5678 hi",
        "06 1234 567 hi",
        "<tel:0612345678|0612345678> hi",
        "<@U0ALICE|alice> call me",
        "<@U0ALICE>",
        "<!channel> hi",
        "alice call me",
        "&lt;06&gt; hi",
        "hello 0612345678",
        "0612345678\nline two",
    ],
)
def test_the_ack_says_what_parse_would_say(text: str) -> None:
    parsed = parse(text)
    expected = parsed if isinstance(parsed, Help | Unclear) else None
    assert reply_in_ack(text) == expected


async def test_a_burst_right_after_the_start_asks_auth_test_once(slack_bot: SlackBot) -> None:
    forms = [slack_bot.command_form(f"06123456{n:02d} burst {n}")[0] for n in range(20)]
    answers = await asyncio.gather(*(slack_bot.slack.command(form) for form in forms))
    assert answers == [(200, "")] * 20
    assert len(slack_bot.fake.calls_to("auth.test")) == 1


async def test_without_an_answer_at_the_start_bolt_asks_on_first_use(
    fake_slack: FakeSlackApi, sandbox: SandboxHandle, tmp_path: Path
) -> None:
    set_up_workspace(fake_slack)
    fake_slack.script("auth.test", {"ok": False, "error": "ratelimited"})
    settings = bot_settings(fake_slack, sandbox, tmp_path)
    async with serving_bot(settings) as (service, metrics, slack):
        bot = SlackBot(settings, service, metrics, fake_slack, sandbox, slack)
        assert (await bot.command("0612345678 after a failed warm-up"))[:2] == (200, "")
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
            await bot.command(f"0612345678 confirmed in the channel {n}")
            await bot.wait_for(lambda n=n: len(fake_slack.messages) == n + 1)
        # Not a member there: chat.postMessage is refused, the response_url answers instead.
        _, _, response_id = await bot.command("0612345678 answered by URL", channel="C0OUTSIDE")
        await bot.wait_for(lambda: fake_slack.posts_to(response_id))
    # auth.test, 5 chat.postMessage and 1 response_url post, all through the one session ...
    calls = len(fake_slack.calls) + len(fake_slack.response_posts)
    assert calls >= 7 and len(requests) == calls
    # ... on the connection the first one opened.
    assert len(opened) == 1
