"""The outbox worker: sends the rows `SmsService.enqueue` queued, in the background.

```python
outbox = Outbox(settings, store, service, quota)        # built by smsbot.bootstrap
outbox.start()                                          # resume and send what is queued
await outbox.stop(grace_seconds=20)                     # stop taking rows; let sends finish
```

Its loop takes due `queued` rows (one worker per row across replicas: the store marks each
`sending` with a conditional UPDATE), up to `concurrency` sends at once, and hands each to
`SmsService.send_taken`, which runs steps 4-6 of the pipeline. A row holds its slot until its
outcome is recorded, not while the notifier tells Slack: a confirmation waiting out Slack's
rate limit (seconds, for a burst into one channel) must not hold up the next page. It wakes as
soon as this process queues a row (`service.queued`) and otherwise every `poll_seconds`, for
rows other replicas queued. Beside that, the housekeeping every replica does:

- retry schedule: while KPN is unreachable a row is tried again after 5 s, doubling up to 5 min
  apart, until it is as old as its surface allows (`retry_bound_seconds`);
- stale expiry: a row `sending` for longer than a send can take (`longest_send`) belongs to a
  process that died mid-send, and becomes `unknown` (perhaps sent), never sent again;
- purge: records older than `audit.retention_days` are deleted, hourly;
- backoff: while the store itself fails, the loop waits 1 s, doubling up to 30 s.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from smsbot.policy import QuotaGate
from smsbot.policy.limits import ALERT_SURFACES
from smsbot.service import DIED_REASON, SmsService
from smsbot.settings import Settings
from smsbot.sms.request import Surface
from smsbot.store import AuditRecord, Store, utcnow

log = logging.getLogger(__name__)

DIED_WHILE_SENDING = DIED_REASON.english()  # the record's; the notifier gets its code

# How often the outbox looks for rows other replicas queued, and does its housekeeping.
POLL_SECONDS = 1.0
STALE_CHECK_SECONDS = 30.0
PURGE_SECONDS = 3600.0
# While KPN is unreachable the outbox tries a row again after 5 s, doubling up to 5 min apart,
# until the row is `kpn.outbox_retry_seconds` old.
RETRY_DELAYS = (5.0, 300.0)
# A person waiting in Slack should hear within minutes that KPN is down, not get the SMS an hour
# later; alerts, whose sender already had its 200, keep trying for `kpn.outbox_retry_seconds`.
PEOPLE_RETRY_SECONDS = 120.0
# How long a stop lets the sends under way finish: below Kubernetes' default 30 s termination
# grace period.
STOP_GRACE_SECONDS = 20.0
# A row frees its slot before its notifier runs; the rows still being told of (Slack waiting out
# a rate limit) are bounded too, at this many per slot: past that, a burst into one channel
# would be hundreds of calls racing for it, each more likely to give up.
IN_FLIGHT_PER_SLOT = 4


@dataclass(frozen=True)
class OutboxOptions:
    """How the outbox runs. `concurrency` (default `kpn.outbox_concurrency`) bounds the sends
    under way at once; `stale_after` (default: the longest a send can take under the KPN
    timeouts) is how long a row may stay `sending` before it is declared `unknown`;
    `retry_delays` (first, longest) spaces the tries while KPN is unreachable (tests shorten
    it); a stop gives sends under way `stop_grace_seconds`, then cancels them, their rows left
    `sending` to become `unknown` (perhaps sent), never sent again."""

    concurrency: int | None = None
    poll_seconds: float = POLL_SECONDS
    stale_after: timedelta | None = None
    retry_delays: tuple[float, float] = RETRY_DELAYS
    stop_grace_seconds: float = STOP_GRACE_SECONDS


DEFAULT_OUTBOX = OutboxOptions()


def retry_bound_seconds(surface: Surface, settings: Settings) -> float:
    """How long an outbox row from `surface` is tried again while KPN is unreachable."""
    bound = settings.kpn.outbox_retry_seconds
    return bound if surface in ALERT_SURFACES else min(bound, PEOPLE_RETRY_SECONDS)


def longest_send(settings: Settings) -> timedelta:
    """The longest one send can take: every attempt timing out, plus the retry budget, plus
    a margin. A row `sending` for longer than this belongs to a process that is gone."""
    kpn = settings.kpn
    attempts = max(1, kpn.max_attempts)
    seconds = (kpn.connect_timeout + kpn.read_timeout) * attempts + kpn.max_retry_seconds
    return timedelta(seconds=seconds + 5.0)


class Outbox:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        service: SmsService,
        quota: QuotaGate,
        options: OutboxOptions = DEFAULT_OUTBOX,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.settings = settings
        self.store = store
        self.service = service
        self.quota = quota
        self.concurrency = max(1, options.concurrency or settings.kpn.outbox_concurrency)
        self.poll_seconds = options.poll_seconds
        self.stale_after = options.stale_after or longest_send(settings)
        self.retry_delays = options.retry_delays
        self.stop_grace_seconds = options.stop_grace_seconds
        self._clock = clock
        self._stopping = False
        self._worker: asyncio.Task[None] | None = None
        self._in_flight: set[asyncio.Task[None]] = set()  # sends and their notifying, for stop
        self._sending: set[asyncio.Task[None]] = set()  # those holding a slot: until recorded

    @property
    def _wake(self) -> asyncio.Event:
        return self.service.queued

    def start(self) -> None:
        """Start sending queued rows in the background (the bot and `open_service` do this)."""
        if self._worker is None:
            self._stopping = False
            self._worker = asyncio.create_task(self._run(), name="smsbot-outbox")

    async def stop(self, grace_seconds: float | None = None) -> None:
        """Stop taking rows and let sends under way finish, and their notifiers: for
        `grace_seconds` (default `stop_grace_seconds`), then they are cancelled. A send
        cancelled before its outcome was recorded leaves its row `sending`, to become `unknown`
        later; one cancelled while notifying has its outcome recorded, and only that notice is
        lost (Slack is not told)."""
        if self._worker is None:
            return
        self._stopping = True
        self._wake.set()
        grace = self.stop_grace_seconds if grace_seconds is None else grace_seconds
        await self._worker
        self._worker = None
        if self._in_flight:
            _done, pending = await asyncio.wait(self._in_flight, timeout=grace)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    def retry_at(self, record: AuditRecord) -> datetime | None:
        """When a row KPN could not take should be tried again, or None when it has waited as
        long as its surface allows (`retry_bound_seconds`)."""
        now = self._clock()
        bound = retry_bound_seconds(record.surface, self.settings)
        if now - record.time >= timedelta(seconds=bound):
            return None
        first, longest = self.retry_delays
        delay = min(longest, first * 2 ** min(max(record.attempts - 1, 0), 32))
        # The last try falls on the bound, not a whole back-off step past it.
        return min(now + timedelta(seconds=delay), record.time + timedelta(seconds=bound))

    async def _run(self) -> None:
        last_stale_check = last_purge = float("-inf")
        stale_check_seconds = min(STALE_CHECK_SECONDS, self.stale_after.total_seconds() / 2)
        failures = 0
        while not self._stopping:
            self._wake.clear()
            try:
                now = time.monotonic()
                if now - last_stale_check >= stale_check_seconds:
                    await self._expire_stale()
                    last_stale_check = now
                if now - last_purge >= PURGE_SECONDS:
                    await self._purge()
                    last_purge = now
                taken = await self._take_some()
                failures = 0
            except Exception:
                failures += 1
                log.exception("outbox: the store failed; trying again")
                taken = 0
                await asyncio.sleep(min(30.0, 0.5 * 2**failures))
            if taken and len(self._sending) < self.concurrency:
                continue  # more rows may be waiting
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_seconds)
            except TimeoutError:
                pass

    async def _take_some(self) -> int:
        if self.quota.reopens_at is not None:
            return 0  # KPN would answer 429: leave the rows queued until the reset
        free = min(
            self.concurrency - len(self._sending),
            self.concurrency * IN_FLIGHT_PER_SLOT - len(self._in_flight),
        )
        if free <= 0:
            return 0
        rows = await self.store.take_due(free)
        for row in rows:
            task = asyncio.create_task(self._send(row))
            self._in_flight.add(task)
            self._sending.add(task)
            task.add_done_callback(self._sent_one)
        return len(rows)

    def _free_slot(self, task: asyncio.Task[None]) -> None:
        if task in self._sending:
            self._sending.discard(task)
            self._wake.set()

    def _sent_one(self, task: asyncio.Task[None]) -> None:
        self._in_flight.discard(task)
        self._sending.discard(task)
        self._wake.set()  # room for another row, whichever bound held it back

    async def _send(self, row: AuditRecord) -> None:
        task = asyncio.current_task()
        assert task is not None
        try:
            await self.service.send_taken(
                row, retry_at=self.retry_at, recorded=lambda: self._free_slot(task)
            )
        except Exception:
            # Only the store can fail here (KPN errors are outcomes): the row stays `sending`
            # and becomes `unknown` after `stale_after`. The outbox never sends it again; an
            # alert's may be repeated once, marked "(repeat)", by `smsbot.alerts.resend`.
            log.exception("outbox: could not record the outcome of sms %s", row.request_id)

    async def _expire_stale(self) -> None:
        cutoff = self._clock() - self.stale_after
        for record in await self.store.expire_stale_sending(cutoff, DIED_WHILE_SENDING):
            await self.service.finished(record.to_request(), record)

    async def _purge(self) -> None:
        before = self._clock() - timedelta(days=self.settings.audit.retention_days)
        deleted = await self.store.purge(before)
        if deleted:
            log.info("retention: deleted %d audit records older than %s", deleted, before)
