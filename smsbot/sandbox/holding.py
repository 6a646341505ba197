"""A gate on the answers to sends, for tests: hold them until the test lets them go.

While the gate is closed (`SandboxHandle.hold_answers()`) each send is handled as usual (an
SMS it accepts is in the inbox at once) and only its answer waits, until `release_answers()`.
A test so knows for certain, without timing anything, what the bot did while KPN had not
answered yet.
"""

from __future__ import annotations

import asyncio


class AnswerGate:
    def __init__(self) -> None:
        self._open = asyncio.Event()
        self._open.set()
        self.held = 0  # answers waiting at the gate now

    def close(self) -> None:
        self._open.clear()

    def open(self) -> None:
        self._open.set()

    async def passed(self) -> None:
        """Return at once while the gate is open; else when it opens."""
        if self._open.is_set():
            return
        self.held += 1
        try:
            await self._open.wait()
        finally:
            self.held -= 1
