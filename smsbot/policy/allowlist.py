"""The allowlist: a person may send when their user id, one of their user groups, or the
channel they send from is listed. An empty allowlist lets nobody send.

User group membership is asked of a `UsergroupDirectory` (the Slack layer provides one backed
by `usergroups.users.list`) and cached for a short time, so a burst of sends costs one lookup
and a removal from a group takes effect within minutes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from typing import Protocol


class UsergroupDirectory(Protocol):
    async def members(self, usergroup_id: str) -> frozenset[str]:
        """The user ids in the group; raises if the group cannot be read."""
        ...


class Allowlist:
    def __init__(
        self,
        *,
        users: Iterable[str] = (),
        usergroups: Iterable[str] = (),
        channels: Iterable[str] = (),
        directory: UsergroupDirectory | None = None,
        cache_seconds: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.users = frozenset(users)
        self.usergroups = tuple(dict.fromkeys(usergroups))
        self.channels = frozenset(channels)
        self.directory = directory
        self._cache_seconds = cache_seconds
        self._clock = clock
        self._cache: dict[str, tuple[float, frozenset[str]]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def permits(self, user: str | None, channel: str | None = None) -> bool:
        if user and user in self.users:
            return True
        if channel and channel in self.channels:
            return True
        if user and self.directory is not None:
            for group in self.usergroups:
                if user in await self._members(group):
                    return True
        return False

    def decided(self, user: str | None, channel: str | None = None) -> bool | None:
        """`permits` from what is known without asking Slack, or None when that depends on a
        user group whose members are not cached (for the moments before a Slack ack)."""
        if (user and user in self.users) or (channel and channel in self.channels):
            return True
        if not user or self.directory is None or not self.usergroups:
            return False
        unknown = False
        for group in self.usergroups:
            cached = self._cache.get(group)
            if cached is None or self._clock() - cached[0] >= self._cache_seconds:
                unknown = True
            elif user in cached[1]:
                return True
        return None if unknown else False

    async def _members(self, group: str) -> frozenset[str]:
        cached = self._cache.get(group)
        if cached and self._clock() - cached[0] < self._cache_seconds:
            return cached[1]
        # One lookup per group at a time: a burst of sends shares the answer.
        lock = self._locks.setdefault(group, asyncio.Lock())
        async with lock:
            cached = self._cache.get(group)
            if cached and self._clock() - cached[0] < self._cache_seconds:
                return cached[1]
            assert self.directory is not None
            members = await self.directory.members(group)
            self._cache[group] = (self._clock(), members)
            return members
