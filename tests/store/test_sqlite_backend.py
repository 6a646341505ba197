"""SQLite's backend (`smsbot.store.backends.sqlite`): rows it writes read back through
SQLAlchemy as SQLAlchemy writes them (tools and tests use `Store.engine`), writes waiting on a
lock held elsewhere fail together, erased text does not linger in the WAL, and a store opening
a new file while another creates its schema does not wait out the busy timeout."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert, select, text

from smsbot.sms.request import Outcome
from smsbot.store import Store, migrations, utcnow
from smsbot.store.backends import sqlite as sqlite_backend
from smsbot.store.group import WriteUnavailable
from smsbot.store.sqlalchemy_tables import claims, schema_version, sends
from tests.fixtures.waiting import until
from tests.store.test_store import cap, queued

BUSY_TIMEOUT_MS = 300


async def stored_text(store: Store, column: str, key: str) -> str:
    async with store.engine.connect() as conn:
        query = text(f"SELECT {column} FROM smsbot_sends WHERE idempotency_key = :key")
        return (await conn.execute(query, {"key": key})).scalar_one()


async def test_rows_from_the_driver_match_rows_from_sqlalchemy(sqlite_url: str) -> None:
    store = await Store.open(sqlite_url)
    try:
        fast = await store.admit(queued("fast"), [cap(5)])  # the backend's own statement
        assert not fast.duplicate
        # The same row written by SQLAlchemy, at a whole second (microsecond 0).
        values: dict = {column.name: None for column in sends.c}
        whole = datetime(2026, 11, 25, 3, 10, 0, tzinfo=UTC)
        values |= {
            "id": "b" * 32,
            "created_at": whole,
            "updated_at": whole,
            "actor": "U1",
            "surface": "cli",
            "text_length": 5,
            "outcome": "queued",
            "idempotency_key": "slow",
            "attempts": 0,
            "reply": {"response_url": "https://hooks.example/1"},
        }
        async with store.engine.begin() as conn:
            await conn.execute(insert(sends).values(values))
        for key in ("fast", "slow"):
            created = await stored_text(store, "created_at", key)
            # SQLAlchemy's SQLite DATETIME text: always six digits of microseconds.
            assert len(created) == len("2026-11-25 03:10:00.000000") and created[10] == " "
        assert await stored_text(store, "created_at", "slow") == "2026-11-25 03:10:00.000000"
        assert await stored_text(store, "reply", "fast") == await stored_text(
            store, "reply", "slow"
        )
        # What the driver returned is what the store reads back.
        assert await store.get(fast.record.request_id) == fast.record
        assert fast.record.time.tzinfo is not None
        slow = await store.by_key("slow")
        assert slow is not None and slow.time == whole
    finally:
        await store.close()


async def test_caps_compare_the_driver_s_timestamps_with_sqlalchemy_s(sqlite_url: str) -> None:
    store = await Store.open(sqlite_url)
    try:
        first = await store.admit(queued("a1"), [cap(1)])
        assert first.record.outcome is Outcome.QUEUED
        second = await store.admit(queued("a2"), [cap(1)])
        assert second.record.outcome is Outcome.REFUSED
        assert second.record.retry_at == first.record.time + timedelta(hours=1)
        claimed = await store.take_due(5)
        await store.finish(claimed[0].request_id, Outcome.SENT, document_id="doc-1")
        count = await store.count_recent(
            since=utcnow() - timedelta(minutes=1), to=first.record.recipient
        )
        assert count == 2  # the sent one and the refused one
    finally:
        await store.close()


async def test_an_expired_claim_written_by_sqlalchemy_can_be_taken_over(sqlite_url: str) -> None:
    store = await Store.open(sqlite_url)
    try:
        assert await store.admit(queued("k1"), claim=("alert:x", 3600)) is not None
        assert await store.admit(queued("k2"), claim=("alert:x", 3600)) is None
        async with store.engine.begin() as conn:
            expires = (await conn.execute(select(claims.c.expires_at))).scalar_one()
            assert expires > utcnow() + timedelta(minutes=59)
            await conn.execute(claims.update().values(expires_at=utcnow() - timedelta(seconds=1)))
        assert await store.admit(queued("k3"), claim=("alert:x", 3600)) is not None
    finally:
        await store.close()


async def test_writes_waiting_on_a_lock_held_elsewhere_fail_together(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_backend, "SQLITE_BUSY_TIMEOUT_MS", BUSY_TIMEOUT_MS)
    store = await Store.open(sqlite_url)
    other = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"), isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # e.g. a backup or a sqlite3 shell writing
        transactions = store._writes.batches
        results = await asyncio.gather(
            *(store.admit(queued(f"k{n}")) for n in range(8)), return_exceptions=True
        )
        assert all(isinstance(result, WriteUnavailable) for result in results), results
        assert "locked by another process" in str(results[0])
        # One busy timeout for the group, not one more per write (8 x 0.3 s): the eight
        # writes were queued together, and each transaction tried waits out one.
        assert store._writes.batches - transactions == 1
        other.execute("ROLLBACK")
        # The lock is gone: writes go through again, and nothing of the failed ones was kept.
        assert not (await store.admit(queued("k0"))).duplicate
    finally:
        other.close()
        await store.close()


def on_disk(database: Path) -> bytes:
    """Everything SQLite keeps of the database: the file, its WAL and the WAL's index."""
    files = [database, Path(f"{database}-wal"), Path(f"{database}-shm")]
    return b"".join(path.read_bytes() for path in files if path.exists())


def wal_bytes(database: Path) -> int:
    return Path(f"{database}-wal").stat().st_size


async def test_erased_text_is_gone_from_the_files_soon_after(sqlite_url: str) -> None:
    database = Path(sqlite_url.removeprefix("sqlite:///"))
    store = await Store.open(sqlite_url)
    backend = store._backend
    assert isinstance(backend, sqlite_backend.SqliteBackend)
    try:
        secrets_ = [f"the door code is {n}{n}{n}{n}-quokka" for n in range(3)]
        for n, secret in enumerate(secrets_):
            await store.admit(replace(queued(f"k{n}"), text=secret, text_length=len(secret)))
        assert all(secret.encode() in on_disk(database) for secret in secrets_)
        sending = await store.take_due(3)
        # The first erase is checkpointed at once: none was due before.
        await store.finish(sending[0].request_id, Outcome.SENT, document_id="d0")
        assert secrets_[0].encode() not in on_disk(database)
        # The next ones, within a second of it, at most a second later: by the checkpoint of
        # the writer (a write more than a second after the last one) or of the timer.
        for n, record in enumerate(sending[1:], start=1):
            await store.finish(record.request_id, Outcome.FAILED, error=f"no {n}")

        def still_on_disk() -> list[str]:
            return [s for s in secrets_ if s.encode() in on_disk(database)]

        await until(lambda: not still_on_disk(), "the erased texts gone from the files", within=5)
    finally:
        await store.close()


async def test_a_store_opening_a_new_file_as_another_creates_the_schema_does_not_wait(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two stores opening one new file at once (two processes on a first start), in the order
    that used to stall the first for the whole busy timeout: it switches the file to WAL, then
    the second opens entirely (schema created and committed in the WAL), then the first goes on
    with its checkpoint. That checkpoint waited on a read lock of its own connection until the
    busy timeout and gave up with the WAL as it was; now it empties the WAL at once."""
    # Without the fix the first store waits this out once (not 10 s), then the WAL check fails.
    monkeypatch.setattr(sqlite_backend, "SQLITE_BUSY_TIMEOUT_MS", BUSY_TIMEOUT_MS)
    database = Path(sqlite_url.removeprefix("sqlite:///"))
    loop = asyncio.get_running_loop()
    switch_to_wal = sqlite_backend._wal
    second: list[Store] = []
    switched: list[sqlite3.Connection] = []

    def switch_then_let_the_second_store_open(conn: sqlite3.Connection) -> None:
        switch_to_wal(conn)
        switched.append(conn)
        if len(switched) > 1:
            return  # the second store's writer opens as usual
        # In the first store's writer thread; the event loop is free meanwhile.
        second.append(asyncio.run_coroutine_threadsafe(Store.open(sqlite_url), loop).result())

    monkeypatch.setattr(sqlite_backend, "_wal", switch_then_let_the_second_store_open)
    first = await Store.open(sqlite_url)
    try:
        assert len(second) == 1 and await second[0].ping()
        # The first store's checkpoint at open copied the second's schema into the database
        # file and emptied the WAL (and its own upgrade found nothing left to do).
        assert wal_bytes(database) == 0
        async with first.engine.connect() as conn:
            versions = (await conn.execute(select(schema_version.c.version))).scalars().all()
        assert versions == [migrations.LATEST]
    finally:
        await first.close()
        for store in second:
            await store.close()


@contextlib.asynccontextmanager
async def another_process_reading(sqlite_url: str) -> AsyncIterator[sqlite3.Connection]:
    """A store's database with frames in its WAL that another connection (a backup, a `sqlite3`
    shell) holds in an open read transaction: no checkpoint can empty the WAL until it ends
    (`reader.execute("COMMIT")`)."""
    database = Path(sqlite_url.removeprefix("sqlite:///"))
    await (await Store.open(sqlite_url)).close()
    writer = sqlite3.connect(database, isolation_level=None)
    reader = sqlite3.connect(database, isolation_level=None)
    try:
        writer.execute("CREATE TABLE left_in_the_wal (x)")  # frames in the WAL
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM left_in_the_wal").fetchone()  # holds them
        yield reader
    finally:
        reader.close()
        writer.close()


async def test_a_wal_another_process_kept_at_open_is_emptied_once_it_lets_go(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The checkpoint at open (a crashed process's WAL may hold erased text) can find another
    process reading the WAL; it is tried again until it empties it."""
    monkeypatch.setattr(sqlite_backend, "SQLITE_BUSY_TIMEOUT_MS", BUSY_TIMEOUT_MS)
    monkeypatch.setattr(sqlite_backend, "CHECKPOINT_EVERY_S", 0.05)
    database = Path(sqlite_url.removeprefix("sqlite:///"))
    async with another_process_reading(sqlite_url) as reader:
        store = await Store.open(sqlite_url)
        try:
            assert wal_bytes(database) > 0  # the open's checkpoint could not empty it
            reader.execute("COMMIT")
            await until(lambda: wal_bytes(database) == 0, "the WAL emptied by a later try")
            assert await store.ping()
        finally:
            await store.close()


async def test_a_reader_holding_the_wal_never_holds_up_writes(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A checkpoint (at open, after an erase) that a reader in another process keeps from
    finishing gives up at once and is tried later; it never makes writes wait for the reader."""
    # A checkpoint that waited for the reader would wait this long, far past the bounds below.
    monkeypatch.setattr(sqlite_backend, "SQLITE_BUSY_TIMEOUT_MS", 600_000)
    monkeypatch.setattr(sqlite_backend, "CHECKPOINT_EVERY_S", 0.05)
    database = Path(sqlite_url.removeprefix("sqlite:///"))
    async with another_process_reading(sqlite_url) as reader:
        store = await asyncio.wait_for(Store.open(sqlite_url), 60)
        try:
            secret = "the door code is 4242-quokka"
            for n in range(3):  # each finish erases the text: a checkpoint is due after it
                record = replace(queued(f"k{n}"), text=secret, text_length=len(secret))
                await asyncio.wait_for(store.admit(record), 60)
                [taken] = await store.take_due(1)
                await asyncio.wait_for(store.finish(taken.request_id, Outcome.SENT), 60)
            reader.execute("COMMIT")
            await until(lambda: wal_bytes(database) == 0, "the WAL emptied once the reader ended")
            assert secret.encode() not in on_disk(database)
        finally:
            await store.close()
