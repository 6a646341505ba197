"""The last reply handler: an inbound SMS goes to the conversation it answers.

A reply from phone P answers the newest SMS smsbot sent to P from the reply number within
`SMSBOT_REPLIES__WINDOW_HOURS` (read from the store, so every replica finds the same one). When
that SMS has a Slack message (its confirmation, or its alert's mirror), the reply is posted as
a thread reply under it; with none, it goes to `SMSBOT_REPLIES__CHANNEL` when one is set, and
is otherwise only audited. With Slack off (no poster), the bot's log says what became of it,
without the number or the text.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from smsbot.inbound.handlers import Disposition, InboundMessage
from smsbot.settings import Settings
from smsbot.sms.sender import number_sender
from smsbot.store import AuditRecord, InboundOutcome, Store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Reply:
    """What is posted into Slack: `who` sent it (a name, or the masked number), the text."""

    who: str
    text: str
    inbound_id: str  # the inbound SMS's record: the "Reply by SMS" button answers its phone
    # The Slack person who sent the SMS it answers, when it goes into their confirmation's
    # thread: the reply is said in their language, as the confirmation was.
    reader: str | None = None


class ReplyPoster(Protocol):
    """Posts a reply into Slack (`smsbot.slack.thread_replies`); returns the message's ts."""

    async def post(self, channel: str, reply: Reply, *, thread_ts: str | None = None) -> str: ...


class ThreadReplies:
    name = "thread_replies"

    def __init__(self, settings: Settings, store: Store, poster: ReplyPoster | None) -> None:
        self.settings = settings
        self.store = store
        self.poster = poster

    async def conversation(self, message: InboundMessage) -> AuditRecord | None:
        """The newest SMS to the phone from the reply number within the window, if any."""
        reply_number = self.settings.kpn.reply_number
        if not reply_number or not message.from_dutch_mobile:
            return None
        window = timedelta(hours=self.settings.replies.window_hours)
        return await self.store.conversation_for(
            message.sender,
            sender=number_sender(reply_number),
            since=self.store.clock() - window,
        )

    def who(self, message: InboundMessage, answered: AuditRecord | None) -> str:
        """The Slack person the answered SMS went to (picked by their profile's phone), else
        the number, masked unless SMSBOT_AUDIT__MASK_NUMBERS=false."""
        number = message.record.shown(message.sender, mask_numbers=self.settings.audit.mask_numbers)
        reply: Mapping[str, Any] = answered.reply if answered is not None else {}
        name = reply.get("recipient_name")
        return f"{name} ({number})" if name else number

    async def handle(self, message: InboundMessage) -> Disposition:
        answered = await self.conversation(message)
        conversation = answered.request_id if answered is not None else None
        threaded = answered is not None and answered.slack_channel and answered.slack_ts
        if self.poster is None:
            log.info(
                "reply %s received (Slack is off): %s",
                message.request_id,
                f"it answers SMS {conversation}"
                if conversation
                else "it answers no SMS sent "
                f"from the reply number in the last {self.settings.replies.window_hours:g} h",
            )
            return Disposition(InboundOutcome.LOGGED, conversation=conversation)
        reply = Reply(self.who(message, answered), message.text, message.request_id)
        if threaded:
            assert answered is not None and answered.slack_channel and answered.slack_ts
            reply = dataclasses.replace(reply, reader=answered.reply.get("user"))
            # The stored message may itself be a thread reply (an answer given by "Reply by
            # SMS", an SMS sent from a message's shortcut): then its thread is its parent's.
            thread_ts = answered.reply.get("thread_ts") or answered.slack_ts
            await self.poster.post(answered.slack_channel, reply, thread_ts=thread_ts)
            return Disposition(
                InboundOutcome.THREADED,
                conversation=conversation,
                slack_channel=answered.slack_channel,
                slack_ts=thread_ts,
            )
        channel = self.settings.replies.channel
        if channel:
            ts = await self.poster.post(channel, reply)
            return Disposition(
                InboundOutcome.POSTED, conversation=conversation, slack_channel=channel, slack_ts=ts
            )
        log.info(
            "reply %s has no conversation and no replies channel: audited only", message.request_id
        )
        return Disposition(InboundOutcome.DROPPED, conversation=conversation)
