"""The repeat an alert SMS is owed while its send stays `unknown` (`resend_at`): a durable due
time, taken under a lease, its text kept only while it is owed. Both engines."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from smsbot.sms.request import Outcome, Surface
from smsbot.store import ManualClock, Store
from tests.store.test_store import queued

START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
LEASE = timedelta(minutes=2)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


async def page(store: Store, key: str, outcome: Outcome) -> str:
    new = replace(queued(key), surface=Surface.ALERTMANAGER, resend_after=timedelta(minutes=10))
    record = (await store.admit(new)).record
    assert record.resend_at == START + timedelta(minutes=10)
    await store.take_due(1)
    await store.finish(record.request_id, outcome, error="no answer")
    return record.request_id


async def test_an_unknown_page_is_due_once_and_keeps_its_text_until_then(store, clock):
    sms = await page(store, "a", Outcome.UNKNOWN)
    unknown = await store.get(sms)
    assert unknown is not None and unknown.text == "hello"  # the repeat will need it
    assert await store.take_due_resends(LEASE) == []
    clock.advance(timedelta(minutes=10))
    [taken] = await store.take_due_resends(LEASE)
    assert (taken.request_id, taken.text) == (sms, "hello")
    assert await store.take_due_resends(LEASE) == []  # taken: nobody else gets it
    await store.finish_resend(sms)
    clock.advance(timedelta(hours=1))
    assert await store.take_due_resends(LEASE) == []
    done = await store.get(sms)
    assert done is not None and done.resend_at is None and done.text is None


async def test_a_taker_that_died_leaves_it_due_after_its_lease(store, clock):
    sms = await page(store, "a", Outcome.UNKNOWN)
    clock.advance(timedelta(minutes=10))
    [taken] = await store.take_due_resends(LEASE)
    clock.advance(LEASE - timedelta(seconds=1))
    assert await store.take_due_resends(LEASE) == []
    clock.advance(timedelta(seconds=1))
    [again] = await store.take_due_resends(LEASE)
    assert again.request_id == taken.request_id == sms


async def test_a_page_that_was_sent_owes_nothing_and_keeps_no_text(store, clock):
    sms = await page(store, "a", Outcome.SENT)
    record = await store.get(sms)
    assert record is not None and record.resend_at is None and record.text is None
    clock.advance(timedelta(days=1))
    assert await store.take_due_resends(LEASE) == []


async def test_a_page_left_sending_by_a_dead_process_is_owed_its_repeat(store, clock):
    new = replace(queued("a"), surface=Surface.ALERTMANAGER, resend_after=timedelta(minutes=10))
    record = (await store.admit(new)).record
    await store.take_due(1)
    clock.advance(timedelta(minutes=1))
    [expired] = await store.expire_stale_sending(clock(), "the process died while sending")
    assert expired.outcome is Outcome.UNKNOWN and expired.text == "hello"
    clock.advance(timedelta(minutes=9))
    [taken] = await store.take_due_resends(LEASE)
    assert taken.request_id == record.request_id
