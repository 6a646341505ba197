"""The store: audit log, durable outbox and idempotency keys in one table, on SQLite or PostgreSQL.

Every write is one short transaction (a single statement runs in autocommit on PostgreSQL);
admits, finishes and claims arriving together share one transaction (group commit,
`smsbot.store.group`), each caller still getting its own result after the commit.
Correctness across replicas rests on the database, not on in-process locks:

- the idempotency key is a UNIQUE column, and rows are inserted with `ON CONFLICT DO NOTHING`,
  so of two requests with the same key exactly one row is ever written;
- rate caps are counted and the row inserted in the same transaction, under a PostgreSQL
  advisory lock per actor / recipient (on SQLite, under the database write lock), so two replicas
  cannot both admit the 21st send of the hour;
- the outbox is claimed with `WITH due AS MATERIALIZED (SELECT ... FOR UPDATE SKIP LOCKED)
  UPDATE ... SET outcome = 'sending' FROM due WHERE outcome = 'queued'`, so each queued row is
  sent by one worker; a request its caller sends at once is stored as `sending` straight away.

SQLite runs in WAL mode with a busy timeout; each write transaction starts with `BEGIN IMMEDIATE`
(taking the write lock up front, so two writers never deadlock upgrading a read lock). All of
this process's SQLite writes run in one writer thread (`smsbot.store.sqlite_writer`), a group
commit's whole transaction in one call there; reads use the async engine.

Writes are step generators (`smsbot.store.steps`): the same logic runs on the writer thread's
blocking connection (SQLite) and on the event loop's async connection (PostgreSQL).

For other parts of smsbot:

- `claim(key, ttl_seconds) -> bool`: true for the first caller to claim `key` until
  `ttl_seconds` have passed, atomically across replicas (one upsert). Alert intake uses it to
  send an alert once although Alertmanager HA pairs deliver it twice.
- `count_recent(*, since, to=None, actor=None, surfaces=None, outcomes=None, rule=None) -> int`:
  how many records since `since` match all the filters given (`to` is an E.164 recipient).
"""

from __future__ import annotations

import asyncio
import json
import secrets
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, overload

from sqlalchemy import (
    delete,
    event,
    func,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from smsbot.errors import ConfigurationError
from smsbot.sms.request import Outcome, Surface
from smsbot.store import migrations
from smsbot.store.group import GroupCommit, Write, WriteUnavailable
from smsbot.store.postgres_raw import AsyncExecute, PostgresStatements
from smsbot.store.records import (
    Admission,
    AuditRecord,
    Cap,
    Delivery,
    DeliveryApplied,
    DeliveryReport,
    HeldStorm,
    NewRecord,
    OutboxState,
    rank,
)
from smsbot.store.schema import claims, deliveries, sends
from smsbot.store.sqlite_raw import SqliteStatements
from smsbot.store.sqlite_writer import SqliteWriter
from smsbot.store.statements import CapShape, Statements
from smsbot.store.steps import Done, Execute, Steps, execute_async, one, run_async, run_sync
from smsbot.store.urls import engine_target, require_sqlite_folder

SQLITE_BUSY_TIMEOUT_MS = 10_000
# The kinds of write `run_together` merges into one statement on PostgreSQL.
FINISH = "finish"
ADMIT = "admit"
_COLUMNS = [column.name for column in sends.c]
_READ_ONLY = "smsbot_read_only"


def utcnow() -> datetime:
    return datetime.now(UTC)


# What the store stamps rows with and measures windows against: a callable returning an aware
# UTC datetime. Tests hand in one they move by hand (`smsbot.store.ManualClock`).
Clock = Callable[[], datetime]


class ManualClock:
    """A clock that stands still until moved: `clock.advance(timedelta(minutes=5))`."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or utcnow()
        if self.now.tzinfo is None:
            raise ValueError("a clock tells aware UTC time (use datetime.now(UTC))")

    def __call__(self) -> datetime:
        return self.now

    def advance(self, by: timedelta) -> datetime:
        self.now += by
        return self.now


class Store:
    """Open with `await Store.open(database_url)` (creates or upgrades the schema); `close()`."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        store_text: bool = False,
        sqlite_writer: SqliteWriter | None = None,
        clock: Clock = utcnow,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.is_sqlite = engine.dialect.name == "sqlite"
        if self.is_sqlite and sqlite_writer is None:
            sqlite_writer = SqliteWriter(engine.url, _configure_sqlite)
        self._sqlite = sqlite_writer
        # Text is needed while a request waits in the outbox; afterwards it is personal data
        # kept only when the operator asked for it (SMSBOT_AUDIT__STORE_TEXT=true).
        self.store_text = store_text
        self._reader = engine.execution_options(**{_READ_ONLY: True})
        # One-statement writes need no BEGIN / COMMIT round trips on PostgreSQL: a statement
        # is atomic on its own.
        self._autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._insert = sqlite.insert if self.is_sqlite else postgresql.insert
        self._sql = Statements(is_sqlite=self.is_sqlite, store_text=store_text)
        self._sqlite_statements = (
            SqliteStatements(self._sqlite.engine.dialect, self._sql.hot) if self._sqlite else None
        )
        self._postgres_statements = (
            None if self._sqlite else PostgresStatements(engine.dialect, self._sql.hot)
        )
        # SQLite lets one writer in at a time; on PostgreSQL a few groups overlap, so the
        # server works on one while this process prepares the next.
        self._writes = GroupCommit(self, parallel=1 if self.is_sqlite else 4)

    @classmethod
    async def open(
        cls,
        database_url: str,
        *,
        store_text: bool = False,
        pool_size: int = 10,
        clock: Clock = utcnow,
    ) -> Store:
        target = engine_target(database_url)
        if target.is_sqlite:
            require_sqlite_folder(target)
            engine = create_async_engine(target.url, connect_args=target.connect_args)
            _configure_sqlite(engine.sync_engine)
        else:
            engine = create_async_engine(
                target.url,
                connect_args=target.connect_args,
                pool_size=pool_size,
                max_overflow=2 * pool_size,
                # No ping before each checkout (a round trip per statement): a connection
                # PostgreSQL dropped fails one statement, and SQLAlchemy then replaces the pool.
            )
        store = cls(engine, store_text=store_text, clock=clock)
        try:
            await migrations.upgrade(engine)
        except (OSError, DBAPIError) as exc:
            await store.close()
            shown = target.url.render_as_string(hide_password=True)
            raise ConfigurationError(
                f"cannot open the database {shown} (SMSBOT_DATABASE_URL): "
                f"{getattr(exc, 'orig', None) or exc}. Check the URL, that the server is "
                "running and reachable, and that smsbot may write there."
            ) from exc
        except BaseException:
            await store.close()
            raise
        return store

    async def close(self) -> None:
        if self._sqlite is not None:
            await asyncio.to_thread(self._sqlite.close)
        await self.engine.dispose()

    async def ping(self) -> bool:
        """True when the database answers (for `/readyz`)."""
        try:
            async with self._reader.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception:
            return False
        return True

    # -- writing -------------------------------------------------------------------------------

    @overload
    async def admit(self, new: NewRecord, caps: Sequence[Cap] = ()) -> Admission: ...

    @overload
    async def admit(
        self, new: NewRecord, caps: Sequence[Cap] = (), *, claim: tuple[str, float] | None
    ) -> Admission | None: ...

    async def admit(
        self,
        new: NewRecord,
        caps: Sequence[Cap] = (),
        *,
        claim: tuple[str, float] | None = None,
    ) -> Admission | None:
        """Store `new` unless its idempotency key is already stored (then return that record,
        `duplicate=True`). A `queued` or `sending` request that would exceed one of `caps` is
        stored as `refused` instead, with the cap's message and when the next send is possible.
        With `claim=(key, ttl_seconds)`, `claim(key, ttl_seconds)` is taken in the same
        transaction first, and when another caller holds it nothing is stored and None is
        returned. Admits arriving together are committed together (`smsbot.store.group`)."""
        now = self.clock()
        capped = new.outcome in (Outcome.QUEUED, Outcome.SENDING) and bool(caps)
        base = self._values(new, now)
        subjects = _subjects(caps) if capped and not self.is_sqlite else ()
        claim_params = self._claim_params(*claim, now) if claim is not None else None

        def op() -> Steps[Admission | None]:
            if claim_params is not None and not (yield self._sql.claim, claim_params).rows:
                return None
            # A copy: should the group's transaction fail, the write runs again from scratch.
            return (yield from self._admit_steps(new, dict(base), caps if capped else (), now))

        mergeable = capped and claim is None and not any(cap.maximum <= 0 for cap in caps)
        result: Admission | None = await self._writes.run(
            op,
            subjects,
            kind=ADMIT if mergeable and not self.is_sqlite else "",
            params={"values": base, "caps": caps, "subjects": set(subjects)},
            # The claim and the row commit together: a claim never stands without its SMS.
            several_statements=claim is not None,
        )
        return result

    def _admit_steps(
        self,
        new: NewRecord,
        values: dict[str, Any],
        caps: Sequence[Cap],
        now: datetime,
    ) -> Steps[Admission]:
        """`admit` inside a transaction that holds the locks of `caps`' subjects already."""
        # The common case in one statement: insert unless the key exists or a cap is
        # reached (PostgreSQL holds the subjects' locks meanwhile, so keep this short).
        shut = any(cap.maximum <= 0 for cap in caps)  # a cap of 0: no sends
        row = None if shut else (yield from self._insert_row(values, caps))
        if row is not None:
            return Admission(AuditRecord.from_row(row), duplicate=False)
        # Not inserted: the key is known, or a cap is reached. A reached cap is looked for
        # first, as it is the common case (every alert held back in a storm): its refused row
        # is then inserted straight away, and a known key still wins, by that insert's
        # conflict.
        reached_cap = False
        for cap in caps:
            reached, retry_at = yield from self._cap_reached(cap, now)
            if reached:
                values.update(
                    outcome=Outcome.REFUSED,
                    rule=cap.rule,
                    error=cap.describe(retry_at),
                    retry_at=retry_at,
                    text=new.text if self.store_text else None,
                    attempts=0,
                )
                reached_cap = True
                break
        if not reached_cap:
            earlier = yield from self._by_key_steps(new.idempotency_key)
            if earlier is not None:
                return Admission(earlier, duplicate=True)
        row = yield from self._insert_row(values, ())
        if row is None:  # the key is known (committed meanwhile, from another subject)
            earlier = yield from self._by_key_steps(new.idempotency_key)
            assert earlier is not None
            return Admission(earlier, duplicate=True)
        return Admission(AuditRecord.from_row(row), duplicate=False)

    async def claim_queued(self, limit: int) -> list[AuditRecord]:
        """Claim up to `limit` due queued rows, oldest first, marking them `sending`. Rows
        another replica is claiming at the same moment are skipped, not waited for."""
        now = self.clock()
        due = (
            select(sends.c.id)
            .where(
                sends.c.outcome == Outcome.QUEUED,
                or_(sends.c.not_before.is_(None), sends.c.not_before <= now),
            )
            .order_by(sends.c.created_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
            # A CTE, materialized: as `WHERE id IN (subquery)` PostgreSQL may run the subquery
            # more than once and so claim more than `limit` rows.
            .cte("due")
            .prefix_with("MATERIALIZED")
        )
        stmt = (
            update(sends)
            .where(sends.c.id == due.c.id, sends.c.outcome == Outcome.QUEUED)
            .values(outcome=Outcome.SENDING, attempts=sends.c.attempts + 1, updated_at=now)
            .returning(*sends.c)
        )
        rows = await self._one(stmt)
        return sorted((AuditRecord.from_row(r) for r in rows), key=lambda r: r.time)

    async def finish(
        self,
        request_id: str,
        outcome: Outcome,
        *,
        document_id: str | None = None,
        error: str | None = None,
        rule: str | None = None,
        retry_at: datetime | None = None,
        extra_attempts: int = 0,
    ) -> AuditRecord:
        """Record the final outcome of a row that was being sent. A row that was already
        declared `unknown` (its send took longer than anyone waits) still gets the real outcome:
        it is better information."""
        assert outcome.is_final
        params = {
            "rid": request_id,
            "outcome": str(outcome),
            "document_id": document_id,
            "error": error,
            "rule": rule,
            "retry_at": retry_at,
            "now": self.clock(),
            "extra_attempts": extra_attempts,
        }
        stmt = self._sql.finish

        def op() -> Steps[Sequence[Any]]:
            return (yield stmt, params).rows

        rows: Sequence[Any] = await self._writes.run(op, kind=FINISH, params=params)
        if not rows:
            found = await self.get(request_id)
            state = found.outcome if found else "not stored"
            raise LookupError(f"request {request_id} is not being sent (it is {state})")
        return AuditRecord.from_row(rows[0])

    async def requeue(self, request_id: str, *, not_before: datetime, error: str) -> None:
        """Put a row that certainly was not sent back in the outbox until `not_before`."""
        stmt = (
            update(sends)
            .where(sends.c.id == request_id, sends.c.outcome == Outcome.SENDING)
            .values(
                outcome=Outcome.QUEUED, not_before=not_before, error=error, updated_at=self.clock()
            )
            .returning(sends.c.id)
        )
        await self._one(stmt)

    async def expire_stale_sending(self, older_than: datetime, error: str) -> list[AuditRecord]:
        """Rows left `sending` since before `older_than` belong to a process that died while
        sending: KPN may have accepted them, so they become `unknown`, never resent."""
        values: dict[str, Any] = {
            "outcome": Outcome.UNKNOWN,
            "error": error,
            "updated_at": self.clock(),
        }
        if not self.store_text:
            values["text"] = None
        stmt = (
            update(sends)
            .where(sends.c.outcome == Outcome.SENDING, sends.c.updated_at < older_than)
            .values(**values)
            .returning(*sends.c)
        )
        return [AuditRecord.from_row(r) for r in await self._one(stmt)]

    async def purge(self, before: datetime) -> int:
        """Delete finished records older than `before` (retention) and expired claims. Rows
        still queued or sending are kept: they are work, not history."""
        now = self.clock()

        old = (
            sends.c.created_at < before,
            sends.c.outcome.not_in((Outcome.QUEUED, Outcome.SENDING)),
        )

        def op() -> Steps[int]:
            gone = select(sends.c.id).where(*old)
            yield delete(deliveries).where(deliveries.c.send_id.in_(gone)), None
            done = yield delete(sends).where(*old), None
            yield delete(claims).where(claims.c.expires_at <= now), None
            return done.rowcount or 0

        deleted: int = await self._transaction(op)
        return deleted

    async def apply_delivery(
        self, request_id: str, report: DeliveryReport
    ) -> DeliveryApplied | None:
        """Record one KPN delivery report about SMS `request_id`, as a fact; None when no
        such SMS is stored (purged, or never ours).

        - Applied once: a report that arrives twice changes nothing the second time.
        - Never downgrading: each part only moves forward, accepted -> queued -> a final state
          (delivered, failed, rejected, expired), and a final state never changes again, so
          a late `queued` after `delivered` changes nothing.
        - Per part: `report.part` names one part of a long SMS (None: every part). The SMS is
          `delivered` once every one of its parts is, and takes the failure (with its code) as
          soon as any part failed, was rejected or expired; until then it shows the furthest
          state short of final (`accepted` while some parts are delivered and others unheard).
        - A report is proof the SMS went out: an SMS whose send ended `unknown` becomes `sent`.
        `delivered_at` is when the SMS reached its `delivery` state (for `delivered`, when its
        last part was delivered): the report's own time, or the store clock's when it has none.
        The result says whether anything changed, so the caller notifies only on news."""
        now = self.clock()

        def op() -> Steps[DeliveryApplied | None]:
            found = _first((yield self._sql.by_id_for_update, {"rid": request_id}))
            if found is None:
                return None
            record = AuditRecord.from_row(found)
            done = yield self._sql.parts_of, {"rid": request_id}
            parts = {row["part"]: row for row in done.rows}
            counted = max(record.parts or 1, 1)
            targets = [report.part] if report.part is not None else range(1, counted + 1)
            at = report.at or now
            for part in targets:
                held = parts.get(part)
                if held is not None and rank(Delivery(held["status"])) >= report.status.rank:
                    continue  # a duplicate, or older news
                row = {
                    "send_id": request_id,
                    "part": part,
                    "status": str(report.status),
                    "code": report.code,
                    "reported_at": at,
                }
                yield self._sql.upsert_part, row
                parts[part] = row
            changes = _delivery_changes(record, parts, counted)
            if record.outcome == Outcome.UNKNOWN:
                changes |= {"outcome": str(Outcome.SENT), "error": None}
            if not changes:
                return DeliveryApplied(record, changed=False)
            done = yield (
                update(sends)
                .where(sends.c.id == request_id)
                .values(**changes, updated_at=now)
                .returning(*sends.c),
                None,
            )
            return DeliveryApplied(AuditRecord.from_row(done.rows[0]), changed=True)

        applied: DeliveryApplied | None = await self._transaction(op)
        return applied

    async def claim(self, key: str, ttl_seconds: float) -> bool:
        """True for the first claimer of `key` within `ttl_seconds`; atomic across replicas."""
        params = self._claim_params(key, ttl_seconds, self.clock())

        def op() -> Steps[bool]:
            return bool((yield self._sql.claim, params).rows)

        claimed: bool = await self._writes.run(op)
        return claimed

    @staticmethod
    def _claim_params(key: str, ttl_seconds: float, now: datetime) -> dict[str, Any]:
        return {"key": key, "expires_at": now + timedelta(seconds=ttl_seconds), "now": now}

    # -- reading -------------------------------------------------------------------------------

    async def get(self, request_id: str) -> AuditRecord | None:
        async with self._reader.connect() as conn:
            return await self._get(conn, request_id)

    async def by_key(self, idempotency_key: str) -> AuditRecord | None:
        async with self._reader.connect() as conn:
            return await self._by_key(conn, idempotency_key)

    async def recent(self, limit: int = 20, *, actor: str | None = None) -> list[AuditRecord]:
        """The newest records first, optionally of one actor."""
        query = select(sends).order_by(sends.c.created_at.desc(), sends.c.id).limit(limit)
        if actor is not None:
            query = query.where(sends.c.actor == actor)
        async with self._reader.connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [AuditRecord.from_row(r) for r in rows]

    async def count_recent(
        self,
        *,
        since: datetime,
        to: str | None = None,
        actor: str | None = None,
        surfaces: Iterable[Surface | str] | None = None,
        outcomes: Iterable[Outcome | str] | None = None,
        rule: str | None = None,
    ) -> int:
        query = select(func.count()).select_from(sends).where(sends.c.created_at >= since)
        if to is not None:
            query = query.where(sends.c.recipient == to)
        if actor is not None:
            query = query.where(sends.c.actor == actor)
        if surfaces is not None:
            query = query.where(sends.c.surface.in_([str(s) for s in surfaces]))
        if outcomes is not None:
            query = query.where(sends.c.outcome.in_([str(o) for o in outcomes]))
        if rule is not None:
            query = query.where(sends.c.rule == rule)
        async with self._reader.connect() as conn:
            return int((await conn.execute(query)).scalar_one())

    async def held_back(
        self, *, since: datetime, rule: str, surfaces: Iterable[Surface | str]
    ) -> list[HeldStorm]:
        """Requests refused by `rule` since `since` from `surfaces`, one entry per recipient,
        actor and surface: when the first was held, and the newest refusal's `retry_at`."""
        query = (
            select(
                sends.c.recipient,
                sends.c.actor,
                sends.c.surface,
                func.min(sends.c.created_at).label("first_held"),
                func.max(sends.c.retry_at).label("retry_at"),
            )
            .where(
                sends.c.created_at >= since,
                sends.c.outcome == Outcome.REFUSED,
                sends.c.rule == rule,
                sends.c.surface.in_([str(s) for s in surfaces]),
                sends.c.recipient.is_not(None),
            )
            .group_by(sends.c.recipient, sends.c.actor, sends.c.surface)
            .order_by(func.min(sends.c.created_at))
        )
        async with self._reader.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [
            HeldStorm(
                recipient=row.recipient,
                actor=row.actor,
                surface=Surface(row.surface),
                first_held=_aware(row.first_held),
                retry_at=_aware(row.retry_at) if row.retry_at is not None else None,
            )
            for row in rows
        ]

    async def outbox_state(self) -> OutboxState:
        """How many rows are queued and sending, and when the oldest queued one was recorded."""
        query = (
            select(sends.c.outcome, func.count(), func.min(sends.c.created_at))
            .where(sends.c.outcome.in_([str(Outcome.QUEUED), str(Outcome.SENDING)]))
            .group_by(sends.c.outcome)
        )
        async with self._reader.connect() as conn:
            rows = {row[0]: row for row in (await conn.execute(query)).all()}
        queued = rows.get(str(Outcome.QUEUED))
        sending = rows.get(str(Outcome.SENDING))
        return OutboxState(
            queued=int(queued[1]) if queued else 0,
            sending=int(sending[1]) if sending else 0,
            oldest_queued=_aware(queued[2]) if queued else None,
        )

    # -- internals -----------------------------------------------------------------------------

    def _execute_sync(self, conn: Connection) -> Execute:
        """In SQLite's writer thread: the send path's statements on the driver itself."""
        raw = self._sqlite_statements
        assert raw is not None
        return lambda statement, params: raw.execute(conn, statement, params)

    async def _one(self, stmt: Any, params: dict[str, Any] | None = None) -> Sequence[Any]:
        """Run one writing statement (atomic on its own) and return its RETURNING rows. On
        SQLite it joins the group commit: the outbox's claims then share the writer's
        transactions with the admits and finishes in flight instead of taking one each."""
        if self._sqlite is not None:
            done: Done = await self._writes.run(lambda: one(stmt, params))
            return done.rows
        async with self._autocommit.connect() as conn:
            return list((await conn.execute(stmt, params)).mappings().all())

    async def _transaction(self, op: Any) -> Any:
        """Run the steps `op()` makes in a transaction of their own."""
        if self._sqlite is not None:
            return await self._sqlite.run(lambda conn: run_sync(op(), self._execute_sync(conn)))
        async with self.engine.begin() as conn:
            return await run_async(op(), execute_async(conn))

    def _values(self, new: NewRecord, now: datetime) -> dict[str, Any]:
        keep_text = new.outcome in (Outcome.QUEUED, Outcome.SENDING) or self.store_text
        return {
            "id": secrets.token_hex(16),  # 128 random bits; uuid4() costs more
            "created_at": now,
            "updated_at": now,
            "actor": new.actor,
            "surface": str(new.surface),
            "channel": new.channel,
            "recipient": new.recipient,
            "text_length": new.text_length,
            "parts": new.parts,
            "encoding": new.encoding,
            "sender": new.sender,
            "outcome": str(new.outcome),
            "rule": new.rule,
            "document_id": None,
            "error": new.error,
            "idempotency_key": new.idempotency_key,
            "attempts": 1 if new.outcome == Outcome.SENDING else 0,
            "reply": dict(new.reply),
            "text": new.text if keep_text else None,
            "retry_at": new.retry_at,
            "not_before": None,
            "delivery": None,
            "delivered_at": None,
            "delivery_code": None,
        }

    def _insert_row(self, values: dict[str, Any], caps: Sequence[Cap]) -> Steps[Any]:
        """Insert `values` unless the idempotency key exists or one of `caps` is reached;
        the new row, or None."""
        if not caps:
            return _first((yield self._sql.insert, values))
        params = dict(values)
        for n, cap in enumerate(caps):
            params[f"cap{n}_value"] = cap.value
            params[f"cap{n}_since"] = values["created_at"] - cap.window
            params[f"cap{n}_offset"] = max(cap.maximum, 1) - 1
        stmt = self._sql.capped_insert(tuple((cap.column, cap.surfaces) for cap in caps))
        return _first((yield stmt, params))

    async def run_together(self, writes: Sequence[Write]) -> list[Any]:
        """Run the writes of one group in one transaction (see `smsbot.store.group`)."""
        if self._sqlite is not None:
            # SQLite has one lock for the whole database: no subjects to lock, one hop.
            try:
                return await self._sqlite.run(
                    lambda conn: [run_sync(w.op(), self._execute_sync(conn)) for w in writes]
                )
            except (sqlite3.OperationalError, OperationalError) as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise
                raise WriteUnavailable(
                    "the SQLite database stayed locked by another process for "
                    f"{SQLITE_BUSY_TIMEOUT_MS / 1000:g} s; nothing was written"
                ) from exc
        assert self._postgres_statements is not None
        subjects = sorted({subject for write in writes for subject in write.subjects})
        finishes = [w for w in writes if w.kind == FINISH]
        if len(finishes) < 2 or len({w.params["rid"] for w in finishes}) < len(finishes):  # type: ignore[index]
            finishes = []
        async with self._postgres_statements.connection(self.engine) as driver:
            execute = self._postgres_statements.executor(driver)
            if len(writes) == 1 and not subjects and not writes[0].several_statements:
                # A lone write of one statement needs no BEGIN / COMMIT round trips: the
                # statement is atomic on its own (others only read), and none relies on a lock.
                return [await run_async(writes[0].op(), execute)]
            async with driver.transaction():
                if subjects:
                    # Sorted, so two transactions locking the same actor and recipient never
                    # deadlock; one statement, so the locks cost one round trip. (SQLite needs
                    # none: BEGIN IMMEDIATE already holds the only write lock there is.)
                    await execute(self._sql.lock_subjects, {"subjects": subjects})
                results: dict[int, Any] = await self._admit_many(execute, writes)
                for n, write in enumerate(writes):
                    if n not in results and (not finishes or write.kind != FINISH):
                        results[n] = await run_async(write.op(), execute)
                if finishes:
                    finished = await self._finish_many(execute, [w.params for w in finishes])  # type: ignore[misc]
                    for n, write in enumerate(writes):
                        if write.kind == FINISH:
                            results[n] = finished.get(write.params["rid"], [])  # type: ignore[index]
                return [results[n] for n in range(len(writes))]

    async def _admit_many(self, execute: AsyncExecute, writes: Sequence[Write]) -> dict[int, Any]:
        """PostgreSQL: capped admits of one group with the same kind of caps as one INSERT
        (a row per admit), when no two of them share an actor, recipient or idempotency key, so
        no row's cap count depends on another row of the same statement. Admits left out, or
        not inserted (a cap reached, a known key), run on their own afterwards in the same
        transaction. The results by position in `writes`."""
        chosen: dict[tuple[CapShape, ...], list[tuple[int, dict[str, Any]]]] = {}
        taken: set[str] = set()
        for n, write in enumerate(writes):
            if write.kind != ADMIT or write.params is None:
                continue
            params = write.params
            marks = params["subjects"] | {"key:" + params["values"]["idempotency_key"]}
            if marks & taken:
                continue
            taken |= marks
            shape = tuple((cap.column, cap.surfaces) for cap in params["caps"])
            chosen.setdefault(shape, []).append((n, params))
        results: dict[int, Any] = {}
        for shape, members in chosen.items():
            if len(members) < 2:
                continue
            arrays: dict[str, list[Any]] = {name: [] for name in _COLUMNS}
            for i in range(len(shape)):
                for part in ("value", "since", "offset"):
                    arrays[f"cap{i}_{part}"] = []
            for _n, params in members:
                values = params["values"]
                for name in _COLUMNS:
                    value = values[name]
                    arrays[name].append(json.dumps(value) if name == "reply" else value)
                for i, cap in enumerate(params["caps"]):
                    arrays[f"cap{i}_value"].append(cap.value)
                    arrays[f"cap{i}_since"].append(values["created_at"] - cap.window)
                    arrays[f"cap{i}_offset"].append(max(cap.maximum, 1) - 1)
            done = await execute(self._sql.capped_insert_many(shape), arrays)
            inserted = {row["idempotency_key"]: row for row in done.rows}
            for n, params in members:
                row = inserted.get(params["values"]["idempotency_key"])
                if row is not None:
                    results[n] = Admission(AuditRecord.from_row(row), duplicate=False)
        return results

    async def _finish_many(
        self, execute: AsyncExecute, many: list[dict[str, Any]]
    ) -> dict[str, list[Any]]:
        """Several `finish` updates (distinct rows) as one statement on PostgreSQL; the
        RETURNING row of each request id that was being sent."""
        columns = {
            key: [params[key] for params in many]
            for key in ("outcome", "document_id", "error", "rule", "retry_at", "now")
        }
        done = await execute(
            self._sql.finish_many,
            {
                "rids": [params["rid"] for params in many],
                "extras": [params["extra_attempts"] for params in many],
                **{f"{key}s": values for key, values in columns.items()},
            },
        )
        return {row["id"]: [row] for row in done.rows}

    def _cap_reached(self, cap: Cap, now: datetime) -> Steps[tuple[bool, datetime | None]]:
        """Whether `cap` is reached and, if so, when it frees up: when the `maximum`-th newest
        counted send of its subject leaves the window."""
        if cap.maximum <= 0:
            return True, None
        params = {
            "cap0_value": cap.value,
            "cap0_since": now - cap.window,
            "cap0_offset": cap.maximum - 1,
        }
        query = self._sql.counted_for((cap.column, cap.surfaces))
        row = _first((yield query, params))
        oldest_counted = row["created_at"] if row is not None else None
        if oldest_counted is None:
            return False, None
        return True, oldest_counted + cap.window

    async def _get(self, conn: AsyncConnection, request_id: str) -> AuditRecord | None:
        found = (await conn.execute(self._sql.by_id, {"rid": request_id})).mappings().first()
        return AuditRecord.from_row(found) if found else None

    async def _by_key(self, conn: AsyncConnection, key: str) -> AuditRecord | None:
        found = (await conn.execute(self._sql.by_key, {"key": key})).mappings().first()
        return AuditRecord.from_row(found) if found else None

    def _by_key_steps(self, key: str) -> Steps[AuditRecord | None]:
        found = _first((yield self._sql.by_key, {"key": key}))
        return AuditRecord.from_row(found) if found else None


def _aware(value: datetime | str) -> datetime:
    """An aggregate (min, max) of a time column, which SQLite returns as text without zone."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _delivery_changes(record: AuditRecord, parts: dict[int, Any], counted: int) -> dict[str, Any]:
    """The SMS's delivery columns as its parts now say, or nothing when that is no advance."""
    states = {part: Delivery(row["status"]) for part, row in parts.items()}
    failed = sorted(
        (row["reported_at"], part) for part, row in parts.items() if states[part].is_failure
    )
    if failed:
        at, part = failed[0]
        state, code = states[part], parts[part]["code"]
    elif all(states.get(part) is Delivery.DELIVERED for part in range(1, counted + 1)):
        state, code = Delivery.DELIVERED, None
        at = max(parts[part]["reported_at"] for part in range(1, counted + 1))
    else:
        pending = [s for s in states.values() if not s.is_final]
        state = max(pending, key=rank) if pending else Delivery.ACCEPTED
        code, at = None, max(row["reported_at"] for row in parts.values())
    if record.delivery is not None and (
        record.delivery.is_final or rank(state) <= rank(record.delivery)
    ):
        return {}
    return {"delivery": str(state), "delivered_at": at, "delivery_code": code}


def _first(done: Done) -> Any:
    return done.rows[0] if done.rows else None


def _subjects(caps: Sequence[Cap]) -> tuple[str, ...]:
    """The PostgreSQL advisory locks a capped admit holds: one per actor / recipient counted."""
    return tuple(sorted({f"smsbot:{cap.column}:{cap.value}" for cap in caps}))


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below emit BEGIN, instead of the driver's own
        # deferred BEGIN, so write transactions can take the write lock up front.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")  # durable across process crashes in WAL
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        read_only = conn.get_execution_options().get(_READ_ONLY, False)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")
