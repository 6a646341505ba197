"""A route's recipients as phone numbers: numbers as configured, Slack people by profile phone.

A Slack user's number is the `phone` field of their profile; a user group stands for its
members' numbers. A person without a (valid Dutch mobile) number on their profile is skipped
with a warning naming the user id, so one incomplete profile does not stop the page to others.
Failing to ask Slack at all raises `RecipientLookupFailed`: the webhook then answers 503 and
the sender retries, rather than the alert being dropped.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Protocol

from smsbot.alerts.routing import Recipient
from smsbot.errors import InvalidNumber
from smsbot.sms.numbers import normalize_number

log = logging.getLogger(__name__)


class PeopleDirectory(Protocol):
    """What `SlackDirectory` offers that recipients need."""

    async def members(self, usergroup_id: str) -> frozenset[str]: ...

    async def phone_of(self, user_id: str) -> str | None: ...

    async def name_of(self, user_id: str) -> str: ...


class RecipientLookupFailed(Exception):
    """Slack could not be asked for a user's or a group's numbers."""


class RecipientResolver:
    def __init__(self, directory: PeopleDirectory | None) -> None:
        self.directory = directory
        # Whose profile gave each number, as last resolved: a reply from that phone is then
        # "acknowledged by Alice", not by a masked number.
        self._owners: dict[str, str] = {}

    async def name_for(self, number: str) -> str | None:
        """The name of the Slack person whose profile phone `number` is, when it came from
        one (and the directory tells names); None for a configured number."""
        user = self._owners.get(number)
        if user is None or self.directory is None:
            return None
        try:
            return await self.directory.name_of(user) or None
        except Exception:
            log.warning("could not read the name of alert recipient %s", user)
            return None

    async def numbers(self, recipients: Iterable[Recipient]) -> list[str]:
        """E.164 numbers, each once, in the order configured."""
        found: dict[str, None] = {}
        for recipient in recipients:
            if recipient.kind == "number":
                found[recipient.value] = None
                continue
            for user in await self._users(recipient):
                number = await self._phone(user)
                if number:
                    found[number] = None
                    self._owners[number] = user
        return list(found)

    async def _users(self, recipient: Recipient) -> list[str]:
        if recipient.kind == "user":
            return [recipient.value]
        directory = self._require_directory(recipient)
        try:
            return sorted(await directory.members(recipient.value))
        except Exception as exc:
            raise RecipientLookupFailed(
                f"could not read Slack user group {recipient.value}: {exc}"
            ) from exc

    async def _phone(self, user: str) -> str | None:
        directory = self._require_directory(Recipient("user", user))
        try:
            raw = await directory.phone_of(user)
        except Exception as exc:
            raise RecipientLookupFailed(f"could not read Slack profile of {user}: {exc}") from exc
        if not raw:
            log.warning("alert recipient %s has no phone number on their Slack profile", user)
            return None
        try:
            return normalize_number(raw)
        except InvalidNumber:
            # The number itself stays out of the log: it is personal data, and wrong anyway.
            log.warning("alert recipient %s: profile phone is not a Dutch mobile number", user)
            return None

    def _require_directory(self, recipient: Recipient) -> PeopleDirectory:
        if self.directory is None:
            raise RecipientLookupFailed(
                f"route recipient {recipient.value} is a Slack {recipient.kind}, but no Slack "
                "bot token is configured to look up numbers (set SMSBOT_SLACK__BOT_TOKEN)"
            )
        return self.directory
