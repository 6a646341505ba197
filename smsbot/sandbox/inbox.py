"""What the phones of the sandbox hold, newest last: the SMS they received (with what the
delivery reports say of each) and the replies they sent. Both bounded, so a long run cannot
exhaust memory."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from smsbot.sandbox.delivery import DeliveryTrack
from smsbot.sandbox.posting import PostTrack

_NO_REPORTS: dict[str, Any] = {
    "delivery": None,
    "delivered_at": None,
    "delivery_error": None,
    "reports": [],
}


@dataclass(frozen=True)
class ReceivedMessage:
    document_id: str
    sender: str
    mobile_number: str  # E.164
    content: str
    encoding: str  # "GSM-7" or "UCS-2"
    segments: int
    received_at: str  # ISO 8601 UTC
    # The characters that made it UCS-2, so a reader sees why a short text took two parts.
    ucs2_characters: tuple[str, ...] = ()
    webhook_url: str | None = None
    expirein: str | None = None
    # The reports issued for it; None when the send asked for none (no webhook_url).
    delivery: DeliveryTrack | None = field(default=None, compare=False)

    def to_json(self) -> dict[str, object]:
        return {
            "document_id": self.document_id,
            "sender": self.sender,
            "mobile_number": self.mobile_number,
            "content": self.content,
            "encoding": self.encoding,
            "segments": self.segments,
            "ucs2_characters": list(self.ucs2_characters),
            "received_at": self.received_at,
            "webhook_url": self.webhook_url,
            "expirein": self.expirein,
            **(self.delivery.to_json() if self.delivery is not None else _NO_REPORTS),
        }


@dataclass(frozen=True)
class SentReply:
    """An SMS a phone sent to a virtual number, and how its post to the webhook went."""

    message_id: str
    sender: str  # E.164, the phone
    recipient: str  # E.164, the virtual number
    content: str
    sent_at: str  # ISO 8601 UTC
    payload: dict[str, str]  # exactly what was posted
    webhook: PostTrack = field(default_factory=PostTrack, compare=False)

    def to_json(self) -> dict[str, object]:
        return {
            "message_id": self.message_id,
            "from": self.sender,
            "to": self.recipient,
            "content": self.content,
            "sent_at": self.sent_at,
            "payload": self.payload,
            "webhook": self.webhook.to_json(),
        }


class Inbox:
    def __init__(self, max_messages: int) -> None:
        self._messages: deque[ReceivedMessage] = deque(maxlen=max_messages)
        self._replies: deque[SentReply] = deque(maxlen=max_messages)
        self.received_total = 0  # counts messages the bounded deque already let go of too
        self.replies_total = 0

    def add(self, message: ReceivedMessage) -> None:
        self._messages.append(message)
        self.received_total += 1

    def add_reply(self, reply: SentReply) -> None:
        self._replies.append(reply)
        self.replies_total += 1

    def __len__(self) -> int:
        return len(self._messages)

    def replies_count(self) -> int:
        return len(self._replies)

    def newest_to(self, mobile_number: str) -> ReceivedMessage | None:
        for message in reversed(self._messages):
            if message.mobile_number == mobile_number:
                return message
        return None

    def to_json(self) -> list[dict[str, object]]:
        return [message.to_json() for message in self._messages]

    def replies_json(self) -> list[dict[str, object]]:
        return [reply.to_json() for reply in self._replies]

    def clear(self) -> None:
        """Empty both directions; the totals count on (`reset_totals` zeroes them)."""
        self._messages.clear()
        self._replies.clear()

    def reset_totals(self) -> None:
        self.received_total = self.replies_total = 0
