"""An alert SMS that did not reach the phone is said loudly in the route's mirror channel, and
the route's fallback recipients are paged, once. End to end over loopback as `smsbot serve`
runs it: the alert, the sandbox's failed report to the bot's signed delivery URL, the fake
Slack, the fallback SMS at the sandbox."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import aiohttp

from smsbot.cli.serve_cmd import RunningBot, SlackMode, running_bot
from smsbot.sandbox.testing import SandboxHandle, running_sandbox
from tests.alerts.oncall import firing, post_alert, slack_oncall_settings
from tests.fixtures.waiting import until

ALICE = "+31611112222"
DEPUTY = "+31687654321"
REASON = "recipient is temporarily unreachable or out of coverage (007)"


@contextlib.asynccontextmanager
async def serving(
    fake, database_url: str, port: int, **route: Any
) -> AsyncIterator[tuple[SandboxHandle, RunningBot, aiohttp.ClientSession]]:
    fake.add_user("U0ALICE", "alice", phone="06 1111 2222")
    fake.add_channel("C0ALERTS", "alerts")
    async with running_sandbox(delivery_delay_ms=0) as sandbox:
        settings = slack_oncall_settings(sandbox.url, fake, database_url, port, route)
        async with (
            running_bot(settings, host="127.0.0.1", port=port, mode=SlackMode.HTTP) as bot,
            aiohttp.ClientSession() as http,
        ):
            yield sandbox, bot, http


def loud(fake) -> list[dict[str, Any]]:
    return [m for m in fake.messages if "did not get the page" in m["text"]]


async def test_a_failed_page_is_said_loudly_and_the_fallback_paged_once(
    fake_slack, database_url, unused_tcp_port: int
) -> None:
    async with serving(fake_slack, database_url, unused_tcp_port, fallback=[DEPUTY]) as (
        sandbox,
        bot,
        http,
    ):
        sandbox.script_delivery("failed", error_code="007")
        await post_alert(http, bot.url, firing())
        [said] = await until(lambda: loud(fake_slack), "the failure said in the channel")
        assert said["channel"] == "C0ALERTS"
        assert said["text"].startswith(
            f":rotating_light: @alice's phone did not get the page: {REASON}"
        )
        assert "Paging the fallback: +31 6 ****4321" in said["text"]

        def to_deputy() -> list[dict[str, Any]]:
            return [m for m in sandbox.messages() if m["mobile_number"] == DEPUTY]

        [fallback] = await until(to_deputy, "the fallback SMS")
        assert fallback["content"].startswith("FALLBACK, alice's phone did not get this page")
        records = await bot.service.recent(10)
        [paged] = [r for r in records if r.recipient == DEPUTY]
        [failed] = [r for r in records if r.recipient == ALICE]
        assert paged.reply["fallback_for"] == failed.request_id
        # The fallback was delivered (the sandbox's default): nothing more is said.
        await until(lambda: _delivered(bot, paged.request_id), "the fallback's report stored")
        assert len(loud(fake_slack)) == 1 and len(to_deputy()) == 1


async def _delivered(bot, request_id: str) -> bool:
    record = await bot.service.store.get(request_id)
    return record is not None and str(record.delivery) == "delivered"


async def test_without_fallbacks_the_failure_is_said_and_nobody_else_paged(
    fake_slack, sqlite_url, unused_tcp_port: int
) -> None:
    async with serving(fake_slack, sqlite_url, unused_tcp_port) as (sandbox, bot, http):
        sandbox.script_delivery("expired")
        await post_alert(http, bot.url, firing())
        [said] = await until(lambda: loud(fake_slack), "the expiry said")
        assert "message validity expired before delivery (024)" in said["text"]
        assert "fallback" not in said["text"]
        assert len(sandbox.messages()) == 1


async def test_an_unknown_page_a_report_proves_went_out_is_said_so(
    fake_slack, sqlite_url, unused_tcp_port: int
) -> None:
    async with serving(fake_slack, sqlite_url, unused_tcp_port) as (sandbox, bot, http):
        sandbox.add_fault(drop=True)  # KPN took it, the answer was lost; its report still comes
        await post_alert(http, bot.url, firing())

        def went_out() -> list[dict[str, Any]]:
            return [m for m in fake_slack.messages if "went out" in m["text"]]

        [said] = await until(went_out, "the report's proof said in the mirror channel")
        assert said["channel"] == "C0ALERTS"
        # The sandbox reports `accepted` first: that alone proves it went out.
        assert said["text"] == (
            "@alice's page, reported as maybe not sent, went out: "
            "… accepted by the network, not yet on the phone"
        )
        [record] = [r for r in await bot.service.recent(10) if r.recipient == ALICE]
        assert str(record.outcome) == "sent" and record.resend_at is None
