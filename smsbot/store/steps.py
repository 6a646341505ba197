"""Writes as step generators: one piece of logic, driven on either engine's connection.

A write that needs several statements with decisions in between (an admit: insert, else look
the key up, else find the cap that was reached) is written once, as a generator that yields
`(statement, params)` and is sent back the `Done` of each statement:

```python
def claim_steps() -> Steps[bool]:
    done = yield claim_statement, None
    return bool(done.rows)
```

`run_async` drives it with an async `execute` (PostgreSQL, `smsbot.store.postgres_raw`: every
statement a round trip on the event loop). `run_sync` drives it with a blocking `execute` in
SQLite's writer thread (`smsbot.store.sqlite_writer`, `smsbot.store.sqlite_raw`), where a whole
group of writes then costs one hop between threads instead of several hops per statement.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Generator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Connection, CursorResult, Executable, RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

T = TypeVar("T")


@dataclass(frozen=True)
class Done:
    """What one statement gave back: its RETURNING rows (if any) and how many rows it hit."""

    rows: Sequence[RowMapping]
    rowcount: int


Statement = tuple[Executable, Mapping[str, Any] | None]
Steps = Generator[Statement, Done, T]
Execute = Callable[[Executable, Mapping[str, Any] | None], Done]
AsyncExecute = Callable[[Executable, Mapping[str, Any] | None], Awaitable[Done]]


def _done(result: CursorResult[Any]) -> Done:
    rows = result.mappings().all() if result.returns_rows else ()
    return Done(rows, result.rowcount)


def execute_sync(conn: Connection) -> Execute:
    """Run statements through SQLAlchemy on a blocking connection."""
    return lambda statement, params: _done(conn.execute(statement, params))


def run_sync(steps: Steps[T], execute: Execute) -> T:
    try:
        statement, params = next(steps)
        while True:
            statement, params = steps.send(execute(statement, params))
    except StopIteration as finished:
        return finished.value  # type: ignore[no-any-return]


def execute_async(conn: AsyncConnection) -> AsyncExecute:
    """Run statements through SQLAlchemy on an async connection."""

    async def execute(statement: Executable, params: Mapping[str, Any] | None) -> Done:
        return _done(await conn.execute(statement, params))

    return execute


async def run_async(steps: Steps[T], execute: AsyncExecute) -> T:
    try:
        statement, params = next(steps)
        while True:
            statement, params = steps.send(await execute(statement, params))
    except StopIteration as finished:
        return finished.value  # type: ignore[no-any-return]


def one(statement: Executable, params: Mapping[str, Any] | None = None) -> Steps[Done]:
    """A write of a single statement."""
    return (yield statement, params)
