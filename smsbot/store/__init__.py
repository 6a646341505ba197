"""Audit log, durable outbox and idempotency keys; SQLite by default, PostgreSQL for replicas."""

from smsbot.store.records import (
    COUNTED_OUTCOMES,
    Admission,
    AuditRecord,
    Cap,
    HeldStorm,
    NewRecord,
)
from smsbot.store.store import Store, utcnow

__all__ = [
    "COUNTED_OUTCOMES",
    "Admission",
    "AuditRecord",
    "Cap",
    "HeldStorm",
    "NewRecord",
    "Store",
    "utcnow",
]
