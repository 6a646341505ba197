"""SQLite: one writer thread with its own connection, and one reader thread.

SQLite lets one writer in at a time, so a process gains nothing from writing on several
connections. A whole group of writes (BEGIN IMMEDIATE, every statement, COMMIT) runs as one call
in the writer thread: one hop from the event loop and back. The writes' logic is ordinary async
code (`smsbot.store.writes`); here its statements run synchronously, so the coroutine finishes
without ever suspending and is driven to its end in the thread by `_run_inline`. Reads run on a
second connection in a thread of their own: in WAL mode they never wait for the writer.

The database runs in WAL mode with a busy timeout; `BEGIN IMMEDIATE` takes the write lock up
front, so two writers (two processes on one file) never deadlock upgrading a read lock. When
another process holds the lock past the busy timeout, the whole group fails at once with
`WriteUnavailable`.

Erased text: a finished send's text is set to NULL (unless SMSBOT_AUDIT__STORE_TEXT), and with
`secure_delete` on, SQLite zeroes the freed bytes in the page. The page as it was, text
included, still sits in the WAL until a checkpoint copies the new page back into the database
file and empties the WAL. So after a group that erased text the writer checkpoints
(`wal_checkpoint(TRUNCATE)`) at once if it last did more than `CHECKPOINT_EVERY_S` ago, and
otherwise that long after the last one: erased text stays on disk at most about a second (longer
only while a read holds an old snapshot, which it does for the length of one query).
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Coroutine, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from smsbot.store import codec, migrations
from smsbot.store.group import WriteUnavailable
from smsbot.store.sql import SQLITE, Sql
from smsbot.store.urls import EngineTarget, cannot_open, require_sqlite_folder
from smsbot.store.writes import Write

SQLITE_BUSY_TIMEOUT_MS = 10_000
CHECKPOINT_EVERY_S = 1.0

T = TypeVar("T")


def _run_inline(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine that never suspends (its awaits are all SQLite calls made right away)."""
    try:
        coro.send(None)
    except StopIteration as finished:
        return finished.value  # type: ignore[no-any-return]
    coro.close()
    raise RuntimeError("a SQLite write awaited something other than the database")


class _Connection:
    """A sqlite3 connection as writes see it (`smsbot.store.writes.Transaction`)."""

    def __init__(self, path: str, sql: Sql, *, writer: bool) -> None:
        self.sql = sql
        self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.conn.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        if writer:
            _wal(self.conn)
            self.conn.execute("PRAGMA synchronous=NORMAL")  # durable across process crashes
            self.conn.execute("PRAGMA secure_delete=ON")  # erased text is zeroed, not freed
        else:
            self.conn.execute("PRAGMA query_only=ON")

    def rows(self, statement: str, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        cursor = self.conn.execute(statement, {k: codec.SQLITE.bind(v) for k, v in params.items()})
        try:
            if cursor.description is None:
                return []
            read = codec.SQLITE.reader([d[0] for d in cursor.description])
            return [read(raw) for raw in cursor.fetchall()]
        finally:
            cursor.close()

    async def fetch(self, statement: str, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        return self.rows(statement, params)

    async def execute(self, statement: str, params: Mapping[str, Any]) -> int:
        cursor = self.conn.execute(statement, {k: codec.SQLITE.bind(v) for k, v in params.items()})
        cursor.close()
        return cursor.rowcount


class SqliteBackend:
    parallel = 1  # one writer at a time is all SQLite takes

    def __init__(self, path: str, sql: Sql) -> None:
        self.sql = sql
        self._path = path
        self._writer_thread = ThreadPoolExecutor(1, thread_name_prefix="smsbot-sqlite-writer")
        self._reader_thread = ThreadPoolExecutor(1, thread_name_prefix="smsbot-sqlite-reader")
        self._writer: _Connection | None = None
        self._reader: _Connection | None = None
        self._closed = False
        self._last_checkpoint = float("-inf")  # time.monotonic() of the last one
        self._checkpoint_timer: asyncio.TimerHandle | None = None

    @classmethod
    async def open(cls, target: EngineTarget, *, store_text: bool) -> SqliteBackend:
        require_sqlite_folder(target)
        backend = cls(str(target.url.database), Sql(SQLITE, store_text=store_text))
        loop = asyncio.get_running_loop()
        try:
            if not await loop.run_in_executor(backend._writer_thread, backend._open_writer):
                # Another process's read kept the WAL from being emptied: try again later.
                backend._checkpoint_timer = loop.call_later(
                    CHECKPOINT_EVERY_S, backend._checkpoint_later
                )
            await loop.run_in_executor(backend._reader_thread, backend._open_reader)
            await migrations.upgrade(backend)
        except sqlite3.Error as exc:
            await backend.close()
            raise cannot_open(target, exc) from exc
        except BaseException:
            await backend.close()
            raise
        return backend

    def _open_writer(self) -> bool:
        """In the writer thread: the connection, and the checkpoint of a crashed process's WAL;
        False when a read kept that checkpoint from finishing."""
        self._writer = _Connection(self._path, self.sql, writer=True)
        # A WAL left by a process that crashed may hold erased text: empty it now. A read
        # first, so that the connection has the WAL open: one that has just switched a new file
        # to WAL has not, and a checkpoint then opens it with a read of its own that lasts as
        # long as the checkpoint. Had another process committed meanwhile (creating the schema
        # on a first start), TRUNCATE waits for all reads of the WAL to end, that one included:
        # it waited on itself for the whole busy timeout.
        self._writer.conn.execute("SELECT count(*) FROM sqlite_schema").fetchone()
        return _truncate_wal(self._writer.conn)

    def _open_reader(self) -> None:
        self._reader = _Connection(self._path, self.sql, writer=False)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._checkpoint_timer is not None:
            self._checkpoint_timer.cancel()
        loop = asyncio.get_running_loop()
        for thread, which in ((self._reader_thread, "_reader"), (self._writer_thread, "_writer")):
            # Waits for the transaction under way; closing the last connection checkpoints.
            await loop.run_in_executor(thread, self._close_connection, which)
            thread.shutdown(wait=True)

    def _close_connection(self, which: str) -> None:
        connection: _Connection | None = getattr(self, which)
        if connection is not None:
            connection.conn.close()
            setattr(self, which, None)

    async def fetch(self, statement: str, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        if self._closed:
            raise RuntimeError("the store is closed")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._reader_thread, self._read, statement, params)

    def _read(self, statement: str, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        assert self._reader is not None
        return self._reader.rows(statement, params)

    async def run_together(self, writes: Sequence[Write]) -> list[Any]:
        if self._closed:
            raise RuntimeError("the store is closed: nothing can be written any more")
        loop = asyncio.get_running_loop()
        try:
            results, erased = await loop.run_in_executor(
                self._writer_thread, self._write_group, writes
            )
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            raise WriteUnavailable(
                "the SQLite database stayed locked by another process for "
                f"{SQLITE_BUSY_TIMEOUT_MS / 1000:g} s; nothing was written"
            ) from exc
        if erased and self._checkpoint_timer is None:
            wait = self._last_checkpoint + CHECKPOINT_EVERY_S - time.monotonic()
            self._checkpoint_timer = loop.call_later(max(wait, 0), self._checkpoint_later)
        return results

    def _write_group(self, writes: Sequence[Write]) -> tuple[list[Any], bool]:
        """In the writer thread: the group's transaction; whether text erased by it is still
        waiting for a checkpoint."""
        tx = self._writer
        assert tx is not None
        tx.conn.execute("BEGIN IMMEDIATE")
        try:
            results = [_run_inline(write.run(tx)) for write in writes]
            tx.conn.execute("COMMIT")
        except BaseException:
            if tx.conn.in_transaction:
                tx.conn.execute("ROLLBACK")
            raise
        if not any(write.erases_text for write in writes):
            return results, False
        if time.monotonic() - self._last_checkpoint >= CHECKPOINT_EVERY_S:
            return results, not self._checkpoint()
        return results, True

    def _checkpoint(self) -> bool:
        """In the writer thread: copy the WAL into the database and empty it; False when a
        read kept it from finishing."""
        assert self._writer is not None
        self._last_checkpoint = time.monotonic()
        return _truncate_wal(self._writer.conn)

    def _checkpoint_later(self) -> None:
        self._checkpoint_timer = None
        if self._closed:
            return
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._writer_thread, self._checkpoint)

        def again(done: asyncio.Future[bool]) -> None:
            if not done.cancelled() and done.exception() is None and done.result():
                return
            if not self._closed and self._checkpoint_timer is None:
                self._checkpoint_timer = loop.call_later(CHECKPOINT_EVERY_S, self._checkpoint_later)

        future.add_done_callback(again)


def _wal(conn: sqlite3.Connection) -> None:
    """WAL mode (kept in the file). Switching takes a lock that the busy timeout does not wait
    for: two processes opening a new file at once retry, for as long as the timeout."""
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def _truncate_wal(conn: sqlite3.Connection) -> bool:
    """In the writer thread: copy the WAL into the database and empty it; False when another
    connection's read kept it from finishing. It does not wait for that read: a TRUNCATE
    checkpoint waits out the whole busy timeout while a reader (a backup, a `sqlite3` shell)
    holds an old snapshot, and every write would queue behind it. The caller tries again later."""
    conn.execute("PRAGMA busy_timeout=0")
    try:
        busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    finally:
        conn.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    return not busy
