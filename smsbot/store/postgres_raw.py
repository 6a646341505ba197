"""The send path's statements on asyncpg itself, compiled once by SQLAlchemy.

On PostgreSQL every SMS runs its admit and finish in group-commit transactions on the event
loop, and SQLAlchemy's per-execution work there (greenlet switches, cache lookups, bind and
result processing, the result object) cost a third of the pipeline's CPU, more than the KPN
client. The statements `Statements` builds once are compiled with the asyncpg dialect on first
use (SQL with `$n` placeholders and their casts) and run with `asyncpg.Connection.fetch`, which
prepares each once per connection. The connection is checked out of SQLAlchemy's pool, so pool
size, `search_path` and the JSON codec SQLAlchemy installs are the same as everywhere else; a
connection that broke is invalidated, so the pool replaces it.
"""

from __future__ import annotations

import enum
import json
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import asyncpg
from sqlalchemy import Dialect, Executable
from sqlalchemy.ext.asyncio import AsyncEngine

from smsbot.store.compiled import CompiledStatements
from smsbot.store.steps import AsyncExecute, Done

JSON_COLUMNS = frozenset({"reply"})
# Errors that mean the connection to the server is gone (not that a statement failed).
DISCONNECTS = (
    OSError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CannotConnectNowError,
)


class PostgresStatements:
    def __init__(self, dialect: Dialect, hot: Mapping[int, Executable]) -> None:
        self._compiled = CompiledStatements(dialect, hot)

    @asynccontextmanager
    async def connection(self, engine: AsyncEngine) -> AsyncIterator[asyncpg.Connection]:
        """A pooled connection's asyncpg connection, for `executor`. Nothing is run on it
        through SQLAlchemy meanwhile, so SQLAlchemy's own transaction never starts, and its
        reset on return would not end ours: a connection left inside a transaction (a task
        cancelled mid-way) is invalidated rather than handed to the next caller.

        When the server dropped the connection, the others in the pool are most likely gone too
        (a restart, a failover, a proxy closing idle connections): the whole pool is replaced,
        as SQLAlchemy does on a disconnect, so one write fails rather than one per connection.
        """
        async with engine.connect() as conn:
            fairy = await conn.get_raw_connection()
            driver: asyncpg.Connection = fairy.driver_connection  # type: ignore[assignment]
            disconnected = False
            try:
                yield driver
            except BaseException as exc:
                disconnected = driver.is_closed() or isinstance(exc, DISCONNECTS)
                raise
            finally:
                if disconnected or driver.is_closed() or driver.is_in_transaction():
                    await conn.invalidate()
                if disconnected:
                    await engine.dispose()

    def executor(self, driver: asyncpg.Connection) -> AsyncExecute:
        async def execute(statement: Executable, params: Mapping[str, Any] | None) -> Done:
            compiled = self._compiled.get(statement)
            if compiled is None:
                raise TypeError(
                    "only statements built once by smsbot.store.statements run on asyncpg directly"
                )
            records = await driver.fetch(compiled.sql, *compiled.args(params, _bind))
            rows = [_row(record) for record in records]
            return Done(rows, len(rows))  # type: ignore[arg-type]

        return execute


# Most values go to the driver as they are; one set look-up spares them the checks below.
_AS_IS = frozenset({str, int, float, bool, type(None)})


def _bind(value: Any) -> Any:
    if type(value) in _AS_IS:
        return value
    if isinstance(value, datetime) and value.tzinfo is None:
        # asyncpg would read it as the process's local time; SQLAlchemy's type refuses it.
        raise ValueError("smsbot stores aware datetimes only (use datetime.now(UTC))")
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dict):
        return json.dumps(value)  # SQLAlchemy's JSON codec on the connection takes text
    return value


def _row(record: asyncpg.Record) -> dict[str, Any]:
    row = dict(record.items())
    for name in JSON_COLUMNS.intersection(row):
        if isinstance(row[name], str):
            row[name] = json.loads(row[name])
    return row
