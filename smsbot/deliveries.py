"""What becomes of a delivery report once its route has read it: a fact in the store, counted.

The route (`smsbot.kpn.delivery.route`) hands each report here; this records it with
`Store.apply_delivery` (applied once, never downgrading, per part) and counts what changed:
`smsbot_deliveries_total` by the final state an SMS reached (each SMS counted once, as a final
state never changes), and `smsbot_delivery_seconds`, from the request to `delivered`.
Watchers (a Slack confirmation to update, `smsbot send --wait`) are told of every change.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence

from smsbot.kpn.delivery import DeliveryReport
from smsbot.metrics import Metrics
from smsbot.store import Delivery, DeliveryApplied, Store
from smsbot.store import DeliveryReport as StoredReport

log = logging.getLogger(__name__)

# Told of every report that changed something, with the SMS's record afterwards.
DeliveryWatcher = Callable[[DeliveryApplied], Awaitable[None]]


def stored_report(report: DeliveryReport) -> StoredReport:
    """The route's reading of a report, as the store keeps it."""
    return StoredReport(
        status=report.status,
        part=report.part,
        code=report.error_code,
        at=report.status_at,
    )


class DeliveryRecorder:
    """Records delivery reports for the route; one per process, shared by its requests.
    `watchers` are told of each delivery that changed, in order (Slack's confirmations, the
    alert mirror and alarms), all built before it."""

    def __init__(
        self,
        store: Store,
        *,
        metrics: Metrics | None = None,
        watchers: Sequence[DeliveryWatcher] = (),
    ) -> None:
        self._store = store
        self.metrics = metrics
        self._watchers = tuple(watchers)

    async def record(self, sms_id: str, report: DeliveryReport) -> DeliveryApplied | None:
        """Store `report` about SMS `sms_id`; None when no such SMS is stored (purged after its
        retention, or a database that was reset). Raises what the store raises: the route then
        answers 5xx, so KPN retries."""
        applied = await self._store.apply_delivery(sms_id, stored_report(report))
        if applied is None or not applied.changed:
            return applied
        record = applied.record
        if self.metrics is not None and record.delivery is not None and record.delivery.is_final:
            self.metrics.deliveries.labels(str(record.delivery)).inc()
            if record.delivery is Delivery.DELIVERED and record.delivered_at is not None:
                seconds = (record.delivered_at - record.time).total_seconds()
                self.metrics.delivery_latency.observe(max(seconds, 0.0))
        for watcher in self._watchers:
            try:
                await watcher(applied)
            except Exception:
                # The report is stored: a watcher that fails (Slack down) must not make the
                # route answer 5xx, which would only bring the same report back unchanged.
                log.exception("telling a watcher of SMS %s's delivery failed", sms_id)
        return applied
