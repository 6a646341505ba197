"""One Slack message per alert group in its route's mirror channel, kept up to date, with its
events in the message's thread.

The message shows the group's state (firing; acknowledged by whom and how; silenced until
when; resolved), the phones paged (masked, with each one's code) and, while the group is open,
the buttons Acknowledge and Silence 1h / 4h / 24h (`smsbot.slack.alert_buttons`). It is posted
when the group's first SMS is mirrored or its first event happens, whichever comes first, and
updated in place (`chat.update`) after every event. Should two replicas post it at once, the
store keeps the first one recorded and the other replica deletes its own. Each alert SMS (the
mirror line with its document_id), each acknowledgement, silence, escalation and resolve is a
reply in its thread, in the order they happened in this process (one lock per group).

The `GroupEvents` of `AlertGroups`, and the thread finder of `SlackMirror`.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from typing import Any, Protocol

from slack_sdk.web.async_client import AsyncWebClient

from smsbot.alerts.groups import title
from smsbot.slack.escaping import escape_mrkdwn
from smsbot.sms.numbers import mask_number
from smsbot.store import AuditRecord
from smsbot.store.alert_groups import AlertGroupRecord, GroupState, PagedPhone
from smsbot.timezone import local_time

log = logging.getLogger(__name__)

ACK_ACTION = "alert_group_ack"
# Silence buttons: action id -> hours; the value of every button is the group's id.
SILENCE_ACTIONS = {
    "alert_group_silence_1h": 1,
    "alert_group_silence_4h": 4,
    "alert_group_silence_24h": 24,
}
SUMMARY_CHARACTERS = 600


class GroupsView(Protocol):
    """What the mirror reads and records of the groups' state: the store's (`Store`), so the
    mirror is built before `AlertGroups`, which tells it the groups' events."""

    async def alert_group(self, group_id: str) -> AlertGroupRecord | None: ...

    async def paged_phones(self, group_id: str) -> list[PagedPhone]: ...

    async def claim_mirror(
        self, group_id: str, channel: str, ts: str
    ) -> tuple[str, str] | None: ...


class GroupMirror:
    def __init__(
        self,
        client: AsyncWebClient,
        store: GroupsView,
        *,
        timezone: str,
        mask_numbers: bool = True,
    ) -> None:
        self.client = client
        self.store = store
        self.timezone = timezone
        self.mask_numbers = mask_numbers
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    async def thread_of(self, group_id: str) -> tuple[str, str] | None:
        """The channel and ts of the group's message, posted now if it has none yet; None
        when the group mirrors nowhere."""
        async with self._locks[group_id]:
            group = await self.store.alert_group(group_id)
            if group is None:
                return None
            return await self._ensure(group)

    async def group_event(self, group: AlertGroupRecord, event: str) -> None:
        async with self._locks[group.id]:
            thread = await self._ensure(group)
            if thread is None:
                return
            await self.client.chat_postMessage(
                channel=thread[0], thread_ts=thread[1], text=escape_mrkdwn(_sentence(event))
            )
            await self._update(group.id, thread)

    async def refresh(self, group_id: str) -> None:
        """Update the group's message in place (a new SMS, a delivery report)."""
        async with self._locks[group_id]:
            group = await self.store.alert_group(group_id)
            if group is not None and group.mirror_channel and group.mirror_ts:
                await self._update(group_id, (group.mirror_channel, group.mirror_ts))

    async def delivery_changed(self, record: AuditRecord) -> None:
        """A `DeliveryRecorder` watcher: an alert group's SMS reported on, shown per phone."""
        group_id = record.reply.get("alert_group")
        if group_id:
            await self.refresh(group_id)

    async def _update(self, group_id: str, thread: tuple[str, str]) -> None:
        current = await self.store.alert_group(group_id)
        if current is None:
            return
        text, blocks = await self._message(current)
        await self.client.chat_update(channel=thread[0], ts=thread[1], text=text, blocks=blocks)

    async def _ensure(self, group: AlertGroupRecord) -> tuple[str, str] | None:
        if group.mirror_ts and group.mirror_channel:
            return group.mirror_channel, group.mirror_ts
        if not group.mirror_channel:
            return None
        text, blocks = await self._message(group)
        answer = await self.client.chat_postMessage(
            channel=group.mirror_channel,
            text=text,
            blocks=blocks,
            unfurl_links=False,
            unfurl_media=False,
        )
        channel, ts = answer["channel"], answer["ts"]
        held = await self.store.claim_mirror(group.id, channel, ts)
        if held is not None and held != (channel, ts):
            # Another replica posted the group's message first: one message per group.
            await self.client.chat_delete(channel=channel, ts=ts)
        return held or (channel, ts)

    async def _message(self, group: AlertGroupRecord) -> tuple[str, list[dict[str, Any]]]:
        headline = f"{self._state(group)} · route {escape_mrkdwn(group.route)}"
        lines = [headline]
        if group.summary:
            lines.append(
                "> " + escape_mrkdwn(group.summary[:SUMMARY_CHARACTERS]).replace("\n", " ")
            )
        blocks: list[dict[str, Any]] = [
            {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)}}
        ]
        phones = await self.store.paged_phones(group.id)
        if phones:
            paged = ", ".join(self._paged(phone) for phone in phones)
            blocks.append(
                {"type": "context", "elements": [{"type": "mrkdwn", "text": f"Paged: {paged}"}]}
            )
        if group.is_open:
            blocks.append(
                {"type": "actions", "block_id": "alert_group", "elements": _buttons(group)}
            )
        return headline, blocks

    def _state(self, group: AlertGroupRecord) -> str:
        name = escape_mrkdwn(title(group))
        if group.state is GroupState.RESOLVED:
            return f":white_check_mark: *Resolved*: {name}"
        if group.state is GroupState.SILENCED and group.silenced_until:
            until = local_time(group.silenced_until, self.timezone)
            return f":no_bell: *Silenced* until {until}: {name}"
        if group.acked_by:
            by = escape_mrkdwn(group.acked_by)
            via = "SMS" if group.acked_via == "sms" else "Slack"
            return f":eyes: *Acknowledged* by {by} ({via}): {name}"
        return f":rotating_light: *Firing*: {name}"

    def _paged(self, paged: PagedPhone) -> str:
        """`alice +31 6 ****2222 (code 1): delivered`."""
        shown = mask_number(paged.phone) if self.mask_numbers else paged.phone
        who = f"{escape_mrkdwn(paged.name)} {shown}" if paged.name else shown
        state = paged.delivery or paged.outcome
        return f"{who} (code {paged.code})" + (f": {state}" if state else "")


def _buttons(group: AlertGroupRecord) -> list[dict[str, Any]]:
    buttons = []
    if not group.acked_by:
        buttons.append(_button(ACK_ACTION, "Acknowledge", group.id, style="primary"))
    for action, hours in SILENCE_ACTIONS.items():
        buttons.append(_button(action, f"Silence {hours}h", group.id))
    return buttons


def _button(action_id: str, label: str, value: str, *, style: str | None = None) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "action_id": action_id,
        "text": {"type": "plain_text", "text": label},
        "value": value,
    }
    if style:
        button["style"] = style
    return button


def _sentence(event: str) -> str:
    return event[:1].upper() + event[1:] + ("" if event.endswith(".") else ".")
