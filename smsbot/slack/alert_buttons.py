"""The buttons on an alert group's mirror message: Acknowledge, Silence 1h / 4h / 24h.

A surface like the others: it acks Slack first, checks the allowlist (the same one that
decides who may send), and hands the action to `AlertGroups`, which records it, asks
Alertmanager for the silence, and updates the message and its thread. The person clicking gets
the outcome as an ephemeral answer; someone the allowlist does not name gets told so and
nothing happens.

One of `smsbot.slack.app.LISTENERS`: `register(app, deps)` adds the buttons when the bot has
alert groups (`deps.alert_groups`, built before the Bolt app by `smsbot.alerts.parts`).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Protocol

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond

from smsbot.alerts.group_mirror import ACK_ACTION, SILENCE_ACTIONS
from smsbot.alerts.groups import Actor, AlertGroups
from smsbot.slack.texts import ENGLISH

if TYPE_CHECKING:
    from smsbot.slack.context import SlackDeps

log = logging.getLogger(__name__)

# The alert mirror and its buttons are English by design (team-level: no one reader), so the
# answer to a click is too.
NOT_ALLOWED = ENGLISH.alert_button_not_allowed


class Permits(Protocol):
    async def permits(self, user: str | None, channel: str | None = None) -> bool: ...


def register(app: AsyncApp, deps: SlackDeps) -> None:
    """The buttons, acting on `deps.alert_groups` for whom the service's allowlist permits;
    none without alert groups (their messages carry no buttons then)."""
    if deps.alert_groups is not None:
        register_buttons(app, deps.alert_groups, deps.service.allowlist)


def register_buttons(app: AsyncApp, groups: AlertGroups, allowlist: Permits) -> None:
    async def act(body: dict[str, Any], respond: AsyncRespond, silence_hours: int | None) -> None:
        user = body.get("user") or {}
        user_id = user.get("id")
        channel = (body.get("channel") or {}).get("id")
        if not await allowlist.permits(user_id, channel):
            await respond(response_type="ephemeral", replace_original=False, text=NOT_ALLOWED)
            return
        [action] = body.get("actions") or [{}]
        group_id = str(action.get("value") or "")
        actor = Actor(name=user.get("name") or user_id or "someone", via="slack", audit=user_id)
        if silence_hours is None:
            done = await groups.acknowledge(group_id, actor)
        else:
            done = await groups.silence(group_id, actor, timedelta(hours=silence_hours))
        await respond(response_type="ephemeral", replace_original=False, text=done.message)

    def listener(silence_hours: int | None):
        # Bolt passes arguments by name: the hours are bound here, not a parameter.
        async def on_click(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
            await ack()
            await act(body, respond, silence_hours)

        return on_click

    app.action(ACK_ACTION)(listener(None))
    for action_id, hours in SILENCE_ACTIONS.items():
        app.action(action_id)(listener(hours))
