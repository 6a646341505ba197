"""What KPN's delivery reports say, shown to the Slack person who sent the SMS.

Two parts, built in this order (`smsbot.slack.parts`): `SlackConfirmations` knows where each
SMS's confirmation is (`SlackNotifier` tells it when it posts one) and keeps its delivery line
up to date; `SlackDeliveryUpdates`, a `DeliveryRecorder` watcher (`smsbot.deliveries`), is told
of every report that changed an SMS:

- The confirmation message (its channel and ts stored with the SMS by `SlackNotifier`) is
  updated in place with `chat.update`: "✓ delivered 12:03:04 CET (4 s)", "✗ not delivered:
  recipient is temporarily unreachable or out of coverage (007)". The update replaces only the
  message's attachments, where the delivery line lives: Slack keeps blocks an update does not
  name, so the confirmation (and the SMS text quoted in it, which the store no longer holds)
  stays as it was posted.
- A failure, rejection or expiry also tells the sender privately (`SlackNotifier.tell_privately`:
  the response_url while Slack takes it, else ephemerally in the confirmation's channel, else a
  direct message, as when the confirmation went to a DM).
- All of it in the sender's Slack language (`smsbot.slack.texts`).
- A report about an SMS whose send ended `unknown` (the sender was told it may not have
  arrived) tells the sender what became of it after all.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from smsbot.settings import Settings
from smsbot.slack import blocks
from smsbot.slack.directory import SlackDirectory
from smsbot.slack.escaping import escape_mrkdwn
from smsbot.slack.notifier import SlackNotifier, reader_texts
from smsbot.sms.request import Surface
from smsbot.store import AuditRecord, Delivery, DeliveryApplied, Store

log = logging.getLogger(__name__)

# The surfaces whose sender is a Slack person (`reply["user"]`).
PEOPLE_SURFACES = frozenset(
    {Surface.SLACK_COMMAND, Surface.SLACK_MODAL, Surface.SLACK_SHORTCUT, Surface.WORKFLOW}
)
_COLOR = {"delivered": "#2eb886", "failure": "#e01e5a"}


def _mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": blocks.fit(escape_mrkdwn(text)), "verbatim": True}


def delivery_attachment(line: str, state: Delivery) -> dict[str, Any]:
    """The attachment a confirmation carries its delivery line in."""
    attachment: dict[str, Any] = {
        "fallback": line,
        "blocks": [{"type": "context", "elements": [_mrkdwn(line)]}],
    }
    if state is Delivery.DELIVERED:
        attachment["color"] = _COLOR["delivered"]
    elif state.is_failure:
        attachment["color"] = _COLOR["failure"]
    return attachment


class SlackConfirmations:
    """Where each SMS's Slack confirmation is, and the delivery line it shows. Built before the
    notifier, which hands `posted` each confirmation it posts."""

    def __init__(
        self,
        client: AsyncWebClient,
        settings: Settings,
        directory: SlackDirectory | None,
        store: Store,
    ) -> None:
        self.client = client
        self.settings = settings
        self.directory = directory  # for the reader's Slack language
        self.store = store
        self._updating: dict[str, tuple[asyncio.Lock, int]] = {}  # lock, its users

    async def posted(self, request_id: str, channel: str, ts: str) -> None:
        """Store where SMS `request_id`'s confirmation is (`SlackNotifier`'s `remember`). A
        report may have come before the confirmation was posted (KPN can be faster than
        Slack): then that report's state is shown now, as its watcher found nothing to update."""
        await self.store.set_conversation(request_id, channel, ts)
        await self.show_delivery(request_id)

    async def show_delivery(self, request_id: str) -> None:
        """The confirmation, if it is known yet, shows the SMS's delivery as stored now. One
        update at a time per SMS, each reading the newest state: two reports in quick
        succession (accepted, delivered) can never leave the older one showing."""
        lock, users = self._updating.get(request_id, (asyncio.Lock(), 0))
        self._updating[request_id] = (lock, users + 1)
        try:
            async with lock:
                record = await self.store.get(request_id)
                if record is None or record.delivery is None:
                    return
                if not (record.slack_channel and record.slack_ts):
                    return
                # The confirmation's reader is its sender: their language.
                texts = await reader_texts(self.directory, record.reply.get("user"))
                line = texts.delivery_line(record, self.settings.timezone)
                await self.client.chat_update(
                    channel=record.slack_channel,
                    ts=record.slack_ts,
                    text=texts.delivery_update.format(
                        to=recipient(record, self.settings), line=line
                    ),
                    attachments=[delivery_attachment(line, record.delivery)],
                )
        finally:
            lock, users = self._updating[request_id]
            if users == 1:
                del self._updating[request_id]
            else:
                self._updating[request_id] = (lock, users - 1)


def recipient(record: AuditRecord, settings: Settings) -> str:
    """The number as shown (masked unless configured otherwise), after the person's name."""
    number = record.shown_number(mask_numbers=settings.audit.mask_numbers) or "?"
    name = record.reply.get("recipient_name")
    return f"@{name} ({number})" if name else number


class SlackDeliveryUpdates:
    """The `DeliveryWatcher` of the Slack surfaces: the confirmation updated, the sender told
    of what did not arrive (through the notifier's private answers)."""

    def __init__(self, confirmations: SlackConfirmations, notifier: SlackNotifier) -> None:
        self.confirmations = confirmations
        self.notifier = notifier
        self.settings = notifier.settings

    async def __call__(self, applied: DeliveryApplied) -> None:
        record = applied.record
        if record.surface not in PEOPLE_SURFACES or record.delivery is None:
            return
        await self.confirmations.show_delivery(record.request_id)
        to = recipient(record, self.settings)
        if applied.went_out and record.delivery is not Delivery.ACCEPTED:
            texts = await self.notifier.texts_for(record.reply.get("user"))
            line = texts.delivery_line(record, self.settings.timezone)
            await self._tell_sender(record, texts.went_out_after_all.format(to=to, line=line))
        elif record.delivery.is_failure:
            texts = await self.notifier.texts_for(record.reply.get("user"))
            reason = texts.failure_reason(record)
            await self._tell_sender(
                record,
                texts.did_not_reach.format(to=to, reason=reason, request_id=record.request_id),
            )

    async def _tell_sender(self, record: AuditRecord, text: str) -> None:
        if not record.reply.get("user"):
            return
        message_blocks = [{"type": "section", "text": _mrkdwn(text)}]
        # Where the confirmation is, when there is one: an ephemeral answer there (a DM's D…
        # channel takes none, so the sender gets a direct message).
        reply = {**record.reply, "channel": record.slack_channel or record.reply.get("channel")}
        await self.notifier.tell_privately(
            reply, blocks.fit(text, blocks.MESSAGE_TEXT_LIMIT), message_blocks
        )
