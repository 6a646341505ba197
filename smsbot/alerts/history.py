"""What the alert intake and the storm summaries read of the alert SMS recorded so far.

Writes go through `SmsService` (the pipeline); these are reads of the store, across replicas:
the record behind an idempotency key (a dedup claim's SMS, a storm summary), how many alert SMS
used up or were held back by the storm cap, and the storms still owing a summary.
"""

from __future__ import annotations

from datetime import datetime

from smsbot.policy.limits import ALERT_SURFACES, STORM_RULE
from smsbot.sms.request import Outcome
from smsbot.store import COUNTED_OUTCOMES, AuditRecord, HeldStorm, Store


class AlertHistory:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def find(self, idempotency_key: str) -> AuditRecord | None:
        """The request recorded under `idempotency_key`, if any."""
        return await self._store.by_key(idempotency_key)

    async def count_alert_sends(
        self, to: str, since: datetime, *, held_by_storm: bool = False
    ) -> int:
        """Alert SMS to `to` (E.164) since `since` that used up a slot of the storm cap, or with
        `held_by_storm` those the storm cap refused."""
        if held_by_storm:
            outcomes: tuple[Outcome, ...] = (Outcome.REFUSED,)
            rule: str | None = STORM_RULE
        else:
            outcomes, rule = COUNTED_OUTCOMES, None
        return await self._store.count_recent(
            since=since, to=to, surfaces=ALERT_SURFACES, outcomes=outcomes, rule=rule
        )

    async def storm_held_statuses(self, to: str, since: datetime) -> dict[str, int]:
        """Alert SMS to `to` the storm cap refused since `since`, per notification status
        (`firing`, `resolved`); rows from before statuses were recorded count as firing."""
        counts = await self._store.held_by_status(
            to=to, since=since, rule=STORM_RULE, surfaces=ALERT_SURFACES
        )
        statuses = {"firing": 0, "resolved": 0}
        for status, n in counts.items():
            statuses["resolved" if status == "resolved" else "firing"] += n
        return statuses

    async def storms_held_since(self, since: datetime) -> list[HeldStorm]:
        """Alert SMS the storm cap held back since `since`, per number, route and source."""
        return await self._store.held_back(since=since, rule=STORM_RULE, surfaces=ALERT_SURFACES)
