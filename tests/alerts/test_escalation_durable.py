"""Escalation steps are durable timers: a pending step fires once after a restart, and with
two replicas on one PostgreSQL database each step fires once."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from smsbot.store import ManualClock
from tests.alerts.oncall import SECOND, firing, oncall_settings, running_oncall
from tests.fixtures.waiting import until


def escalations(sandbox) -> list[str]:
    return [m["content"] for m in sandbox.messages() if m["mobile_number"] == SECOND]


async def test_a_pending_step_fires_once_across_a_restart(sandbox, sqlite_url) -> None:
    settings = oncall_settings(sandbox.url, sqlite_url)
    clock = ManualClock()
    async with running_oncall(settings, clock=clock) as oncall:
        await oncall.alert(firing())
        await until(lambda: sandbox.messages(), "the alert SMS")
        # A replica takes the due step and dies before paging anyone.
        clock.advance(timedelta(minutes=5))
        [taken] = await oncall.service.store.take_due_steps(timedelta(minutes=2))
        assert taken.step == 0
    async with running_oncall(settings, clock=clock) as oncall:
        assert await oncall.timer.tick() == []  # still the dead taker's, until its lease ends
        [fired] = await oncall.later(timedelta(minutes=2))
        assert (fired.group_id, fired.step) == (taken.group_id, 0)
        [sms] = await until(lambda: escalations(sandbox), "the escalation SMS")
        assert sms.startswith("ESCALATION")
    async with running_oncall(settings, clock=clock) as oncall:
        assert await oncall.later(timedelta(hours=1)) == []
    assert len(escalations(sandbox)) == 1


async def test_two_replicas_on_postgresql_fire_each_step_once(sandbox, postgres_url) -> None:
    settings = oncall_settings(
        sandbox.url,
        postgres_url,
        escalate=[{"after": "5m", "to": [SECOND]}, {"after": "10m", "to": [SECOND]}],
    )
    clock = ManualClock()
    async with (
        running_oncall(settings, clock=clock) as first,
        running_oncall(settings, clock=clock) as second,
    ):
        await first.alert(firing())
        await second.alert(firing())  # the HA pair's second copy
        await until(lambda: sandbox.messages(), "the alert SMS")
        for minutes in (5, 10):
            clock.advance(timedelta(minutes=5))
            rounds = await asyncio.gather(
                *(replica.timer.tick() for replica in (first, second) for _ in range(3))
            )
            fired = [step.step for steps in rounds for step in steps]
            assert fired == [minutes // 5 - 1]
        texts = await until(lambda: len(escalations(sandbox)) == 2 and escalations(sandbox), "2")
        assert all(text.startswith("ESCALATION") for text in texts)
        assert "after 5m" in texts[0] and "after 10m" in texts[1]
        assert len(sandbox.messages()) == 3  # one alert SMS, two escalations
