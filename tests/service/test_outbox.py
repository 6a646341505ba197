"""The durable outbox: several replicas, and a process killed while sending."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections import Counter
from contextlib import AsyncExitStack
from datetime import timedelta
from pathlib import Path

import pytest

from smsbot.bootstrap import open_pipeline, open_service
from smsbot.outbox import DIED_WHILE_SENDING, IN_FLIGHT_PER_SLOT, OutboxOptions
from smsbot.sandbox.testing import SandboxHandle
from smsbot.sms.request import Outcome, SendRequest, SendResult, Surface
from smsbot.store import ManualClock, NewRecord, Store
from tests.fixtures.waiting import until
from tests.service.conftest import RecordingNotifier, settings_for

ROOT = Path(__file__).resolve().parents[2]
CHILD = Path(__file__).with_name("outbox_child.py")


@pytest.mark.postgres
async def test_two_replicas_drain_one_outbox_sending_each_row_once(
    sandbox: SandboxHandle, postgres_url: str
):
    settings = settings_for(
        sandbox.url, postgres_url, limits={"per_actor_per_hour": 1000, "per_recipient_per_hour": 5}
    )
    async with open_service(settings, run_outbox=False) as filler:
        for i in range(200):
            await filler.enqueue(
                SendRequest(
                    "cli:ops", Surface.CLI, f"0612{i:06d}", f"row {i}", idempotency_key=str(i)
                )
            )
    sandbox.add_fault(delay_ms=10, count=200)  # keeps both replicas busy at once
    notifiers = [RecordingNotifier(), RecordingNotifier()]
    async with AsyncExitStack() as stack:
        replicas = [
            await stack.enter_async_context(
                open_pipeline(settings, notifiers={Surface.CLI: notifier}, run_outbox=False)
            )
            for notifier in notifiers
        ]
        for replica in replicas:
            replica.outbox.start()

        async def drained() -> bool:
            return sum(len(n.calls) for n in notifiers) >= 200

        await until(drained, "both replicas draining the outbox", within=15)
    contents = Counter(m["content"] for m in sandbox.messages())
    assert len(contents) == 200
    assert set(contents.values()) == {1}
    assert all(len(n.calls) > 0 for n in notifiers), "both replicas took part"
    assert all(r.outcome == Outcome.SENT for n in notifiers for _, r in n.calls)


async def test_a_killed_process_leaves_nothing_lost_and_nothing_sent_twice(
    sandbox: SandboxHandle, database_url: str
):
    count = 6
    sandbox.add_fault(delay_ms=8000, count=1)  # the first send hangs until the kill
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        str(CHILD),
        database_url,
        sandbox.url,
        str(count),
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(20):
            assert (await child.stdout.readline()).strip() == b"queued"

        async def in_flight() -> bool:
            return sandbox.send_requests >= 1

        await until(in_flight, "the send in flight", within=15)
    finally:
        child.send_signal(signal.SIGKILL)
        await child.wait()
    assert child.returncode == -signal.SIGKILL

    left = await Store.open(database_url)
    records = await left.recent(50)
    await left.close()
    by_outcome = Counter(r.outcome for r in records)
    assert by_outcome == {Outcome.SENDING: 1, Outcome.QUEUED: count - 1}

    notifier = RecordingNotifier()
    settings = settings_for(sandbox.url, database_url, limits={"per_actor_per_hour": 1000})
    async with open_service(
        settings,
        outbox=OutboxOptions(stale_after=timedelta(seconds=0.5)),
        notifiers={Surface.CLI: notifier},
    ) as service:
        await notifier.wait_for(count)
        records = {r.idempotency_key: r for r in await service.recent(50)}

    assert records["k0"].outcome == Outcome.UNKNOWN
    assert records["k0"].error == DIED_WHILE_SENDING
    assert {records[f"k{i}"].outcome for i in range(1, count)} == {Outcome.SENT}
    contents = Counter(m["content"] for m in sandbox.messages())
    assert all(contents[f"queued {i}"] == 1 for i in range(1, count))
    assert contents["queued 0"] <= 1  # KPN may or may not have taken the one in flight
    told = {r.request_id: r.outcome for _, r in notifier.calls}
    assert told[records["k0"].request_id] == Outcome.UNKNOWN


async def test_stale_and_retention_cutoffs_are_read_on_the_injected_clock(
    sandbox: SandboxHandle, sqlite_url: str
):
    """The worker's cutoffs are the bot's clock minus `stale_after` and minus the retention:
    rows stamped now by that clock become stale, then old, only as that clock moves on (on
    the real clock neither happens within the test)."""
    clock = ManualClock(tick=timedelta(microseconds=1))
    settings = settings_for(sandbox.url, sqlite_url, audit={"retention_days": 30})
    options = OutboxOptions(stale_after=timedelta(minutes=5))
    async with open_service(settings, run_outbox=False, clock=clock) as service:
        stuck = await service.store.admit(
            NewRecord(
                actor="cli:ops",
                surface=Surface.CLI,
                idempotency_key="stuck",
                outcome=Outcome.SENDING,
                text_length=5,
                recipient="+31612345678",
                text="stuck",
            )
        )
        sent = await service.submit(SendRequest("cli:ops", Surface.CLI, "0612345678", "sent"))
    assert sent.outcome == Outcome.SENT
    stuck_id = stuck.record.request_id

    clock.advance(timedelta(minutes=5, seconds=1))
    async with open_service(settings, outbox=options, clock=clock) as service:

        async def expired():
            record = await service.store.get(stuck_id)
            return record.outcome == Outcome.UNKNOWN and record

        record = await until(expired, "the stale sending row to become unknown")
        assert record.error == DIED_WHILE_SENDING
        # Five minutes are well within the retention: both records are still there.
        assert await service.store.get(sent.request_id) is not None

    clock.advance(timedelta(days=30))
    async with open_service(settings, run_outbox=False, clock=clock) as service:
        kept = await service.submit(SendRequest("cli:ops", Surface.CLI, "0612345678", "kept"))
    async with open_service(settings, outbox=options, clock=clock) as service:

        async def purged():
            remaining = [r.request_id for r in await service.recent()]
            return remaining if len(remaining) == 1 else None

        assert await until(purged, "the purge of records older than 30 days") == [kept.request_id]


class HeldNotifier(RecordingNotifier):
    """Hears each outcome and then waits for `release`, as a notifier waiting out a Slack 429."""

    def __init__(self) -> None:
        super().__init__()
        self.release = asyncio.Event()
        self.finished = 0

    async def notify(self, request: SendRequest, result: SendResult) -> None:
        await super().notify(request, result)
        await self.release.wait()
        self.finished += 1


async def test_a_notifier_waiting_on_slack_does_not_hold_up_the_next_sms(
    sandbox: SandboxHandle, database_url: str
):
    # Two sends at once; the first two outcomes' notifier is held (Slack's per-channel rate
    # limit can make a confirmation wait seconds): the other SMS still go to KPN meanwhile.
    settings = settings_for(sandbox.url, database_url)
    notifier = HeldNotifier()
    async with open_pipeline(
        settings, notifiers={Surface.CLI: notifier}, outbox=OutboxOptions(concurrency=2)
    ) as pipeline:
        for i in range(4):
            request = SendRequest("cli:ops", Surface.CLI, f"061234567{i}", f"sms {i}")
            await pipeline.service.enqueue(request)
        await until(lambda: len(sandbox.messages()) == 4, "all four SMS at KPN", within=10)
        await notifier.wait_for(4)
        assert notifier.finished == 0
        stopping = asyncio.create_task(pipeline.outbox.stop(grace_seconds=30))
        notifier.release.set()
        await stopping  # waits for the notifications under way, as for sends
        assert notifier.finished == 4
    assert [r.outcome for _, r in notifier.calls] == [Outcome.SENT] * 4


async def test_rows_still_being_told_of_are_bounded_too(sandbox: SandboxHandle, database_url: str):
    # The notifier of every outcome held: with one slot, at most IN_FLIGHT_PER_SLOT rows are
    # under way (sent, their notifier waiting); the next waits until one of them is done.
    settings = settings_for(sandbox.url, database_url)
    notifier = HeldNotifier()
    bound = IN_FLIGHT_PER_SLOT
    async with open_pipeline(
        settings, notifiers={Surface.CLI: notifier}, outbox=OutboxOptions(concurrency=1)
    ) as pipeline:
        for i in range(bound + 2):
            request = SendRequest("cli:ops", Surface.CLI, f"061234567{i}", f"sms {i}")
            await pipeline.service.enqueue(request)
        await notifier.wait_for(bound)
        # The outbox's own look for more rows, now: the bound holds it back.
        assert await pipeline.outbox._take_some() == 0
        assert len(sandbox.messages()) == bound
        notifier.release.set()
        await notifier.wait_for(bound + 2)
    assert len(sandbox.messages()) == bound + 2
