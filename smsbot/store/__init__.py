"""Audit log, durable outbox and idempotency keys; SQLite by default, PostgreSQL for replicas."""

from smsbot.store.records import COUNTED_OUTCOMES, Admission, AuditRecord, Cap, NewRecord
from smsbot.store.store import Store, utcnow

__all__ = ["COUNTED_OUTCOMES", "Admission", "AuditRecord", "Cap", "NewRecord", "Store", "utcnow"]
