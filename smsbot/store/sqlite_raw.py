"""The send path's statements on the sqlite3 driver itself, compiled once by SQLAlchemy.

For a one-row statement SQLAlchemy's per-execution work (cache lookup, bind and result
processing, the result object) costs several times what SQLite needs to run it, and in the
writer thread it holds the GIL the event loop wants. The statements `Statements` builds once
(admit, finish, claim, ...) are therefore compiled to SQLite's SQL on first use and run on the
sqlite3 connection directly. Values are converted exactly as SQLAlchemy stores them (aware
datetimes as naive UTC text with microseconds, JSON as text; `tests/store` reads them back
through SQLAlchemy), so rows written either way are the same. Any other statement runs through
SQLAlchemy as before.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Dialect, Executable

from smsbot.store.compiled import CompiledStatements
from smsbot.store.steps import Done

# Columns SQLAlchemy reads back as datetimes (`UtcDateTime`) and as JSON.
DATETIME_COLUMNS = frozenset({"created_at", "updated_at", "retry_at", "not_before", "expires_at"})
JSON_COLUMNS = frozenset({"reply"})


class SqliteStatements:
    def __init__(self, dialect: Dialect, hot: Mapping[int, Executable]) -> None:
        self._compiled = CompiledStatements(dialect, hot)

    def execute(self, conn: Connection, statement: Executable, params: Any) -> Done:
        compiled = self._compiled.get(statement)
        if compiled is None:
            return _through_sqlalchemy(conn, statement, params)
        driver = conn.connection.driver_connection
        cursor = driver.execute(compiled.sql, compiled.args(params, _bind))  # type: ignore[union-attr]
        try:
            if cursor.description is None:
                return Done((), cursor.rowcount)
            columns = [d[0] for d in cursor.description]
            rows = [_row(columns, raw) for raw in cursor.fetchall()]
            return Done(rows, cursor.rowcount)  # type: ignore[arg-type]
        finally:
            cursor.close()


def _through_sqlalchemy(conn: Connection, statement: Executable, params: Any) -> Done:
    result = conn.execute(statement, params)
    rows = result.mappings().all() if result.returns_rows else ()
    return Done(rows, result.rowcount)


# Most values go to the driver as they are; one set look-up spares them the checks below.
_AS_IS = frozenset({str, int, float, bool, type(None)})


def _bind(value: Any) -> Any:
    if type(value) in _AS_IS:
        return value
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("smsbot stores aware datetimes only (use datetime.now(UTC))")
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
    if isinstance(value, dict | list):
        return json.dumps(value)
    return value


def _row(columns: list[str], raw: tuple[Any, ...]) -> dict[str, Any]:
    row = dict(zip(columns, raw, strict=True))
    for name in DATETIME_COLUMNS.intersection(row):
        value = row[name]
        if value is not None:
            row[name] = datetime.fromisoformat(value).replace(tzinfo=UTC)
    for name in JSON_COLUMNS.intersection(row):
        if row[name] is not None:
            row[name] = json.loads(row[name])
    return row
