"""The summary SMS after an alert storm.

The service refuses alert SMS to a number past `alerts.storm_max` per
`alerts.storm_window_seconds` (rule `storm`). Those alerts are not lost: once the number's
window has room again, one summary goes out, e.g. "Held back since 03:10 CET: 10 firing,
2 resolved. See Slack #alerts" (notifications, as the SMS held back were, each counted as
firing or resolved; the time in `SMSBOT_TIMEZONE`). The count comes from the store
(refused-by-storm rows since the storm began), so it includes what other replicas held
back; the summary's idempotency key is the number plus the window it is sent in, so two
replicas send it once.

Where that count starts must not depend on which replica wins the summary: each replica only
knows when *it* first saw the cap refuse, and another replica may have held alerts of the same
storm back a moment (or minutes) before. Every refusal of one storm carries the same `retry_at`:
the moment the oldest send of the full window leaves it, so that send's time is known on every
replica, and the storm lies within one window after it. A row's time is when its replica asked to
write it, though, not when the database committed it (a transaction that waited for the write
lock commits after rows stamped later), and replicas' clocks differ: so the count reaches back one
more window before that send, but never before the newest summary recorded for the number (by
any replica), which counted what came before it. Storms that follow each other (a summary itself
refills the window) are so not counted twice.

What is pending lives in memory and is rebuilt from the store when the summary task starts
(`recover`): after a restart (or a crash) every storm of the last `RECOVER_HOURS` that still owes
its summary gets it, counted as above, so a summary already sent is never sent again, nor
reported as owed.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from smsbot.alerts.history import AlertHistory
from smsbot.alerts.routing import Route
from smsbot.settings import DEFAULT_TIMEZONE, AlertSettings
from smsbot.sms.numbers import mask_number
from smsbot.sms.request import Outcome, SendRequest, Surface
from smsbot.store import COUNTED_OUTCOMES
from smsbot.timezone import local_time

if TYPE_CHECKING:
    from smsbot.service import SmsService

log = logging.getLogger(__name__)

# How far back a starting process looks for storms whose summary is still owed. A summary much
# later than this would tell the on-call person little the alert history does not.
RECOVER_HOURS = 6


@dataclass
class _Storm:
    since: datetime  # when this replica first saw the cap refuse an alert to the number
    route: Route
    source: Surface
    # When the oldest send of the full window was recorded (a refusal's `retry_at` less the
    # window), when known.
    window_start: datetime | None = None


ChannelNamer = Callable[[str], Awaitable[str | None]]


def summary_text(
    held: Mapping[str, int],
    since: datetime,
    route: Route,
    source: Surface,
    channel_name: str | None = None,
    *,
    timezone: str = DEFAULT_TIMEZONE,
    now: datetime | None = None,
) -> str:
    """E.g. "Held back since 03:10 CET: 10 firing, 2 resolved. See Slack #alerts". A resolved
    notification is no further alert, so the two are counted apart."""
    when = local_time(since, timezone, now=now)
    if route.mirror_channel:
        channel = (channel_name or route.mirror_channel).removeprefix("#")
        where = f"See Slack #{channel}"
    else:
        where = "See Grafana" if source is Surface.GRAFANA else "See Alertmanager"
    counts = f"{held.get('firing', 0)} firing, {held.get('resolved', 0)} resolved"
    return f"Held back since {when}: {counts}. {where}"


class StormSummaries:
    """Remembers numbers whose alerts were held back and sends each one summary."""

    def __init__(
        self,
        settings: AlertSettings,
        service: SmsService,
        history: AlertHistory,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        channel_namer: ChannelNamer | None = None,
        routes: Sequence[Route] = (),
        timezone: str = DEFAULT_TIMEZONE,
    ) -> None:
        self.settings = settings
        self.timezone = timezone  # SMSBOT_TIMEZONE, for the time the summary shows
        self.service = service
        self.history = history
        self.routes = {route.name: route for route in routes}
        self.recovered = False
        self.ticks = 0  # flushes the background task has finished: what a watcher can wait on
        self.clock = clock
        # A phone shows "#alerts" better than a channel id; Slack knows the name.
        self.channel_namer = channel_namer
        self._storms: dict[str, _Storm] = {}
        # Numbers whose summary claim this replica holds (until when) but has not recorded yet.
        self._claimed: dict[str, datetime] = {}

    @property
    def pending(self) -> int:
        return len(self._storms)

    def refused(
        self,
        number: str,
        route: Route,
        source: Surface,
        at: datetime,
        retry_at: datetime | None = None,
    ) -> None:
        """Called by the intake for each alert SMS the storm cap refused (`retry_at`: the
        refusal's, when the window has room again)."""
        if number in self._storms:
            return  # the storm under way: called for every refused alert of a storm
        window = timedelta(seconds=self.settings.storm_window_seconds)
        start = retry_at - window if retry_at is not None else None
        self._storms[number] = _Storm(at, route, source, start)

    async def recover(self) -> int:
        """Rebuild the pending storms from the store (held-back alerts of the last
        `RECOVER_HOURS`); the next `flush` sends what is still owed. Returns how many."""
        window = timedelta(seconds=self.settings.storm_window_seconds)
        since = self.clock() - max(timedelta(hours=RECOVER_HOURS), 2 * window)
        found = 0
        for held in await self.history.storms_held_since(since):
            route = self.routes.get(held.actor.removeprefix("alert:"))
            if route is None:
                log.warning(
                    "alerts held back for %s by route %r, which is no longer configured: "
                    "no storm summary for them",
                    mask_number(held.recipient),
                    held.actor.removeprefix("alert:"),
                )
                continue
            if held.recipient not in self._storms:
                start = held.retry_at - window if held.retry_at is not None else None
                storm = _Storm(held.first_held, route, held.surface, start)
                # Owed only when something was held back after the newest summary to the
                # number: one sent before the restart counted all that came before it.
                if not await self._held_since_last_summary(held.recipient, storm):
                    continue
                self._storms[held.recipient] = storm
                found += 1
        self.recovered = True
        if found:
            log.info("%d alert storm(s) found in the store still owing a summary", found)
        return found

    async def flush(self) -> int:
        """Send the summaries whose window has reopened; returns how many were queued."""
        sent = 0
        for number, storm in list(self._storms.items()):
            try:
                if await self._flush_one(number, storm):
                    sent += 1
            except Exception:
                # The store may be briefly unreachable: the storm stays pending for next time.
                log.exception("storm summary for %s not sent yet", mask_number(number))
        return sent

    async def _flush_one(self, number: str, storm: _Storm) -> bool:
        now = self.clock()
        window = timedelta(seconds=self.settings.storm_window_seconds)
        # The same count as the storm cap: alert SMS that used up a slot of the window.
        used = await self.history.count_alert_sends(number, now - window)
        if used >= self.settings.storm_max:
            return False  # the window is still full
        digest = _digest(number)
        start = await self._count_from(digest, storm, now)
        held = await self.history.storm_held_statuses(number, start)
        if not sum(held.values()):
            del self._storms[number]
            return False
        slot = self._slot(now)
        request = SendRequest(
            actor=f"alert:{storm.route.name}",
            surface=storm.source,
            to=number,
            text=summary_text(
                held,
                max(storm.since, start),
                storm.route,
                storm.source,
                await self._channel_name(storm),
                timezone=self.timezone,
                now=now,
            ),
            channel=storm.route.mirror_channel,
            idempotency_key=f"alert-storm-summary:{digest}:{slot}",
            reply={"route": storm.route.name, "mirror_channel": storm.route.mirror_channel},
        )
        # One summary per number per window across replicas: the first to claim sends it. The
        # claim and the summary are recorded in one transaction, so a crash between them cannot
        # leave a claim that keeps every replica from sending. A replica that loses counts its
        # storm from now on (the winner counted what came before). A claim this replica won
        # for a summary the storm cap refused is still its own (see below): no new claim.
        if self._claimed.get(number, now) > now:
            result = await self.service.enqueue(request)
        else:
            claimed = await self.service.enqueue(
                request,
                claim=(f"alert-storm-summary:{digest}", self.settings.storm_window_seconds),
            )
            if claimed is None:
                self._storms[number] = _Storm(now, storm.route, storm.source)
                return False
            result = claimed
            self._claimed[number] = now + window
        # Recorded: only now is the storm no longer pending (should the store fail before,
        # the next flush tries again).
        del self._storms[number]
        if result.outcome is Outcome.REFUSED:
            # Another burst filled the window first: try again when it has room (the next
            # window gives the summary a fresh idempotency key). The claim stays ours: it is
            # held for the whole window, and losing it would lose the summary.
            self._storms.setdefault(number, storm)
            return False
        self._claimed.pop(number, None)
        return not result.duplicate  # a duplicate: another replica sent this summary

    async def _held_since_last_summary(self, number: str, storm: _Storm) -> int:
        start = await self._count_from(_digest(number), storm, self.clock())
        return await self.history.count_alert_sends(number, start, held_by_storm=True)

    def _slot(self, at: datetime) -> int:
        return int(at.timestamp() // self.settings.storm_window_seconds)

    async def _count_from(self, digest: str, storm: _Storm, now: datetime) -> datetime:
        """Where the count of held alerts starts (see the module's docstring): one window before
        the storm's full window began (or this replica's first refusal, when that is not known),
        but not before the newest summary to the number recorded since then."""
        window = timedelta(seconds=self.settings.storm_window_seconds)
        start = (storm.window_start or storm.since) - window
        # A summary's key names the window slot it was sent in: newest slot first.
        for slot in range(self._slot(now), self._slot(start) - 1, -1):
            record = await self.history.find(f"alert-storm-summary:{digest}:{slot}")
            if record is not None and record.outcome in COUNTED_OUTCOMES and record.time > start:
                return record.time
        return start

    async def _channel_name(self, storm: _Storm) -> str | None:
        channel = storm.route.mirror_channel
        if not channel or channel.startswith("#") or self.channel_namer is None:
            return None
        try:
            return await self.channel_namer(channel)
        except Exception:
            log.warning("could not read the name of Slack channel %s", channel, exc_info=True)
            return None

    async def run(self, interval: float) -> None:
        """Recover what a previous process left pending, then flush every `interval` seconds
        until cancelled."""
        while True:
            if not self.recovered:
                try:
                    await self.recover()
                except Exception:
                    # The store may be briefly unreachable at start: try again next tick.
                    log.exception("could not look for alert storms still owing a summary")
            await asyncio.sleep(interval)
            await self.flush()
            self.ticks += 1


def _digest(number: str) -> str:
    """A number as the summary's claim and idempotency key name it (no number in the key)."""
    return hashlib.sha256(number.encode()).hexdigest()[:24]


@contextlib.asynccontextmanager
async def running(summaries: StormSummaries, interval: float):
    task = asyncio.create_task(summaries.run(interval), name="alert-storm-summaries")
    try:
        yield summaries
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
