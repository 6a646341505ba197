"""Group commit: writes that arrive together share one transaction.

Every SMS writes twice (admit, finish). Run one by one, each write pays a pool checkout (or a
hop to SQLite's writer thread), BEGIN and COMMIT. `GroupCommit.run(write)` queues a write (a
typed value, `smsbot.store.writes`; opaque here); a runner takes every write queued by then (all
that arrived in the same event-loop turn, or while the previous batch was running, up to
`max_batch`) and hands them to the backend, which runs them in one transaction. Each waiter gets
its own write's result, only after the transaction committed, so "recorded" still means durably
recorded.

When the shared transaction fails (a bad row, a deadlock between replicas, a lost
connection), nothing of it was committed: each write of the batch is then run again in a
transaction of its own, so a failing write fails only its own waiter. When the database takes
no write at all (`WriteUnavailable`), every waiter fails at once instead. A waiter cancelled before
its batch starts is dropped; once the batch has started, its write completes (as it would have
had it been a lone statement already sent).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

log = logging.getLogger(__name__)


@dataclass
class _Waiting:
    write: Any  # opaque here: only the runner looks inside
    future: asyncio.Future[Any]


class WriteUnavailable(Exception):
    """Raised by a runner when the database takes no write at all for now (SQLite's write lock
    held elsewhere past the busy timeout): each write alone would only wait as long again, so
    every waiter of the group gets this at once instead."""


class Runner(Protocol):
    async def run_together(self, writes: Sequence[Any]) -> list[Any]:
        """Run every write in one transaction; their results, in order."""
        ...


class GroupCommit:
    def __init__(self, runner: Runner, *, max_batch: int = 64, parallel: int = 1) -> None:
        self._runner = runner
        self._max_batch = max(1, max_batch)
        self._parallel = max(1, parallel)
        self._queue: deque[_Waiting] = deque()
        self._runners = 0  # runner tasks that have not left `_drain` yet
        self._tasks: set[asyncio.Task[None]] = set()  # referenced while they run
        self.batches = 0  # how many transactions ran (for tests and benchmarks)

    async def run(self, write: Any) -> Any:
        loop = asyncio.get_running_loop()
        waiting = _Waiting(write, loop.create_future())
        self._queue.append(waiting)
        # A new runner when none is free to pick this write up: all runners are busy with
        # batches they already took, and fewer than `parallel` are running.
        if not self._runners or (len(self._queue) == 1 and self._runners < self._parallel):
            self._runners += 1
            task = loop.create_task(self._drain(), name="smsbot-group-commit")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return await waiting.future

    async def _drain(self) -> None:
        try:
            while self._queue:
                batch: list[_Waiting] = []
                while self._queue and len(batch) < self._max_batch:
                    write = self._queue.popleft()
                    if not write.future.done():  # a cancelled waiter: never started, dropped
                        batch.append(write)
                if batch:
                    await self._run(batch)
        except asyncio.CancelledError:
            # The loop is shutting down: nobody will run what is still queued.
            if self._runners <= 1:
                while self._queue:
                    self._queue.popleft().future.cancel()
            raise
        finally:
            self._runners -= 1

    async def _run(self, batch: list[_Waiting]) -> None:
        self.batches += 1
        try:
            results = await self._runner.run_together([w.write for w in batch])
        except asyncio.CancelledError:
            for write in batch:
                if not write.future.done():
                    write.future.cancel()
            raise
        except Exception as exc:
            if len(batch) == 1 or isinstance(exc, WriteUnavailable):
                for write in batch:
                    _fail(write, exc)
                return
            # The type only: a database error's text carries the row, phone number included.
            log.warning(
                "a group of %d writes failed (%s); running each alone",
                len(batch),
                type(exc).__name__,
            )
            for n, write in enumerate(batch):
                try:
                    await self._alone(write)
                except asyncio.CancelledError:
                    for rest in batch[n + 1 :]:
                        rest.future.cancel()
                    raise
            return
        for write, result in zip(batch, results, strict=True):
            if not write.future.done():
                write.future.set_result(result)

    async def _alone(self, write: _Waiting) -> None:
        self.batches += 1
        try:
            (result,) = await self._runner.run_together([write.write])
        except asyncio.CancelledError:
            if not write.future.done():
                write.future.cancel()
            raise
        except Exception as exc:
            _fail(write, exc)
        else:
            if not write.future.done():
                write.future.set_result(result)


def _fail(write: _Waiting, exc: BaseException) -> None:
    if not write.future.done():
        write.future.set_exception(exc)
