"""A webhook receiver on loopback: records every JSON body posted to it and answers with the
statuses a test scripts (200 once the script runs out). Tests wait on it for a positive
signal ("N posts arrived") instead of sleeping."""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import web

WAIT_SECONDS = 15


class Receiver:
    def __init__(self) -> None:
        self.url = ""
        self.posts: list[Any] = []
        self.answers: deque[int] = deque()
        self._arrived = asyncio.Condition()

    def answer_next(self, *statuses: int) -> None:
        self.answers.extend(statuses)

    async def wait_for(self, count: int) -> list[Any]:
        """The first `count` bodies, once that many arrived (fails after WAIT_SECONDS)."""
        async with self._arrived:
            await asyncio.wait_for(
                self._arrived.wait_for(lambda: len(self.posts) >= count), WAIT_SECONDS
            )
        return self.posts[:count]

    async def _handle(self, request: web.Request) -> web.Response:
        body = json.loads(await request.read())
        async with self._arrived:
            self.posts.append(body)
            self._arrived.notify_all()
        return web.Response(status=self.answers.popleft() if self.answers else 200)


@asynccontextmanager
async def running_receiver(port: int = 0, path: str = "/hook") -> AsyncIterator[Receiver]:
    receiver = Receiver()
    app = web.Application()
    app.router.add_post(path, receiver._handle)
    runner = web.AppRunner(app, shutdown_timeout=0.25)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    bound = runner.addresses[0][1]
    receiver.url = f"http://127.0.0.1:{bound}{path}"
    try:
        yield receiver
    finally:
        await runner.cleanup()
