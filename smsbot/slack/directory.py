"""Who is who in the workspace, asked of the Slack Web API and cached for a short time.

The allowlist asks it for user group members (`usergroups.users.list`); `/sms @alice`, the
modal's person picker and the workflow step ask it for a person (`users.info` with the locale:
one call carries the name people see, the profile's phone and the Slack language). Answers are
cached for `cache_seconds`, so a burst of sends costs one lookup, and a profile or group change
takes effect within minutes. `cached_person` answers from the cache alone, for the moments
before an ack where nothing may wait on Slack.

`phone_field` names a custom profile field (its label, e.g. "Mobile", or its id, `Xf...`) that
holds the phone instead of the standard Phone field: then `users.profile.get` is asked too
(custom fields are only in its answer), and the field's id is found once with
`team.profile.get`. An empty custom field falls back to the standard Phone.

`team_id` (an org-wide install: the token spans workspaces) goes with `usergroups.users.list`,
which Slack then needs to know the workspace.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from slack_sdk.web.async_client import AsyncWebClient

T = TypeVar("T")


class UnknownProfileField(LookupError):
    """SMSBOT_SLACK__PHONE_FIELD names no profile field of the workspace."""

    def __init__(self, field: str) -> None:
        self.field = field  # for the reader's catalogue (`Texts.profile_field_missing`)
        super().__init__(
            f"The workspace has no profile field {field!r} (SMSBOT_SLACK__PHONE_FIELD): ask "
            "your Slack admin to fix the setting or add the field (Admin > Profiles)."
        )


@dataclass(frozen=True)
class Person:
    id: str
    name: str  # display name, else real name, else the user name, else the id
    phone: str | None  # as the person wrote it on their profile; None when empty
    locale: str | None = None  # Slack's language for them, e.g. "nl-NL"
    phone_source: str = "Phone"  # the profile field people fill in, for "how to fix it"


class SlackDirectory:
    def __init__(
        self,
        client: AsyncWebClient,
        cache_seconds: float = 300.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        team_id: str | None = None,
        phone_field: str | None = None,
    ) -> None:
        self.client = client
        self.cache_seconds = cache_seconds
        self.team_id = team_id
        self.phone_field = phone_field
        self._phone_field_id: str | None = None
        self._clock = clock
        self._cache: dict[tuple[str, str], tuple[float, object]] = {}

    async def members(self, usergroup_id: str) -> frozenset[str]:
        """The user ids in a user group; raises `SlackApiError` if the group cannot be read."""

        async def ask() -> frozenset[str]:
            extra = {"team_id": self.team_id} if self.team_id else {}
            answer = await self.client.usergroups_users_list(usergroup=usergroup_id, **extra)
            return frozenset(answer.get("users") or ())

        return await self._cached("members", usergroup_id, ask)

    async def person(self, user_id: str) -> Person:
        """Name, profile phone and locale; raises `SlackApiError` if Slack will not say."""

        async def ask() -> Person:
            answer = await self.client.users_info(user=user_id, include_locale=True)
            user = answer.get("user") or {}
            profile = user.get("profile") or {}
            name = (
                profile.get("display_name")
                or profile.get("real_name")
                or user.get("name")
                or user_id
            )
            phone = (profile.get("phone") or "").strip() or None
            if not self.phone_field:
                return Person(user_id, name, phone, user.get("locale"))
            custom = await self._custom_phone(user_id)
            return Person(
                user_id, name, custom or phone, user.get("locale"), phone_source=self.phone_field
            )

        return await self._cached("person", user_id, ask)

    async def _custom_phone(self, user_id: str) -> str | None:
        field_id = await self._field_id()
        answer = await self.client.users_profile_get(user=user_id)
        fields = (answer.get("profile") or {}).get("fields") or {}
        value = (fields.get(field_id) or {}).get("value") if isinstance(fields, dict) else None
        return (value or "").strip() or None

    async def _field_id(self) -> str:
        """The custom field's id; raises `UnknownProfileField` when the workspace has none."""
        if self._phone_field_id is None:
            wanted = (self.phone_field or "").strip()
            answer = await self.client.team_profile_get()
            for field in (answer.get("profile") or {}).get("fields") or []:
                if wanted in (field.get("id"), field.get("label")) or (
                    (field.get("label") or "").casefold() == wanted.casefold()
                ):
                    self._phone_field_id = field["id"]
                    break
            else:
                raise UnknownProfileField(wanted)
        return self._phone_field_id

    def cached_person(self, user_id: str) -> Person | None:
        """The person if a recent answer is cached; never asks Slack."""
        return self._fresh("person", user_id)  # type: ignore[return-value]

    async def phone_of(self, user_id: str) -> str | None:
        """The phone number on a person's Slack profile as they wrote it, or None if empty."""
        return (await self.person(user_id)).phone

    async def name_of(self, user_id: str) -> str:
        """The name people see for a user (display name, else real name, else the id)."""
        return (await self.person(user_id)).name

    def _fresh(self, kind: str, key: str) -> object | None:
        hit = self._cache.get((kind, key))
        if hit is not None and self._clock() - hit[0] < self.cache_seconds:
            return hit[1]
        return None

    async def _cached(self, kind: str, key: str, ask: Callable[[], Awaitable[T]]) -> T:
        hit = self._fresh(kind, key)
        if hit is not None:
            return hit  # type: ignore[return-value]
        value = await ask()
        self._cache[(kind, key)] = (self._clock(), value)
        return value
