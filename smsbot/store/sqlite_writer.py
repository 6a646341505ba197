"""SQLite's one writer: a thread of its own holding a blocking connection.

SQLite lets one writer in at a time, so a process gains nothing from writing on several
connections. Through aiosqlite every statement (and its cursor, fetch and close) is a hop to
the driver's thread and back, each waiting for the event loop and the GIL; a group of twenty
admits made dozens of them. Here a whole transaction (BEGIN IMMEDIATE, every statement of a
group, COMMIT) runs as one call in this thread: one hop each way. Reads stay on the async
engine: in WAL mode they never wait for the writer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from sqlalchemy import Connection, Engine, create_engine
from sqlalchemy.engine import URL

T = TypeVar("T")


class SqliteWriter:
    def __init__(self, url: URL, configure: Callable[[Engine], None]) -> None:
        # Created here, used only by the one thread below; `check_same_thread` off because
        # the pool may close the connection from the thread that disposes of it.
        self.engine = create_engine(
            url.set(drivername="sqlite+pysqlite"),
            connect_args={"check_same_thread": False},
            pool_size=1,
            max_overflow=0,
        )
        configure(self.engine)
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="smsbot-sqlite-writer")
        self._closed = False

    async def run(self, work: Callable[[Connection], T]) -> T:
        """Run `work` in one write transaction (BEGIN IMMEDIATE ... COMMIT) in the writer
        thread; a raised exception rolls the whole transaction back."""
        if self._closed:
            raise RuntimeError("the store is closed: nothing can be written any more")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._thread, self._in_transaction, work)

    def _in_transaction(self, work: Callable[[Connection], T]) -> T:
        with self.engine.begin() as conn:
            return work(conn)

    def close(self) -> None:
        """Wait for the transaction under way (if any), then close the connection."""
        if self._closed:
            return
        self._closed = True
        self._thread.submit(self.engine.dispose).result()
        self._thread.shutdown(wait=True)
