"""PostgreSQL: asyncpg's own pool, advisory locks per actor and recipient, batched writes.

Statements run with `asyncpg.Connection.fetch`, which prepares each once per connection;
`:name` parameters become `$n` once per statement text. A group of writes runs in one
transaction that first takes the advisory locks of all its writes' `subjects` (sorted, in one
statement, so two groups never deadlock), then runs what it can as one statement: the capped
admits of one shape with distinct subjects and keys (`Sql.capped_insert_many`) and the finishes
(`Sql.finish_many`), each with an array per column. A lone write of one statement runs without
BEGIN and COMMIT: the statement is atomic on its own.

When the server drops a connection (a restart, a failover, a proxy closing idle ones), the
others in the pool are most likely gone too: the pool then replaces them all, so one write
fails rather than one per pooled connection.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

import asyncpg

from smsbot.store import codec, migrations
from smsbot.store.records import Admission, AuditRecord
from smsbot.store.sql import POSTGRES, CapShape, Sql
from smsbot.store.urls import EngineTarget, cannot_open
from smsbot.store.writes import Admit, Finish, Write

# Errors that mean the connection to the server is gone (not that a statement failed).
DISCONNECTS = (
    OSError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.InterfaceError,
)
_PARAMETER = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


@lru_cache(maxsize=512)
def _positional(statement: str) -> tuple[str, tuple[str, ...]]:
    """`:name` parameters as asyncpg's `$n`, and the names in placeholder order."""
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in names:
            names.append(name)
        return f"${names.index(name) + 1}"

    return _PARAMETER.sub(number, statement), tuple(names)


class _Connection(asyncpg.Connection):  # type: ignore[misc]
    def get_reset_query(self) -> str:
        # Nothing of ours outlives a transaction (advisory locks are transaction-scoped, no
        # LISTEN, no SET), so a connection going back to the pool needs no reset round trip;
        # asyncpg still rolls back a transaction left open (a task cancelled half-way).
        return ""


class _Transaction:
    """A pooled connection as writes see it (`smsbot.store.writes.Transaction`)."""

    def __init__(self, conn: asyncpg.Connection, sql: Sql) -> None:
        self.conn = conn
        self.sql = sql

    def _args(self, statement: str, params: Mapping[str, Any]) -> tuple[str, list[Any]]:
        sql, names = _positional(statement)
        try:
            return sql, [codec.POSTGRES.bind(params[name]) for name in names]
        except KeyError as missing:
            raise KeyError(f"a value is required for parameter {missing}") from None

    async def fetch(self, statement: str, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        sql, args = self._args(statement, params)
        records = await self.conn.fetch(sql, *args)
        if not records:
            return []
        read = codec.POSTGRES.reader(list(records[0].keys()))
        return [read(tuple(record.values())) for record in records]

    async def execute(self, statement: str, params: Mapping[str, Any]) -> int:
        sql, args = self._args(statement, params)
        status: str = await self.conn.execute(sql, *args)  # e.g. "DELETE 3"
        return int(status.rsplit(" ", 1)[-1]) if status[-1:].isdigit() else 0


class PostgresBackend:
    # The server works on one group while this process prepares the next: two groups under way
    # at once, not more. Every further one is one more transaction and WAL flush that shares
    # the server's CPU and disk with them, while the writes it took from the queue would have
    # waited a few milliseconds and joined a bigger group: with 4, bench/pipeline.py at KPN-like
    # latency sent 4-5% fewer SMS per second on PostgreSQL than with 2.
    parallel = 2

    def __init__(self, pool: asyncpg.Pool, sql: Sql) -> None:
        self.sql = sql
        self._pool = pool

    @classmethod
    async def open(
        cls, target: EngineTarget, *, store_text: bool, pool_size: int
    ) -> PostgresBackend:
        try:
            pool = await asyncpg.create_pool(
                target.dsn,
                min_size=1,
                max_size=3 * pool_size,
                connection_class=_Connection,
                **target.connect_args,
            )
            backend = cls(pool, Sql(POSTGRES, store_text=store_text))
            try:
                await migrations.upgrade(backend)
            except BaseException:
                await pool.close()
                raise
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise cannot_open(target, exc) from exc
        return backend

    async def close(self) -> None:
        await self._pool.close()

    async def fetch(self, statement: str, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        async with self._connection() as tx:
            return await tx.fetch(statement, params)

    def _connection(self) -> _Checkout:
        return _Checkout(self._pool, self.sql)

    async def run_together(self, writes: Sequence[Write]) -> list[Any]:
        subjects = sorted({subject for write in writes for subject in write.subjects})
        async with self._connection() as tx:
            if len(writes) == 1 and not subjects and not writes[0].several_statements:
                # One statement needs no BEGIN / COMMIT round trips: it is atomic on its own
                # (what follows it, if anything, only reads), and relies on no lock.
                return [await writes[0].run(tx)]
            async with tx.conn.transaction():
                if subjects:
                    await tx.fetch(self.sql.lock_subjects, {"subjects": subjects})
                results = await _admit_many(tx, writes)
                results |= await _finish_many(tx, writes)
                for n, write in enumerate(writes):
                    if n not in results:
                        results[n] = await write.run(tx)
                return [results[n] for n in range(len(writes))]


class _Checkout:
    """A pooled connection for one group or read; when the server dropped it, the pool's
    other connections are expired too."""

    def __init__(self, pool: asyncpg.Pool, sql: Sql) -> None:
        self._pool, self._sql = pool, sql
        self._conn: asyncpg.Connection | None = None

    async def __aenter__(self) -> _Transaction:
        self._conn = await self._pool.acquire()
        return _Transaction(self._conn, self._sql)

    async def __aexit__(self, kind: Any, exc: BaseException | None, _tb: Any) -> None:
        assert self._conn is not None
        if isinstance(exc, DISCONNECTS) or self._conn.is_closed():
            await self._pool.expire_connections()
        await self._pool.release(self._conn)


async def _admit_many(tx: _Transaction, writes: Sequence[Write]) -> dict[int, Any]:
    """Capped admits of one group with the same shape of caps as one INSERT (a row each),
    when no two of them share an actor, recipient or idempotency key, so that no row's cap
    count depends on another row of the same statement. Admits left out, or not inserted (a
    cap reached, a known key), run on their own afterwards in the same transaction. The
    results by position in `writes`."""
    chosen: dict[tuple[CapShape, ...], list[tuple[int, Admit]]] = {}
    taken: set[str] = set()
    for n, write in enumerate(writes):
        if not isinstance(write, Admit) or not write.mergeable:
            continue
        marks = {*write.subjects, "key:" + write.row["idempotency_key"]}
        if marks & taken:
            continue
        taken |= marks
        chosen.setdefault(write.shapes, []).append((n, write))
    results: dict[int, Any] = {}
    for shape, members in chosen.items():
        if len(members) < 2:
            continue
        arrays: dict[str, list[Any]] = {}
        for _n, admit in members:
            params = dict(admit.row)
            for i, cap in enumerate(admit.caps):
                params.update(admit.cap_params(i, cap))
            for name, value in params.items():
                arrays.setdefault(name, []).append(value)
        inserted = {
            row["idempotency_key"]: row
            for row in await tx.fetch(tx.sql.capped_insert_many(shape), arrays)
        }
        for n, admit in members:
            row = inserted.get(admit.row["idempotency_key"])
            if row is not None:
                results[n] = Admission(AuditRecord.from_row(row), duplicate=False)
    return results


async def _finish_many(tx: _Transaction, writes: Sequence[Write]) -> dict[int, Any]:
    """Two or more finishes of distinct rows as one UPDATE; the results by position."""
    finishes = [(n, w) for n, w in enumerate(writes) if isinstance(w, Finish)]
    if len(finishes) < 2 or len({w.rid for _, w in finishes}) < len(finishes):
        return {}
    arrays: dict[str, list[Any]] = {}
    for _, finish in finishes:
        for name, value in finish.params().items():
            arrays.setdefault(f"{name}s", []).append(value)
    rows = await tx.fetch(tx.sql.finish_many, arrays)
    done = {row["id"]: AuditRecord.from_row(row) for row in rows}
    return {n: done.get(finish.rid) for n, finish in finishes}
