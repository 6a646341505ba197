"""Delivery reports applied to an SMS as facts (see `Store.apply_delivery`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from smsbot.sms.request import Outcome
from smsbot.store.records import AuditRecord, Delivery, DeliveryApplied, DeliveryReport, rank
from smsbot.store.writes import Defaults, Transaction, first


@dataclass
class ApplyDelivery(Defaults):
    """See `Store.apply_delivery`."""

    rid: str
    report: DeliveryReport
    now: datetime
    several_statements = True

    async def run(self, tx: Transaction) -> DeliveryApplied | None:
        # The SMS's row is locked (PostgreSQL) while its parts are read and written, so two
        # reports about it (two replicas) are applied one after the other.
        found = await first(tx, tx.sql.by_id_locked, {"rid": self.rid})
        if found is None:
            return None
        record = AuditRecord.from_row(found)
        parts = {row["part"]: row for row in await tx.fetch(tx.sql.parts_of, {"rid": self.rid})}
        counted = max(record.parts or 1, 1)
        report = self.report
        for part in [report.part] if report.part is not None else range(1, counted + 1):
            held = parts.get(part)
            if held is not None and rank(Delivery(held["status"])) >= report.status.rank:
                continue  # a duplicate, or older news
            part_row = {
                "send_id": self.rid,
                "part": part,
                "status": report.status,
                "code": report.code,
                "reported_at": report.at or self.now,
            }
            await tx.execute(tx.sql.save_part, part_row)
            parts[part] = part_row
        state = _sms_state(record, parts, counted)
        went_out = record.outcome == Outcome.UNKNOWN  # a report proves it was sent
        if state is None and not went_out:
            return DeliveryApplied(record, changed=False)
        delivery, delivered_at, code = state or (
            record.delivery,
            record.delivered_at,
            record.delivery_code,
        )
        params = {
            "rid": self.rid,
            "delivery": delivery,
            "delivered_at": delivered_at,
            "delivery_code": code,
            "outcome": Outcome.SENT if went_out else record.outcome,
            "error": None if went_out else record.error,
            "now": self.now,
        }
        [updated] = await tx.fetch(tx.sql.set_delivery, params)
        return DeliveryApplied(AuditRecord.from_row(updated), changed=True, went_out=went_out)


def _sms_state(
    record: AuditRecord, parts: Mapping[int, Mapping[str, Any]], counted: int
) -> tuple[Delivery, datetime, str | None] | None:
    """The SMS's delivery state, time and code as its parts now say, or None when that is no
    advance on what the record has: failed (or rejected, expired) as soon as any part is,
    delivered when as many parts as it has are, else the furthest state short of final."""
    states = {part: Delivery(row["status"]) for part, row in parts.items()}
    failed = sorted((row["reported_at"], p) for p, row in parts.items() if states[p].is_failure)
    # Parts are counted, not looked up by number: some networks number a long SMS's parts from 0.
    delivered = [row["reported_at"] for p, row in parts.items() if states[p] is Delivery.DELIVERED]
    if failed:
        at, part = failed[0]
        state, code = states[part], parts[part]["code"]
    elif len(delivered) >= counted:
        state, code, at = Delivery.DELIVERED, None, max(delivered)
    else:
        pending = [s for s in states.values() if not s.is_final]
        state = max(pending, key=rank) if pending else Delivery.ACCEPTED
        code, at = None, max(row["reported_at"] for row in parts.values())
    current = record.delivery
    if current is not None and (current.is_final or rank(state) <= rank(current)):
        return None
    return state, at, code
