"""The store's writes, one typed value each, and what each does inside a transaction.

A write is built by `Store` (values, the clock's time) and run by a backend inside a
transaction it shares with the other writes of a group (`smsbot.store.group`). `run(tx)` is the
write's whole logic, written once for both engines against `Transaction`: SQLite's backend runs it
in its writer thread, PostgreSQL's on the event loop. A backend may run several writes of one type
as one batched statement instead (PostgreSQL: admits under caps, finishes), from the fields below.

`subjects` are the PostgreSQL advisory locks the write needs held (caps per actor and recipient);
`several_statements` says its statements must commit together even when it runs alone;
`erases_text` says it removes message text (SQLite then soon checkpoints its WAL).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any, Protocol

from smsbot.sms.request import Outcome
from smsbot.store.records import Admission, AuditRecord, Cap, NewRecord
from smsbot.store.schema import sends
from smsbot.store.sql import CapShape, Sql


class Transaction(Protocol):
    """What a write sees of the backend: statements run in the group's transaction."""

    sql: Sql

    async def fetch(self, statement: str, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Run `statement`; its rows (RETURNING ones too), as Python values."""
        ...

    async def execute(self, statement: str, params: Mapping[str, Any]) -> int:
        """Run `statement`; how many rows it changed."""
        ...


class Write(Protocol):
    subjects: tuple[str, ...]
    several_statements: bool
    erases_text: bool

    async def run(self, tx: Transaction) -> Any: ...


class Defaults:
    """What most writes are: no locks, one statement, no text erased."""

    subjects: tuple[str, ...] = ()
    several_statements = False
    erases_text = False

    def field_params(self) -> dict[str, Any]:
        """The write's fields by name (a dataclass's), for a statement whose parameters are
        named after them."""
        return {f.name: getattr(self, f.name) for f in fields(self)}  # type: ignore[arg-type]


async def first(tx: Transaction, statement: str, params: Mapping[str, Any]) -> Any:
    """The statement's first row, or None."""
    rows = await tx.fetch(statement, params)
    return rows[0] if rows else None


def new_row(new: NewRecord, now: datetime, *, store_text: bool) -> dict[str, Any]:
    """Every column of `smsbot_sends` for a new request: the record's fields by name, the
    row's own (id, times, attempts), None for the rest (filled in by later writes)."""
    row: dict[str, Any] = dict.fromkeys(sends.c.keys())
    row.update({f.name: getattr(new, f.name) for f in fields(new) if f.name in row})
    keep_text = new.outcome in (Outcome.QUEUED, Outcome.SENDING) or store_text
    row.update(
        id=secrets.token_hex(16),  # 128 random bits; uuid4() costs more
        created_at=now,
        updated_at=now,
        attempts=1 if new.outcome == Outcome.SENDING else 0,
        reply=dict(new.reply),
        text=new.text if keep_text else None,
    )
    if new.resend_after is not None and new.outcome in (Outcome.QUEUED, Outcome.SENDING):
        row["resend_at"] = now + new.resend_after
    return row


@dataclass
class Claim(Defaults):
    """A dedup key, held by the first claimer until `expires_at`, across replicas."""

    key: str
    expires_at: datetime
    now: datetime

    @classmethod
    def for_seconds(cls, key: str, ttl_seconds: float, now: datetime) -> Claim:
        return cls(key, now + timedelta(seconds=ttl_seconds), now)

    async def run(self, tx: Transaction) -> bool:
        params = {"key": self.key, "expires_at": self.expires_at, "now": self.now}
        return bool(await tx.fetch(tx.sql.claim, params))


@dataclass
class Admit(Defaults):
    """Store a new row unless its key is known (then the earlier record, a duplicate); under
    `caps`, a `queued` or `sending` row that would exceed one is stored `refused` instead. With
    a `claim`, nothing is stored (None) unless the claim is won, in the same transaction."""

    row: dict[str, Any]
    text: str | None  # the request's text, kept in a refused row only with store_text
    caps: Sequence[Cap] = ()
    claim: Claim | None = None
    store_text: bool = False

    def __post_init__(self) -> None:
        # The PostgreSQL advisory locks a capped admit holds: one per actor / recipient.
        self.subjects = tuple(sorted({f"smsbot:{cap.column}:{cap.value}" for cap in self.caps}))

    @property
    def several_statements(self) -> bool:
        return self.claim is not None  # the claim never stands without its row

    @property
    def shapes(self) -> tuple[CapShape, ...]:
        return tuple((cap.column, cap.surfaces) for cap in self.caps)

    @property
    def mergeable(self) -> bool:
        """May share one INSERT with other admits (PostgreSQL): capped, no claim, no cap of 0."""
        return bool(self.caps) and self.claim is None and all(c.maximum > 0 for c in self.caps)

    def cap_params(self, n: int, cap: Cap) -> dict[str, Any]:
        return {
            f"cap{n}_value": cap.value,
            f"cap{n}_since": self.row["created_at"] - cap.window,
            f"cap{n}_offset": max(cap.maximum, 1) - 1,
        }

    async def run(self, tx: Transaction) -> Admission | None:
        if self.claim is not None and not await self.claim.run(tx):
            return None
        row = dict(self.row)  # a copy: should the group fail, the write runs again from scratch
        # The common case in one statement: insert unless the key exists or a cap is reached
        # (PostgreSQL holds the subjects' locks meanwhile, so keep this short).
        if any(cap.maximum <= 0 for cap in self.caps):  # a cap of 0: no sends at all
            inserted = None
        elif self.caps:
            params = dict(row)
            for n, cap in enumerate(self.caps):
                params.update(self.cap_params(n, cap))
            inserted = await first(tx, tx.sql.capped_insert(self.shapes), params)
        else:
            inserted = await first(tx, tx.sql.insert, row)
        if inserted is not None:
            return Admission(AuditRecord.from_row(inserted), duplicate=False)
        # Not inserted: the key is known, or a cap is reached. A reached cap is looked for
        # first, as it is the common case (every alert held back in a storm): its refused row
        # is inserted straight away, and a known key still wins, by that insert's conflict.
        for cap in self.caps:
            reached, retry_at = await self._reached(tx, cap)
            if reached:
                row.update(
                    outcome=Outcome.REFUSED,
                    rule=cap.rule,
                    error=cap.describe(retry_at),
                    retry_at=retry_at,
                    text=self.text if self.store_text else None,
                    attempts=0,
                )
                break
        else:
            earlier = await first(tx, tx.sql.by_key, {"key": row["idempotency_key"]})
            if earlier is not None:
                return Admission(AuditRecord.from_row(earlier), duplicate=True)
        inserted = await first(tx, tx.sql.insert, row)
        if inserted is None:  # the key is known (committed meanwhile, from another subject)
            earlier = await first(tx, tx.sql.by_key, {"key": row["idempotency_key"]})
            return Admission(AuditRecord.from_row(earlier), duplicate=True)
        return Admission(AuditRecord.from_row(inserted), duplicate=False)

    async def _reached(self, tx: Transaction, cap: Cap) -> tuple[bool, datetime | None]:
        """Whether `cap` is reached and, if so, when it frees up: when the `maximum`-th newest
        counted send of its subject leaves the window (never, for a cap of 0)."""
        if cap.maximum <= 0:
            return True, None
        counted = tx.sql.counted((cap.column, cap.surfaces))
        found = await first(tx, counted, self.cap_params(0, cap))
        if found is None:
            return False, None
        return True, found["created_at"] + cap.window


@dataclass
class Finish(Defaults):
    """The final outcome of a row being sent (or declared `unknown` meanwhile); the row
    afterwards, or None when it was not being sent."""

    rid: str
    outcome: Outcome
    now: datetime
    document_id: str | None = None
    extra_attempts: int = 0
    error: str | None = None
    rule: str | None = None
    retry_at: datetime | None = None
    erases_text = True

    def params(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    async def run(self, tx: Transaction) -> AuditRecord | None:
        found = await first(tx, tx.sql.finish, self.params())
        return AuditRecord.from_row(found) if found is not None else None


@dataclass
class TakeDue(Defaults):
    """Up to `limit` due queued rows, oldest first, now `sending`; rows another replica is
    taking at the same moment are skipped, not waited for."""

    limit: int
    now: datetime

    async def run(self, tx: Transaction) -> list[AuditRecord]:
        rows = await tx.fetch(tx.sql.take_due, {"limit": self.limit, "now": self.now})
        return sorted((AuditRecord.from_row(r) for r in rows), key=lambda r: r.time)


@dataclass
class Requeue(Defaults):
    rid: str
    not_before: datetime
    error: str
    now: datetime

    async def run(self, tx: Transaction) -> None:
        params = {"rid": self.rid, "not_before": self.not_before, "error": self.error}
        await tx.fetch(tx.sql.requeue, params | {"now": self.now})


@dataclass
class ExpireStale(Defaults):
    older_than: datetime
    error: str
    now: datetime
    erases_text = True

    async def run(self, tx: Transaction) -> list[AuditRecord]:
        params = {"older_than": self.older_than, "error": self.error, "now": self.now}
        return [AuditRecord.from_row(r) for r in await tx.fetch(tx.sql.expire_stale, params)]


@dataclass
class Purge(Defaults):
    before: datetime
    now: datetime
    several_statements = True
    erases_text = True

    async def run(self, tx: Transaction) -> int:
        await tx.execute(tx.sql.purge_parts, {"before": self.before})
        deleted = await tx.execute(tx.sql.purge_sends, {"before": self.before})
        await tx.execute(tx.sql.purge_claims, {"now": self.now})
        await tx.execute(tx.sql.purge_inbound, {"before": self.before})
        for statement in tx.sql.alerts.purge:
            await tx.execute(statement, {"before": self.before})
        return deleted


@dataclass
class TakeLeased(Defaults):
    """Up to `limit` durable timers due at `now`, taken for `lease`: their statement moves each
    on to `now + lease`, so a replica that dies while acting on one leaves it to another once
    the lease ends. Rows in the order their statement gives."""

    now: datetime
    lease: timedelta
    limit: int

    async def taken_rows(self, tx: Transaction, statement: str) -> list[dict[str, Any]]:
        params = {"now": self.now, "lease_until": self.now + self.lease, "limit": self.limit}
        return await tx.fetch(statement, params)


class TakeResends(TakeLeased):
    """See `Store.take_due_resends`."""

    async def run(self, tx: Transaction) -> list[AuditRecord]:
        records = map(AuditRecord.from_row, await self.taken_rows(tx, tx.sql.take_resends))
        return sorted(records, key=lambda r: r.time)


@dataclass
class FinishResend(Defaults):
    rid: str
    erases_text = True

    async def run(self, tx: Transaction) -> None:
        await tx.execute(tx.sql.finish_resend, {"rid": self.rid})
