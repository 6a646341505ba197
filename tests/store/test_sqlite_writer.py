"""SQLite's writer thread: when another process holds the database's write lock past the busy
timeout, the writes waiting together fail together, with a message, rather than one busy
timeout after another."""

from __future__ import annotations

import asyncio
import sqlite3
import time

import pytest

from smsbot.store import Store
from smsbot.store import store as store_module
from smsbot.store.group import WriteUnavailable
from tests.store.test_store import queued

BUSY_TIMEOUT_MS = 300


async def test_writes_waiting_on_a_lock_held_elsewhere_fail_together(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module, "SQLITE_BUSY_TIMEOUT_MS", BUSY_TIMEOUT_MS)
    store = await Store.open(sqlite_url)
    other = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"), isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # e.g. a backup or a sqlite3 shell writing
        started = time.monotonic()
        results = await asyncio.gather(
            *(store.admit(queued(f"k{n}")) for n in range(8)), return_exceptions=True
        )
        waited = time.monotonic() - started
        assert all(isinstance(result, WriteUnavailable) for result in results), results
        assert "locked by another process" in str(results[0])
        # One busy timeout for the group, not one more per write (8 x 0.3 s).
        assert waited < 4 * BUSY_TIMEOUT_MS / 1000
        other.execute("ROLLBACK")
        # The lock is gone: writes go through again, and nothing of the failed ones was kept.
        assert not (await store.admit(queued("k0"))).duplicate
    finally:
        other.close()
        await store.close()
