"""Audit log, durable outbox and idempotency keys; SQLite by default, PostgreSQL for replicas."""

from smsbot.store.clock import Clock, ManualClock, utcnow
from smsbot.store.records import (
    COUNTED_OUTCOMES,
    Admission,
    AuditRecord,
    Cap,
    Delivery,
    DeliveryApplied,
    DeliveryReport,
    HeldStorm,
    InboundAdmission,
    InboundOutcome,
    InboundRecord,
    NewInbound,
    NewRecord,
    OutboxState,
)
from smsbot.store.store import Store

__all__ = [
    "COUNTED_OUTCOMES",
    "Admission",
    "AuditRecord",
    "Cap",
    "Clock",
    "Delivery",
    "DeliveryApplied",
    "DeliveryReport",
    "HeldStorm",
    "InboundAdmission",
    "InboundOutcome",
    "InboundRecord",
    "ManualClock",
    "NewInbound",
    "NewRecord",
    "OutboxState",
    "Store",
    "utcnow",
]
