"""Posting JSON to a receiver's webhook as KPN does: retried when the receiver fails, bounded.

KPN documents its retry policy for delivery reports: four attempts, at 0, 60, 120 and 240 s
after the previous failure. The sandbox follows it by default (`SandboxConfig.retry_delays`),
and tests pass tiny delays. A 2xx answer ends it; a 5xx, a 429, a timeout or a refused
connection (a receiver restarting) is tried again; any other answer (401 for a bad signature,
400 for a body the receiver cannot read) is final: repeating it would not change the answer.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import aiohttp

log = logging.getLogger(__name__)

# Outgoing posts in flight at once; more wait their turn, so a burst of sends cannot open
# thousands of connections to one receiver.
MAX_CONCURRENT_POSTS = 64


SANDBOX_TASK_PREFIX = "smsbot-sandbox:"  # the names of the tasks the sandbox starts


@dataclass
class PostTrack:
    """How one outgoing post went, for the inbox and the JSON routes."""

    state: str = "pending"  # pending, posted, retrying, refused (a final 4xx), gave_up
    attempts: int = 0
    status: int | None = None  # the receiver's last HTTP status
    error: str | None = None  # why the last attempt got no answer
    # Set once the first attempt is over, for a caller that reports it (POST /sandbox/inbound).
    first_attempt: asyncio.Event = field(default_factory=asyncio.Event, repr=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "attempts": self.attempts,
            "status": self.status,
            "error": self.error,
        }


def _retryable(status: int) -> bool:
    return status >= 500 or status == 429


def _where(url: str) -> str:
    # Host and path only: the query of a report URL carries smsbot's signature.
    parts = urlsplit(url)
    return f"{parts.netloc}{parts.path}"


class Poster:
    """One client session for every post of a sandbox, and the tasks still posting."""

    def __init__(self, retry_delays: tuple[float, ...], timeout_seconds: float) -> None:
        self._retry_delays = retry_delays
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._session: aiohttp.ClientSession | None = None
        self._slots = asyncio.Semaphore(MAX_CONCURRENT_POSTS)
        self._tasks: set[asyncio.Task[Any]] = set()
        self.posted = 0  # posts a receiver answered with 2xx
        self.failed = 0  # posts that ended refused or gave up

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(timeout=self._timeout)

    async def stop(self) -> None:
        await asyncio.gather(*self.cancel_all(), return_exceptions=True)
        if self._session is not None:
            await self._session.close()
            self._session = None

    def cancel_all(self) -> list[asyncio.Task[Any]]:
        """Stop every post under way (they end at their next await); returns their tasks."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        return tasks

    def spawn(self, work: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        # Named, so that a bot stopping in the same process (`smsbot demo`) can tell KPN's
        # side from its own work under way (`cli.serve_cmd`).
        task = asyncio.get_running_loop().create_task(work, name=f"{SANDBOX_TASK_PREFIX}post")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def reset_counts(self) -> None:
        self.posted = self.failed = 0

    async def post(self, url: str, body: dict[str, Any], track: PostTrack) -> None:
        """Post `body` until the receiver takes it, refuses it, or the attempts run out."""
        try:
            await self._post(url, body, track)
        finally:
            track.first_attempt.set()  # also when cancelled (a reset) before any attempt

    async def _post(self, url: str, body: dict[str, Any], track: PostTrack) -> None:
        for attempt, delay in enumerate((0.0, *self._retry_delays), start=1):
            if delay:
                await asyncio.sleep(delay)
            track.attempts = attempt
            try:
                final = await self._attempt(url, body, track)
            finally:
                track.first_attempt.set()
            if final:
                return
            track.state = "retrying"
        track.state = "gave_up"
        self.failed += 1
        log.warning(
            "gave up posting to %s after %d attempts (%s)",
            _where(url),
            track.attempts,
            track.status or track.error,
        )

    async def _attempt(self, url: str, body: dict[str, Any], track: PostTrack) -> bool:
        """One attempt; True when it settled the post (taken or refused for good)."""
        if self._session is None:
            raise RuntimeError("the sandbox posts only while it serves")
        async with self._slots:
            try:
                async with self._session.post(url, json=body) as response:
                    await response.read()
                    track.status, track.error = response.status, None
            except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                track.status, track.error = None, type(exc).__name__
                return False
        if 200 <= track.status < 300:
            track.state = "posted"
            self.posted += 1
            return True
        if _retryable(track.status):
            return False
        track.state = "refused"
        self.failed += 1
        log.info("%s refused a post with %d; not retried", _where(url), track.status)
        return True
