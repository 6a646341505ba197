"""The on-call loop over loopback: alert, SMS with its reply hint, a reply, escalation."""

from __future__ import annotations

import logging
from datetime import timedelta

import aiohttp
from pydantic import SecretStr

from smsbot.alerts.replies import Action
from smsbot.cli.serve_cmd import running_bot
from smsbot.sandbox.testing import running_sandbox
from smsbot.sms.request import Outcome
from smsbot.store.alert_groups import GroupState, StepState
from tests.alerts.oncall import (
    ON_CALL,
    SECOND,
    firing,
    oncall_settings,
    post_alert,
    resolved,
    running_oncall,
)
from tests.fixtures.waiting import until


def to(sandbox, number: str) -> list[str]:
    return [m["content"] for m in sandbox.messages() if m["mobile_number"] == number]


async def paged(oncall, sandbox, body: dict) -> None:
    """Post `body` and wait for its SMS to the on-call phone."""
    await oncall.alert(body)
    await until(lambda: to(sandbox, ON_CALL), "the alert SMS")


async def test_ack_by_reply_stops_the_escalation(sandbox, sqlite_url) -> None:
    async with running_oncall(oncall_settings(sandbox.url, sqlite_url)) as oncall:
        answer = await oncall.alert(firing())
        assert answer["queued"] == 1
        [sms] = await until(lambda: to(sandbox, ON_CALL), "the alert SMS")
        assert sms.startswith("FIRING 3: HighCPU")
        assert sms.endswith("\nReply 1a ack, 1s silence 2h")

        assert await oncall.reply(ON_CALL, "1A")
        [_, confirmation] = await until(
            lambda: to(sandbox, ON_CALL)[1:] and to(sandbox, ON_CALL), "the confirmation"
        )
        assert confirmation == "Acknowledged: HighCPU. Escalation stopped."
        [(code, group)] = await oncall.service.store.groups_of_phone(ON_CALL)
        assert (code, group.state, group.acked_via) == (1, GroupState.ACKNOWLEDGED, "sms")
        assert group.acked_by == "+31 6 ****5678"
        [audited] = await oncall.service.store.group_actions(group.id)
        assert (audited.actor, audited.via, audited.action) == (
            "+31 6 ****5678",
            "sms",
            "acknowledged",
        )
        assert audited.at is not None and audited.episode == 1

        # Past the step's time nothing fires: the step was cancelled with the ack.
        assert await oncall.later(timedelta(minutes=6)) == []
        steps = await oncall.service.store.steps_of_group(group.id)
        assert [s.step_state for s in steps] == [StepState.CANCELLED]
        assert to(sandbox, SECOND) == []


async def test_no_answer_escalates_once_then_the_escalated_phone_acks(sandbox, sqlite_url) -> None:
    settings = oncall_settings(
        sandbox.url,
        sqlite_url,
        escalate=[{"after": "5m", "to": [SECOND]}, {"after": "15m", "to": [SECOND]}],
    )
    async with running_oncall(settings) as oncall:
        await oncall.alert(firing())
        await until(lambda: to(sandbox, ON_CALL), "the alert SMS")
        assert await oncall.later(timedelta(minutes=4)) == []
        [step] = await oncall.later(timedelta(minutes=1))
        assert step.step == 0
        [escalation] = await until(lambda: to(sandbox, SECOND), "the escalation SMS")
        assert escalation.startswith("ESCALATION, not acknowledged after 5m: FIRING 3: HighCPU")
        assert escalation.endswith("\nReply 1a ack, 1s silence 2h")
        assert await oncall.later(timedelta(minutes=1)) == []  # a step fires once

        # The escalated phone got the group's SMS, so it may act on it (without a code).
        assert await oncall.reply(SECOND, "a")
        await until(lambda: len(to(sandbox, SECOND)) == 2, "the confirmation")
        assert await oncall.later(timedelta(minutes=20)) == []
        [(_, group)] = await oncall.service.store.groups_of_phone(SECOND)
        states = [s.step_state for s in await oncall.service.store.steps_of_group(group.id)]
        assert states == [StepState.FIRED, StepState.CANCELLED]


async def test_an_escalation_page_whose_send_ends_unknown_is_owed_its_repeat(
    sandbox, sqlite_url
) -> None:
    settings = oncall_settings(sandbox.url, sqlite_url, escalate=[{"after": "5m", "to": [SECOND]}])
    async with running_oncall(settings) as oncall:
        await oncall.alert(firing())
        await until(lambda: to(sandbox, ON_CALL), "the alert SMS")
        sandbox.add_fault(drop=True)  # KPN takes the escalation's send and never answers
        [_] = await oncall.later(timedelta(minutes=5))

        async def unknown_escalation():
            found = [r for r in await oncall.service.recent(50)
                     if r.idempotency_key.startswith("escalation:")
                     and r.outcome is Outcome.UNKNOWN]  # fmt: skip
            return found[0] if found else None

        paged = await until(unknown_escalation, "the escalation SMS's send ended unknown")
        assert paged.resend_at is not None  # a page like the first: repeated once if unreported


async def test_a_resolve_stops_the_escalation_even_without_resolved_sms(
    sandbox, sqlite_url
) -> None:
    async with running_oncall(oncall_settings(sandbox.url, sqlite_url)) as oncall:
        body = firing()
        await paged(oncall, sandbox, body)
        answer = await oncall.alert(resolved(body))
        assert answer["queued"] == 0
        assert await oncall.later(timedelta(minutes=10)) == []
        assert await oncall.service.store.groups_of_phone(ON_CALL) == []  # code freed


async def test_repeats_of_an_acknowledged_group_send_nothing_until_it_resolves(
    sandbox, sqlite_url
) -> None:
    async with running_oncall(oncall_settings(sandbox.url, sqlite_url)) as oncall:
        body = firing()
        await paged(oncall, sandbox, body)
        assert await oncall.reply(ON_CALL, "1a")
        await until(lambda: len(to(sandbox, ON_CALL)) == 2, "the confirmation")
        # Alertmanager's repeat_interval, past smsbot's own repeat window.
        oncall.clock.advance(timedelta(hours=5))
        answer = await oncall.alert(body)
        assert (answer["queued"], answer["duplicates"]) == (0, 1)
        [held] = [r for r in await oncall.service.recent(10) if r.outcome is Outcome.REFUSED]
        assert held.rule == "duplicate" and "acknowledged" in (held.error or "")
        # Resolved, then firing again (a new alert): a new episode pages again, code 1 again.
        await oncall.alert(resolved(body))
        body["alerts"][0]["fingerprint"] = "0123456789abcdef"
        await oncall.alert(body)
        [*_, again] = await until(
            lambda: len(to(sandbox, ON_CALL)) == 3 and to(sandbox, ON_CALL), "the new page"
        )
        assert again.endswith("Reply 1a ack, 1s silence 2h")


async def test_ack_standing_for_a_while_lets_repeats_through_after(sandbox, sqlite_url) -> None:
    settings = oncall_settings(sandbox.url, sqlite_url, ack_expires_after="1h")
    async with running_oncall(settings) as oncall:
        body = firing()
        await paged(oncall, sandbox, body)
        assert await oncall.reply(ON_CALL, "1a")
        oncall.clock.advance(timedelta(hours=5))
        answer = await oncall.alert(body)
        assert answer["queued"] == 1


async def test_replies_that_cannot_act_get_one_help_sms_per_five_minutes(
    sandbox, sqlite_url, caplog
) -> None:
    async with running_oncall(oncall_settings(sandbox.url, sqlite_url)) as oncall:
        await oncall.alert(firing())
        await until(lambda: to(sandbox, ON_CALL), "the alert SMS")
        # A phone with no alert group, and words that are no command, are not ours.
        assert not await oncall.reply("+31611111111", "1a")
        assert not await oncall.reply(ON_CALL, "on my way, give me ten minutes")

        assert await oncall.reply(ON_CALL, "3a")
        assert oncall.commands.last.action is Action.HELP
        [_, answer] = await until(
            lambda: len(to(sandbox, ON_CALL)) == 2 and to(sandbox, ON_CALL), "the error answer"
        )
        assert answer == "No open alert of yours has code 3; yours: 1. Reply 1a, 1s, 1u."
        with caplog.at_level(logging.INFO, logger="smsbot.alerts.commands"):
            assert await oncall.reply(ON_CALL, "1s 5y")  # an answer to our answer, say
        assert "no answer this time" in caplog.text
        oncall.clock.advance(timedelta(minutes=6))
        assert await oncall.reply(ON_CALL, "help")
        [*_, help_sms] = await until(
            lambda: len(to(sandbox, ON_CALL)) == 3 and to(sandbox, ON_CALL), "the help SMS"
        )
        assert help_sms.startswith("Reply 1a to acknowledge, 1s 2h to silence")
        # Nothing it sent invites a reply: the hint is only in alert SMS.
        assert all("Reply 1a ack" not in text for text in to(sandbox, ON_CALL)[1:])


async def test_the_whole_loop_as_serve_runs_it_a_sandbox_reply_1a_acknowledges(
    sqlite_url, unused_tcp_port: int
) -> None:
    """`smsbot serve`'s composition: the alert, its SMS, the phone's reply through the
    sandbox's `POST /sandbox/inbound` and KPN's inbound webhook, the confirmation SMS."""
    token = "inbound-token-0123456789"
    async with running_sandbox(delivery_delay_ms=0) as sandbox:
        settings = oncall_settings(sandbox.url, sqlite_url).model_copy(deep=True)
        settings.kpn.inbound_token = SecretStr(token)
        settings.public_url = f"http://127.0.0.1:{unused_tcp_port}"
        sandbox.set_inbound_webhook(f"{settings.public_url}/kpn/inbound/{token}")
        async with (
            running_bot(settings, host="127.0.0.1", port=unused_tcp_port, mode=None) as bot,
            aiohttp.ClientSession() as http,
        ):
            await post_alert(http, bot.url, firing())
            [sms] = await until(lambda: to(sandbox, ON_CALL), "the alert SMS")
            assert sms.endswith("Reply 1a ack, 1s silence 2h")
            reply = {"from": ON_CALL, "content": "1a"}
            async with http.post(sandbox.url + "/sandbox/inbound", json=reply) as response:
                assert response.status == 200, await response.text()
            [_, confirmation] = await until(
                lambda: len(to(sandbox, ON_CALL)) == 2 and to(sandbox, ON_CALL), "the answer"
            )
            assert confirmation.startswith("Acknowledged: HighCPU")
            [(_, group)] = await bot.service.store.groups_of_phone(ON_CALL)
            assert group.state is GroupState.ACKNOWLEDGED


async def test_a_group_key_longer_than_the_store_keeps_is_paged_acked_and_resolved(
    sandbox, database_url
) -> None:
    # `group_by: ['...']` puts every label in the group key; Alertmanager sets no limit on it.
    labels = ", ".join(f'label{n}="{"v" * 30}"' for n in range(30))
    body = firing(groupKey=f'{{}}/{{severity="page"}}:{{{labels}}}')
    async with running_oncall(oncall_settings(sandbox.url, database_url)) as oncall:
        assert (await oncall.alert(body))["queued"] == 1
        await until(lambda: to(sandbox, ON_CALL), "the alert SMS")
        assert await oncall.reply(ON_CALL, "1a")
        await until(lambda: to(sandbox, ON_CALL)[1:], "the confirmation")
        [(_, group)] = await oncall.service.store.groups_of_phone(ON_CALL)
        assert group.state is GroupState.ACKNOWLEDGED
        await oncall.alert(resolved(body))  # the group is closed before the answer
        closed = await oncall.service.store.alert_group(group.id)
        assert closed is not None and closed.state is GroupState.RESOLVED
