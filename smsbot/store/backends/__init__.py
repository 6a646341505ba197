"""One module per database engine, behind the small interface `Store` needs.

A backend runs a group of writes in one transaction (`run_together`), runs reads (`fetch`), and
opens and closes its connections. Each module imports its engine's driver, and `open_backend`
imports only the module of the engine in use: serving from SQLite never loads asyncpg.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from smsbot.store.sql import Sql
from smsbot.store.urls import EngineTarget
from smsbot.store.writes import Write


class Backend(Protocol):
    sql: Sql
    parallel: int  # how many groups of writes may be under way at once

    async def run_together(self, writes: Sequence[Write]) -> list[Any]:
        """Run the writes of one group in one transaction; their results, in order."""
        ...

    async def fetch(self, statement: str, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        """A read, outside any write's transaction."""
        ...

    async def close(self) -> None: ...


async def open_backend(target: EngineTarget, *, store_text: bool, pool_size: int) -> Backend:
    """Connect, and create or upgrade the schema (`smsbot.store.migrations`)."""
    if target.is_sqlite:
        from smsbot.store.backends.sqlite import SqliteBackend

        return await SqliteBackend.open(target, store_text=store_text)
    from smsbot.store.backends.postgres import PostgresBackend

    return await PostgresBackend.open(target, store_text=store_text, pool_size=pool_size)
