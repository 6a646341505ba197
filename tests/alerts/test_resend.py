"""A page is never lost silently: an alert SMS whose send ended `unknown`, with no delivery
report within the route's `resend_unknown_after`, is sent once more as a repeat, through the
pipeline, on the store's clock; one a report settled is not; SMS from people never are. Both
engines; two replicas on PostgreSQL repeat it once."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest

from smsbot.alerts.resend import UnknownResender, repeat_request
from smsbot.service import SmsService
from smsbot.settings import Settings
from smsbot.sms.request import Outcome, SendRequest, Surface
from smsbot.sms.text import validate_text
from smsbot.store import AuditRecord, Delivery, DeliveryReport, ManualClock
from tests.alerts.harness import ON_CALL, TOKEN, alert_settings, running_alert_app
from tests.alerts.payloads import load
from tests.fixtures.waiting import until


@contextlib.asynccontextmanager
async def alert_bot(
    settings: Settings, clock: ManualClock
) -> AsyncIterator[tuple[SmsService, Any, str]]:
    """The alert routes with their resender, which the test ticks itself, on `clock`."""
    async with running_alert_app(settings, clock=clock, timers_tick=3600.0) as alerts:
        yield alerts.service, alerts.parts.resender, alerts.url


async def page(url: str) -> None:
    body: dict[str, Any] = load("alertmanager_firing")
    async with aiohttp.ClientSession() as http:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        async with http.post(f"{url}/alerts/alertmanager", json=body, headers=headers) as resp:
            assert resp.status == 200


async def unknown_page(sandbox, service: SmsService, url: str) -> AuditRecord:
    """An alert SMS whose connection KPN dropped: it may or may not have gone out."""
    before = {r.request_id for r in await service.recent(100)}
    sandbox.add_fault(drop=True)
    await page(url)

    async def ended_unknown() -> AuditRecord | None:
        new = [r for r in await service.recent(100) if r.request_id not in before]
        return new[0] if new and new[0].outcome is Outcome.UNKNOWN else None

    return await until(ended_unknown, "the alert SMS's send ended unknown")


async def test_an_unknown_page_is_repeated_once_when_no_report_comes(sandbox, database_url):
    clock = ManualClock()
    settings = alert_settings(sandbox.url, database_url)
    async with alert_bot(settings, clock) as (service, resender, url):
        original = await unknown_page(sandbox, service, url)
        [dropped] = sandbox.messages()
        assert await resender.tick() == []  # not due yet
        clock.advance(timedelta(minutes=10))
        [repeat] = await resender.tick()
        assert repeat.outcome is Outcome.QUEUED  # recorded, for the outbox to send

        def repeats() -> list[dict[str, Any]]:
            return [m for m in sandbox.messages() if m["content"].startswith("(repeat) ")]

        [sent] = await until(repeats, "the repeat at the sandbox")
        assert sent["content"] == "(repeat) " + dropped["content"]
        assert sent["mobile_number"] == ON_CALL
        record = await until(lambda: _sent(service, repeat.request_id), "the repeat's record, sent")
        assert record.repeat_of == original.request_id
        assert record.to_json()["repeat_of"] == original.request_id
        assert record.resend_at is None  # a repeat is not repeated
        # Once is enough: nothing more is owed, the text went with the debt.
        clock.advance(timedelta(hours=1))
        assert await resender.tick() == []
        after = await service.store.get(original.request_id)
        assert after is not None and after.resend_at is None and after.text is None


async def _sent(service: SmsService, request_id: str) -> AuditRecord | None:
    record = await service.store.get(request_id)
    return record if record is not None and record.outcome is Outcome.SENT else None


async def test_a_report_settles_an_unknown_page_and_nothing_is_repeated(sandbox, database_url):
    clock = ManualClock()
    settings = alert_settings(sandbox.url, database_url)
    async with alert_bot(settings, clock) as (service, resender, url):
        original = await unknown_page(sandbox, service, url)
        applied = await service.store.apply_delivery(
            original.request_id, DeliveryReport(Delivery.DELIVERED)
        )
        assert applied is not None and applied.went_out
        assert applied.record.outcome is Outcome.SENT and applied.record.text is None
        clock.advance(timedelta(minutes=30))
        assert await resender.tick() == []
        assert len(sandbox.messages()) == 1


async def test_the_route_decides_when_or_whether(sandbox, sqlite_url):
    clock = ManualClock()
    routes = [
        {"name": "slow", "recipients": [ON_CALL], "resend_unknown_after": "30m"},
    ]
    settings = alert_settings(sandbox.url, sqlite_url, routes=routes)
    async with alert_bot(settings, clock) as (service, resender, url):
        await unknown_page(sandbox, service, url)
        clock.advance(timedelta(minutes=29))
        assert await resender.tick() == []
        clock.advance(timedelta(minutes=1))
        assert len(await resender.tick()) == 1

    off = [{"name": "off", "recipients": [ON_CALL], "resend_unknown_after": False}]
    settings = alert_settings(sandbox.url, sqlite_url, routes=off)
    async with alert_bot(settings, clock) as (service, resender, url):
        assert resender is None  # no route repeats: nothing looks
        record = await unknown_page(sandbox, service, url)
        assert record.resend_at is None
        clock.advance(timedelta(days=1))
        assert await UnknownResender(service.store, service).tick() == []


async def test_an_sms_from_a_person_is_never_repeated(sandbox, database_url):
    clock = ManualClock()
    settings = alert_settings(sandbox.url, database_url)
    async with alert_bot(settings, clock) as (service, resender, _url):
        sandbox.add_fault(drop=True)
        request = SendRequest(actor="cli:ops", surface=Surface.CLI, to=ON_CALL, text="hi")
        result = await service.submit(request)
        assert result.outcome is Outcome.UNKNOWN
        clock.advance(timedelta(days=1))
        assert await resender.tick() == []


@pytest.mark.postgres
async def test_two_replicas_on_postgresql_repeat_a_page_once(sandbox, postgres_url):
    clock = ManualClock()
    settings = alert_settings(sandbox.url, postgres_url)
    async with (
        alert_bot(settings, clock) as (first, first_resender, url),
        alert_bot(settings, clock) as (_second, second_resender, _),
    ):
        await unknown_page(sandbox, first, url)
        clock.advance(timedelta(minutes=10))
        rounds = await asyncio.gather(
            *(r.tick() for r in (first_resender, second_resender) for _ in range(3))
        )
        assert len([repeat for taken in rounds for repeat in taken]) == 1
        await until(lambda: len(sandbox.messages()) == 2, "the one repeat")


def test_a_repeat_of_the_longest_page_is_cut_to_fit_not_refused() -> None:
    now = datetime(2026, 12, 1, tzinfo=UTC)
    longest = "x" * 1000
    record = AuditRecord(
        request_id="a1", time=now, updated_at=now, actor="am", surface=Surface.ALERTMANAGER,
        channel=None, recipient=ON_CALL, text_length=1000, parts=7, encoding="GSM-7",
        sender=None, outcome=Outcome.UNKNOWN, rule=None, document_id=None, error=None,
        idempotency_key="k", attempts=1, reply={}, text=longest, retry_at=None,
    )  # fmt: skip
    repeat = repeat_request(record, max_characters=1000)
    assert repeat.text.startswith("(repeat) x") and repeat.text.endswith("...")
    assert len(repeat.text) == 1000
    validate_text(repeat.text, 1000)  # raises if the repeat would be refused
    short = repeat_request(dataclasses.replace(record, text="disk full"), max_characters=1000)
    assert short.text == "(repeat) disk full"
