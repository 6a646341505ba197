"""Delivery reports are facts about an SMS (`Store.apply_delivery`), on both engines."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from smsbot.sms.request import Outcome
from smsbot.store import Delivery, DeliveryReport, ManualClock, Store
from tests.store.test_store import queued

START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


async def sent_sms(store: Store, key: str, *, parts: int = 1, outcome=Outcome.SENT) -> str:
    record = (await store.admit(replace(queued(key), parts=parts))).record
    await store.take_due(1)
    await store.finish(record.request_id, outcome, document_id="doc")
    return record.request_id


async def test_a_report_sets_the_state_its_time_and_code(store: Store, clock: ManualClock):
    sms = await sent_sms(store, "k")
    clock.advance(timedelta(seconds=4))
    applied = await store.apply_delivery(sms, DeliveryReport(Delivery.FAILED, code="007"))
    assert applied is not None and applied.changed
    record = applied.record
    assert (record.delivery, record.delivery_code) == (Delivery.FAILED, "007")
    assert record.delivered_at == START + timedelta(seconds=4)
    assert await store.get(sms) == record
    as_json = record.to_json()
    assert (as_json["delivery"], as_json["delivered_at"]) == (
        "failed",
        record.delivered_at.isoformat(),
    )


async def test_a_duplicate_changes_nothing(store: Store, clock: ManualClock) -> None:
    sms = await sent_sms(store, "k")
    report = DeliveryReport(Delivery.DELIVERED, at=START + timedelta(seconds=3))
    first = await store.apply_delivery(sms, report)
    clock.advance(timedelta(minutes=1))
    again = await store.apply_delivery(sms, report)
    assert first is not None and first.changed
    assert again is not None and not again.changed
    assert again.record == first.record == await store.get(sms)


async def test_a_late_report_never_downgrades(store: Store) -> None:
    sms = await sent_sms(store, "k")
    await store.apply_delivery(sms, DeliveryReport(Delivery.ACCEPTED))
    queued_state = await store.apply_delivery(sms, DeliveryReport(Delivery.QUEUED))
    assert queued_state is not None and queued_state.record.delivery is Delivery.QUEUED
    late_accepted = await store.apply_delivery(sms, DeliveryReport(Delivery.ACCEPTED))
    assert late_accepted is not None and not late_accepted.changed
    delivered = await store.apply_delivery(sms, DeliveryReport(Delivery.DELIVERED))
    assert delivered is not None and delivered.record.delivery is Delivery.DELIVERED
    for late in (Delivery.QUEUED, Delivery.ACCEPTED, Delivery.FAILED):
        after = await store.apply_delivery(sms, DeliveryReport(late, code="001"))
        assert after is not None and not after.changed
        assert (after.record.delivery, after.record.delivery_code) == (Delivery.DELIVERED, None)


async def test_a_long_sms_is_delivered_when_every_part_is(store: Store, clock: ManualClock):
    sms = await sent_sms(store, "long", parts=3)
    states = []
    for part in (2, 1, 3):
        clock.advance(timedelta(seconds=1))
        applied = await store.apply_delivery(sms, DeliveryReport(Delivery.DELIVERED, part=part))
        assert applied is not None
        states.append(applied.record.delivery)
    assert states == [Delivery.ACCEPTED, Delivery.ACCEPTED, Delivery.DELIVERED]
    record = await store.get(sms)
    assert record is not None and record.delivered_at == START + timedelta(seconds=3)


async def test_parts_numbered_from_zero_reach_delivered(store: Store, clock: ManualClock):
    sms = await sent_sms(store, "long", parts=2)
    clock.advance(timedelta(seconds=1))
    first = await store.apply_delivery(sms, DeliveryReport(Delivery.DELIVERED, part=0))
    assert first is not None and first.record.delivery is Delivery.ACCEPTED
    clock.advance(timedelta(seconds=1))
    last = await store.apply_delivery(sms, DeliveryReport(Delivery.DELIVERED, part=1))
    assert last is not None and last.record.delivery is Delivery.DELIVERED
    assert last.record.delivered_at == START + timedelta(seconds=2)


async def test_a_long_sms_failed_when_any_part_failed(store: Store) -> None:
    sms = await sent_sms(store, "long", parts=2)
    await store.apply_delivery(sms, DeliveryReport(Delivery.DELIVERED, part=1))
    failed = await store.apply_delivery(sms, DeliveryReport(Delivery.EXPIRED, part=2))
    assert failed is not None and failed.record.delivery is Delivery.EXPIRED
    # The failed part stays failed, whatever it says later.
    late = await store.apply_delivery(sms, DeliveryReport(Delivery.DELIVERED, part=2))
    assert late is not None and not late.changed and late.record.delivery is Delivery.EXPIRED


async def test_a_report_without_a_part_speaks_for_every_part(store: Store) -> None:
    sms = await sent_sms(store, "long", parts=2)
    whole = await store.apply_delivery(sms, DeliveryReport(Delivery.DELIVERED))
    assert whole is not None and whole.record.delivery is Delivery.DELIVERED


async def test_a_report_proves_an_unknown_send_went_out(store: Store) -> None:
    sms = await sent_sms(store, "k", outcome=Outcome.UNKNOWN)
    applied = await store.apply_delivery(sms, DeliveryReport(Delivery.ACCEPTED))
    assert applied is not None and applied.changed
    assert (applied.record.outcome, applied.record.delivery) == (Outcome.SENT, Delivery.ACCEPTED)
    assert applied.record.error is None and applied.went_out
    later = await store.apply_delivery(sms, DeliveryReport(Delivery.DELIVERED))
    assert later is not None and later.changed and not later.went_out


async def test_a_report_for_an_sms_not_stored_is_none(store: Store) -> None:
    assert await store.apply_delivery("0" * 32, DeliveryReport(Delivery.DELIVERED)) is None


async def test_purge_takes_the_parts_with_their_sms(store: Store, clock: ManualClock) -> None:
    sms = await sent_sms(store, "k", parts=2)
    await store.apply_delivery(sms, DeliveryReport(Delivery.DELIVERED, part=1))
    clock.advance(timedelta(days=100))
    assert await store.purge(clock() - timedelta(days=90)) == 1
    assert await store.get(sms) is None
