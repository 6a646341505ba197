"""From a parsed alert group to queued SMS: route, render, de-duplicate, enqueue.

Every SMS goes through `SmsService.enqueue`, which validates, applies the storm cap and records
the request durably before it returns; the outbox sends it afterwards. So the webhook can answer
200 as soon as `accept` returns, and whatever KPN does later never turns into a 4xx that would
make Alertmanager drop the alert.

De-duplication: Alertmanager HA pairs (and retries) deliver the same notification more than
once. The same group key, alert fingerprints and status for the same route and recipient within
`alerts.repeat_window_seconds` is claimed once in the store (atomic across replicas), in the
same transaction that records its SMS (`enqueue(request, claim=...)`: one write per SMS, and a
claim never stands without its record). Later copies send nothing and are audited as `refused`
with rule `duplicate`, unless the SMS the first one recorded `failed` (KPN refused it, or stayed
unreachable): then a copy tries again, under a key that follows from the failed record, so
concurrent copies still send one SMS.

The SMS's idempotency key is the dedup key plus the repeat-window slot of the clock of the
replica that claimed it. A copy that lost the claim knows its record is committed (claim and
record are one transaction), so it looks it up at once, in every slot the claimer's clock can
have been in: from one window (plus `CLOCK_SLACK`) ago to `CLOCK_SLACK` ahead, newest first.
Replica clocks that straddle a slot boundary so find the claimer's record in the next slot.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from smsbot.alerts.history import AlertHistory
from smsbot.alerts.payloads import Alert, AlertGroup
from smsbot.alerts.recipients import RecipientResolver
from smsbot.alerts.render import AlertTemplate, render
from smsbot.alerts.routing import Route, UnroutedLog, routes_for
from smsbot.metrics import Metrics
from smsbot.policy.limits import STORM_RULE
from smsbot.settings import AlertSettings
from smsbot.sms.numbers import mask_number
from smsbot.sms.request import Outcome, SendRequest, Surface
from smsbot.store import AuditRecord
from smsbot.store.alert_groups import Observed

if TYPE_CHECKING:
    from smsbot.alerts.groups import AlertGroups

if TYPE_CHECKING:
    from smsbot.service import SmsService

log = logging.getLogger(__name__)

CLOCK_SLACK = timedelta(seconds=5)  # replicas' clocks and the database's differ a little
REPEAT_REASON = (
    "The same alert notification (group, alerts and status) went to this number less than "
    "{seconds} s ago (alerts.repeat_window_seconds); not sent again."
)
# A copy of a notification whose first delivery the storm cap held back: it did not go to the
# number, and the storm summary counts that first delivery once.
STORM_REPEAT_REASON = (
    "The same alert notification (group, alerts and status) came less than {seconds} s ago "
    "and was held back by storm control (alerts.storm_max); it is counted once in the storm "
    "summary, this copy is not sent."
)


ACKED_REASON = (
    "The alert group is acknowledged: a repeat notification goes to nobody while the "
    "acknowledgement stands (the route's ack_expires_after; by default until it resolves)."
)


class StormListener(Protocol):
    def refused(
        self,
        number: str,
        route: Route,
        source: Surface,
        at: datetime,
        retry_at: datetime | None = None,
    ) -> None: ...


@dataclass
class IntakeReport:
    """What became of one webhook, for its JSON answer and the metrics."""

    queued: int = 0
    duplicates: int = 0
    storm_held: int = 0  # refused by the storm cap; counted into the next summary SMS
    refused: int = 0
    not_routed: int = 0  # alerts no route took (no match, quiet hours, resolved not wanted)
    request_ids: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "queued": self.queued,
            "duplicates": self.duplicates,
            "storm_held": self.storm_held,
            "refused": self.refused,
            "not_routed": self.not_routed,
            "request_ids": self.request_ids,
        }


def _after_failed(record: AuditRecord) -> str:
    """The idempotency key of the attempt that follows the failed SMS `record`: `KEY:again`,
    then `KEY:again2`, `KEY:again3`, ... Counted, not chained, so a long run of failures (KPN
    refusing every send through an outage) never outgrows the key's column."""
    key = record.idempotency_key
    base, again, count = key.rpartition(":again")
    if again and (count == "" or count.isdigit()):
        return f"{base}:again{int(count or 1) + 1}"
    return f"{key}:again"


def notification_status(alerts: Sequence[Alert]) -> str:
    """`firing` when any of the alerts one SMS is about fires, else `resolved`."""
    return "firing" if any(a.status == "firing" for a in alerts) else "resolved"


def dedup_key(
    source: Surface, group: AlertGroup, alerts: Sequence[Alert], route: Route, number: str
) -> str:
    """Names one notification to one phone: the same key means the same SMS."""
    status = notification_status(alerts)
    identities = sorted(a.identity for a in alerts)
    material = "\n".join([source, group.group_key, route.name, number, status, *identities])
    return hashlib.sha256(material.encode()).hexdigest()[:40]


class AlertIntake:
    def __init__(
        self,
        *,
        settings: AlertSettings,
        service: SmsService,
        history: AlertHistory,
        routes: Sequence[Route],
        resolver: RecipientResolver,
        template: AlertTemplate | None = None,
        storm: StormListener | None = None,
        metrics: Metrics | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        groups: AlertGroups | None = None,
    ) -> None:
        """`groups` (the on-call loop) tracks each group's state: reply hints with per-phone
        codes, escalation, and repeats of an acknowledged group held back."""
        self.groups = groups
        self.settings = settings
        self.service = service
        self.history = history
        self.routes = list(routes)
        self.resolver = resolver
        self.template = template
        self.storm = storm
        self.metrics = metrics
        self.clock = clock
        self.unrouted = UnroutedLog()

    async def accept(self, source: Surface, group: AlertGroup) -> IntakeReport:
        """Queue the SMS this group asks for; raises only when they could not be recorded."""
        now = self.clock()
        report = IntakeReport()
        per_route = self._route(source, group, now, report)
        await self._track_resolved(source, group, {route.name for route, _ in per_route})
        # Every number is looked up before anything is queued: a Slack failure then leaves
        # nothing half-done, and the sender's retry starts from a clean slate.
        plans = [
            (route, alerts, await self.resolver.numbers(route.recipients))
            for route, alerts in per_route
        ]
        delivered: set[tuple[str, str]] = set()
        for route, alerts, numbers in plans:
            text = self._render(group, alerts, route)
            tracked = await self._track(source, group, route, alerts, text)
            if tracked is not None and self.groups is not None:
                if self.groups.holds_back_repeat(tracked):
                    await self._hold_back_acknowledged(source, group, alerts, route, numbers, text)
                    report.duplicates += len(numbers)
                    continue
            for number in numbers:
                sms = text
                if tracked is not None and self.groups is not None and tracked.group.is_open:
                    name = await self.resolver.name_for(number)
                    code = await self.groups.code_for(tracked.group.id, number, name)
                    sms = self._render(group, alerts, route, self.groups.hint(code, route))
                # Two routes (with `continue`) naming one phone for the same text: one SMS.
                if (number, sms) not in delivered:
                    delivered.add((number, sms))
                    group_id = tracked.group.id if tracked is not None else None
                    await self._send(
                        source, group, alerts, route, number, sms, now, report, group_id
                    )
        self._count(source, report)
        return report

    def _render(
        self, group: AlertGroup, alerts: list[Alert], route: Route, hint: str | None = None
    ) -> str:
        return render(
            group,
            alerts,
            max_parts=self.settings.max_parts,
            template=self.template,
            route=route.name,
            hint=hint,
        )

    async def _track(
        self, source: Surface, group: AlertGroup, route: Route, alerts: list[Alert], text: str
    ) -> Observed | None:
        if self.groups is None:
            return None
        observed = await self.groups.observe(str(source), group, route, alerts)
        if observed is not None and observed.group.is_open and observed.group.summary != text:
            await self.groups.note_summary(observed.group.id, text)
        return observed

    async def _track_resolved(self, source: Surface, group: AlertGroup, sent: set[str]) -> None:
        """A resolved notification closes the group on every route that tracks it, also on
        routes that send no resolved SMS (it stops their escalation)."""
        if self.groups is None or group.status != "resolved":
            return
        tracked: dict[str, tuple[Route, list[Alert]]] = {}
        for alert in group.alerts:
            for route in routes_for(self.routes, alert.labels):
                if route.name not in sent:
                    tracked.setdefault(route.name, (route, []))[1].append(alert)
        for route, alerts in tracked.values():
            await self.groups.observe(str(source), group, route, alerts)

    async def _hold_back_acknowledged(
        self,
        source: Surface,
        group: AlertGroup,
        alerts: list[Alert],
        route: Route,
        numbers: list[str],
        text: str,
    ) -> None:
        """A repeat of an acknowledged group: audited per phone (refused, rule `duplicate`),
        sent to nobody."""
        for number in numbers:
            key = dedup_key(source, group, alerts, route, number)
            reply = {"route": route.name, "group_key": group.group_key}
            await self._record_repeat(source, route, number, text, key, reply, ACKED_REASON)
        log.info(
            "alert %s via route %r is acknowledged: repeat sent to nobody",
            group.group_key or "(no group key)",
            route.name,
        )

    def _route(
        self, source: Surface, group: AlertGroup, now: datetime, report: IntakeReport
    ) -> list[tuple[Route, list[Alert]]]:
        chosen: dict[str, tuple[Route, list[Alert]]] = {}
        matched_none = 0
        for alert in group.alerts:
            taken = False
            matching = routes_for(self.routes, alert.labels)
            matched_none += not matching
            for route in matching:
                if route.accepts(alert.labels, alert.status, now):
                    chosen.setdefault(route.name, (route, []))[1].append(alert)
                    taken = True
            if not taken:
                report.not_routed += 1
        if matched_none:
            self.unrouted.matched_no_route(
                str(source), group.group_key, group.group_labels, matched_none
            )
        return list(chosen.values())

    async def _send(
        self,
        source: Surface,
        group: AlertGroup,
        alerts: list[Alert],
        route: Route,
        number: str,
        text: str,
        now: datetime,
        report: IntakeReport,
        group_id: str | None = None,
    ) -> None:
        key = dedup_key(source, group, alerts, route, number)
        reply: dict[str, Any] = {
            "route": route.name,
            "mirror_channel": route.mirror_channel,
            "group_key": group.group_key,
            # What the storm summary counts: "3 firing, 1 resolved".
            "status": notification_status(alerts),
        }
        if group_id is not None:
            reply["alert_group"] = group_id
        window = self.settings.repeat_window_seconds
        request = SendRequest(
            actor=f"alert:{route.name}",
            surface=source,
            to=number,
            text=text,
            channel=route.mirror_channel,
            idempotency_key=self._idempotency_key(key, now),
            reply=reply,
            resend_unknown_after=route.resend_unknown_after,
        )
        # The dedup claim and the SMS's record in one transaction: None when another delivery
        # holds the claim already (and then nothing was recorded).
        result = await self.service.enqueue(request, claim=(f"alert:{key}", window))
        if result is None:
            earlier = await self._claimed_with(key, now)
            if earlier is None or earlier.outcome is not Outcome.FAILED:
                report.duplicates += 1
                held = earlier.outcome is Outcome.REFUSED and earlier.rule == STORM_RULE
                reason = STORM_REPEAT_REASON if held else REPEAT_REASON
                await self._record_repeat(source, route, number, text, key, reply, reason)
                if earlier is None:
                    # Claimed with its record, but no slot within CLOCK_SLACK holds it: the
                    # replicas' clocks are further apart than that. Sending now could send twice.
                    log.warning(
                        "alert %s for %s via route %r: claimed by a replica whose clock is more "
                        "than %d s off; treated as a repeat",
                        group.group_key or "(no group key)",
                        mask_number(number),
                        route.name,
                        CLOCK_SLACK.total_seconds(),
                    )
                log.info(
                    "alert %s for %s via route %r is a repeat within %d s: not sent again",
                    group.group_key or "(no group key)",
                    mask_number(number),
                    route.name,
                    window,
                )
                return
            # The earlier delivery's SMS failed: this copy is a new attempt, not a repeat.
            # Its key follows from the failed record, so concurrent copies send one SMS.
            request = replace(request, idempotency_key=_after_failed(earlier))
            log.warning(
                "alert %s for %s: the SMS of an earlier delivery failed (%s); trying again",
                group.group_key or "(no group key)",
                mask_number(number),
                earlier.rule or "see the audit log",
            )
            result = await self.service.enqueue(request)
        report.request_ids.append(result.request_id)
        if group_id is not None and self.groups is not None:
            await self.groups.note_send(group_id, number, result.request_id)
        if result.outcome is Outcome.REFUSED and result.rule == STORM_RULE:
            report.storm_held += 1
            if self.storm is not None:
                self.storm.refused(number, route, source, now, result.retry_at)
        elif result.outcome in (Outcome.REFUSED, Outcome.INVALID):
            report.refused += 1
            log.warning(
                "alert SMS for %s via route %r not queued (%s): %s",
                mask_number(number),
                route.name,
                result.rule,
                result.reason,
            )
        else:
            report.queued += 1

    def _slot(self, at: datetime) -> int:
        return int(at.timestamp() // self.settings.repeat_window_seconds)

    def _idempotency_key(self, key: str, at: datetime, slot: int | None = None) -> str:
        """The key of the SMS for `key` claimed at `at`. Two claims of one key are at least a
        repeat window apart, so they never share a slot: each claim gets its own SMS."""
        return f"alert:{key}:{self._slot(at) if slot is None else slot}"

    async def _claimed_with(self, key: str, now: datetime) -> AuditRecord | None:
        """The SMS recorded with the claim on `key` that another delivery holds, or None.

        Claim and record commit together, so the record is there; its key names the slot of
        the claimer's clock, which is at most a window (the claim's lifetime) behind this one,
        give or take `CLOCK_SLACK`. Newest slot first: an older slot may hold the SMS of an
        earlier, expired claim. A `failed` SMS suppresses nothing: the attempt recorded after it
        is returned instead, and the failed record itself only when no attempt followed it.
        """
        window = timedelta(seconds=self.settings.repeat_window_seconds)
        oldest = now - window - CLOCK_SLACK
        for slot in range(self._slot(now + CLOCK_SLACK), self._slot(oldest) - 1, -1):
            record = await self.history.find(self._idempotency_key(key, now, slot))
            if record is not None and record.time >= oldest:
                while record.outcome is Outcome.FAILED:
                    after = await self.history.find(_after_failed(record))
                    if after is None:
                        break
                    record = after
                return record
        return None

    async def _record_repeat(
        self,
        source: Surface,
        route: Route,
        number: str,
        text: str,
        key: str,
        reply: dict[str, Any],
        reason: str,
    ) -> None:
        """Put the repeat in the audit log (refused, rule `duplicate`): sent nothing, and says
        why. `refused` rows count against no cap."""
        await self.service.record_duplicate(
            SendRequest(
                actor=f"alert:{route.name}",
                surface=source,
                to=number,
                text=text,
                channel=route.mirror_channel,
                idempotency_key=f"alert-repeat:{key}:{uuid.uuid4().hex}",
                reply=reply,
            ),
            reason.format(seconds=self.settings.repeat_window_seconds),
        )

    def _count(self, source: Surface, report: IntakeReport) -> None:
        if self.metrics is None:
            return
        for result, count in (
            ("queued", report.queued),
            ("duplicate", report.duplicates),
            ("storm", report.storm_held),
            ("refused", report.refused),
            ("not_routed", report.not_routed),
        ):
            if count:
                self.metrics.alerts.labels(str(source), result).inc(count)
