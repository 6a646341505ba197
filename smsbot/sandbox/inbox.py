"""The messages the sandbox accepted, newest last; bounded, so a long run cannot exhaust memory."""

from __future__ import annotations

from collections import deque
from dataclasses import asdict, dataclass


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

    def to_json(self) -> dict[str, object]:
        out = asdict(self)
        out["ucs2_characters"] = list(self.ucs2_characters)
        return out


class Inbox:
    def __init__(self, max_messages: int) -> None:
        self._messages: deque[ReceivedMessage] = deque(maxlen=max_messages)
        self.received_total = 0  # counts messages the bounded deque already let go of too

    def add(self, message: ReceivedMessage) -> None:
        self._messages.append(message)
        self.received_total += 1

    def __len__(self) -> int:
        return len(self._messages)

    def to_json(self) -> list[dict[str, object]]:
        return [message.to_json() for message in self._messages]

    def clear(self) -> None:
        self._messages.clear()
