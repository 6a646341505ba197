"""Audit log, durable outbox and idempotency keys; SQLite by default, PostgreSQL for replicas."""

from smsbot.store import records
from smsbot.store.clock import Clock, ManualClock, utcnow
from smsbot.store.records import *  # noqa: F403  (the record types: `records.__all__`)
from smsbot.store.store import Store

__all__ = [*records.__all__, "Clock", "ManualClock", "Store", "utcnow"]
