"""A background task that runs a tick every few seconds for as long as a block lasts (the
escalation timer, the repeats of unknown alert SMS)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

log = logging.getLogger(__name__)


@contextlib.asynccontextmanager
async def every(
    seconds: float, tick: Callable[[], Awaitable[object]], *, name: str
) -> AsyncIterator[None]:
    """Run `tick()` every `seconds` until the block ends; a failed tick is logged and the next
    one comes as usual (the work it left is durable, in the store)."""

    async def loop() -> None:
        while True:
            try:
                await tick()
            except Exception:
                log.exception("%s failed; trying again in %.0f s", name, seconds)
            await asyncio.sleep(seconds)

    task = asyncio.create_task(loop(), name=f"smsbot-{name.replace(' ', '-')}")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
