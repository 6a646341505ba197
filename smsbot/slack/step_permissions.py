"""Who may add the "Send SMS" step to a workflow: Slack's own control, kept in sync with the
allowlist.

A `function_executed` event names no person unless the step has an interactivity input, and
its `function.app_id` is always smsbot's own: nothing in it tells one workflow from another.
So the question "may this unnamed run send?" is answered where Slack can answer it, when a
workflow is built: the step's distribution permissions (`functions.distributions.permissions.set`,
Slack's reference: no scope needed, the app's `function_app_id` and the step's
`function_callback_id`) say who may add the step to their workflows. smsbot sets them to the
people on the allowlist (`permission_type: named_entities` with the listed users and the members
of the listed user groups; nobody listed: `app_collaborators`), at start-up and with
`smsbot check`. Allowlisted channels cannot be expressed there and give nobody the step.

`StepPermissions` is also the live list of app ids whose unnamed runs may send
(`SmsService.allowed_workflows`): smsbot's own app id, and only while the last sync with Slack
succeeded. A person Slack does name (the interactor) is still checked against the allowlist.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from smsbot.policy.allowlist import Allowlist

if TYPE_CHECKING:
    from smsbot.service import SmsService
    from smsbot.settings import Settings

log = logging.getLogger(__name__)

STEP_CALLBACK_ID = "send_sms"  # manifest.yml's function, workflow_step.CALLBACK_ID
SYNC = "allowlist"  # SMSBOT_SLACK__STEP_PERMISSIONS: keep them in sync with the allowlist
OFF = "off"  # leave Slack's setting alone; then runs naming no person may not send
# The start waits this long for the sync at most; Slack unreachable must not hold it up.
SYNC_SECONDS = 10.0


@dataclass(frozen=True)
class Distribution:
    permission_type: str
    user_ids: frozenset[str] = frozenset()

    def describe(self) -> str:
        if self.permission_type == "named_entities":
            people = len(self.user_ids)
            return f"{people} {'person' if people == 1 else 'people'} on the allowlist"
        if self.permission_type == "app_collaborators":
            return "only the app's collaborators (nobody is on the allowlist)"
        return self.permission_type


class StepPermissions:
    def __init__(
        self,
        client: AsyncWebClient,
        settings: Settings,
        allowlist: Allowlist,
        *,
        bot_id: str | None = None,
    ) -> None:
        self.client = client
        self.settings = settings
        self.allowlist = allowlist
        self.app_id: str | None = settings.slack.app_id
        self.bot_id = bot_id  # auth.test's, when the caller has asked it already
        self.in_sync = False  # Slack has the distribution the allowlist calls for
        self.named = False  # ... and it names people (not: nobody is on the allowlist)

    # A Collection of app ids, for `check_access(allowed_workflows=...)`: smsbot's own while
    # Slack limits the step to allowlisted people (an empty allowlist lets nobody send).
    def __contains__(self, app_id: object) -> bool:
        return app_id is not None and app_id in list(self)

    def __iter__(self) -> Iterator[str]:
        return iter([self.app_id] if self.in_sync and self.named and self.app_id else [])

    def __len__(self) -> int:
        return len(list(iter(self)))

    async def wanted(self) -> Distribution:
        """The distribution the allowlist calls for (asks Slack for user group members)."""
        people = set(self.allowlist.users)
        if self.allowlist.directory is not None:
            for group in self.allowlist.usergroups:
                people |= await self.allowlist.directory.members(group)
        if not people:
            return Distribution("app_collaborators")
        return Distribution("named_entities", frozenset(people))

    async def current(self) -> Distribution:
        answer = await self._call("functions.distributions.permissions.list", {})
        users = answer.get("users") or []
        ids = {u.get("user_id") for u in users if isinstance(u, dict)}
        return Distribution(answer.get("permission_type") or "", frozenset(i for i in ids if i))

    async def sync(self) -> tuple[bool, Distribution]:
        """Sets Slack's distribution to the allowlist's; returns whether it changed, and it.
        Raises `SlackApiError` (or a connection error) when Slack refused or did not answer;
        unnamed runs may not send then."""
        self.in_sync = False
        wanted = await self.wanted()
        self.named = wanted.permission_type == "named_entities"
        current = await self.current()
        changed = current != wanted
        if changed:
            args: dict[str, Any] = {"permission_type": wanted.permission_type}
            if wanted.user_ids:
                args["user_ids"] = sorted(wanted.user_ids)
            await self._call("functions.distributions.permissions.set", args)
        self.in_sync = True
        return changed, wanted

    async def _call(self, method: str, args: dict[str, Any]) -> Any:
        if self.app_id is None:
            self.app_id = await own_app_id(self.client, self.bot_id)
        body = {"function_app_id": self.app_id, "function_callback_id": STEP_CALLBACK_ID, **args}
        return await self.client.api_call(method, json=body)


async def own_app_id(client: AsyncWebClient, bot_id: str | None = None) -> str:
    """smsbot's app id, from its bot user (`auth.test`'s bot_id, then `bots.info`)."""
    if bot_id is None:
        bot_id = (await client.auth_test())["bot_id"]
    answer = await client.bots_info(bot=bot_id)
    return (answer.get("bot") or {})["app_id"]


async def sync_step_permissions(service: SmsService) -> bool:
    """At start-up: the step's permissions as the allowlist says (when configured so). Never
    raises; returns whether they are in sync, and logs what to do when not."""
    permissions = service.allowed_workflows
    if not isinstance(permissions, StepPermissions):
        return False
    try:
        async with asyncio.timeout(SYNC_SECONDS):
            changed, wanted = await permissions.sync()
    except (SlackApiError, OSError, TimeoutError) as exc:
        error = exc.response.get("error") if isinstance(exc, SlackApiError) else exc
        log.warning(
            "could not set who may add the Send SMS step to workflows (%s); until it is set, "
            "workflow runs that name no person may not send. Run `smsbot check` for details.",
            error,
        )
        return False
    log.info(
        "Send SMS step: %s may add it to workflows%s",
        wanted.describe(),
        " (updated)" if changed else "",
    )
    return True


RETIRED_WORKFLOWS = (
    "SMSBOT_ALLOW__WORKFLOWS is retired: Slack names smsbot's own app in every workflow run, so "
    "it could not tell workflows apart (listing the app let everyone who builds workflows send). "
    "Remove it. Who may add the Send SMS step to workflows is now set in Slack to the people on "
    "the allowlist, at start-up and by `smsbot check` (SMSBOT_SLACK__STEP_PERMISSIONS=allowlist, "
    "the default); to let one person's runs through instead, give the step an interactivity "
    "input and put that person on the allowlist."
)


def retired_settings(settings: Settings) -> list[str]:
    """Settings that no longer mean anything, each with what to do instead."""
    return [RETIRED_WORKFLOWS] if settings.allow.workflows else []
