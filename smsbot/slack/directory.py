"""Who is who in the workspace, asked of the Slack Web API and cached for a short time.

The allowlist asks it for user group members (`usergroups.users.list`); `/sms @alice` and the
modal's person picker ask it for a phone number (`users.profile.get`, the `phone` field people
fill in on their profile). Answers are cached for `cache_seconds`, so a burst of sends costs one
lookup, and a profile or group change takes effect within minutes.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from slack_sdk.web.async_client import AsyncWebClient

T = TypeVar("T")


class SlackDirectory:
    def __init__(
        self,
        client: AsyncWebClient,
        cache_seconds: float = 300.0,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.cache_seconds = cache_seconds
        self._clock = clock
        self._cache: dict[tuple[str, str], tuple[float, object]] = {}

    async def members(self, usergroup_id: str) -> frozenset[str]:
        """The user ids in a user group; raises `SlackApiError` if the group cannot be read."""

        async def ask() -> frozenset[str]:
            answer = await self.client.usergroups_users_list(usergroup=usergroup_id)
            return frozenset(answer.get("users") or ())

        return await self._cached("members", usergroup_id, ask)

    async def phone_of(self, user_id: str) -> str | None:
        """The phone number on a person's Slack profile as they wrote it, or None if empty."""

        async def ask() -> str | None:
            answer = await self.client.users_profile_get(user=user_id)
            phone = ((answer.get("profile") or {}).get("phone") or "").strip()
            return phone or None

        return await self._cached("phone", user_id, ask)

    async def name_of(self, user_id: str) -> str:
        """The name people see for a user (display name, else real name, else the id)."""

        async def ask() -> str:
            answer = await self.client.users_info(user=user_id)
            user = answer.get("user") or {}
            profile = user.get("profile") or {}
            return (
                profile.get("display_name")
                or profile.get("real_name")
                or user.get("name")
                or user_id
            )

        return await self._cached("name", user_id, ask)

    async def _cached(self, kind: str, key: str, ask: Callable[[], Awaitable[T]]) -> T:
        hit = self._cache.get((kind, key))
        if hit is not None and self._clock() - hit[0] < self.cache_seconds:
            return hit[1]  # type: ignore[return-value]
        value = await ask()
        self._cache[(kind, key)] = (self._clock(), value)
        return value
