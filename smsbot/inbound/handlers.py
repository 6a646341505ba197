"""The seam between the inbound pipeline and what answers an inbound SMS.

A reply handler is offered each stored inbound SMS in turn (`InboundService(handlers=[...])`,
in order); the first whose `handle` returns something true takes it, and no handler after it
sees it. A handler that only needs to say "mine" returns True: the SMS is recorded `handled`,
with the handler's `name`. One that knows more (where it posted) returns a `Disposition`.
The thread-reply handler is always last, and always takes what reaches it.

Handlers must never answer an inbound SMS by SMS on their own initiative (an auto-responder
at the other end would make a loop); the only exception is the alert reply commands, whose
answer is what the person asked for.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from smsbot.store import Disposition, InboundRecord


@dataclass(frozen=True)
class InboundMessage:
    """One inbound SMS, stored. `text` is the message itself, held in memory only: the store
    keeps it only under SMSBOT_AUDIT__STORE_TEXT. Never log `sender` or `text`."""

    record: InboundRecord
    text: str
    sender: str  # the phone, E.164 when it is a number
    recipient: str  # the virtual number it was sent to
    sent_at: datetime | None  # when KPN says the phone sent it
    from_dutch_mobile: bool  # a phone smsbot could have texted (and so thread with)

    @property
    def request_id(self) -> str:
        return self.record.request_id


class ReplyHandler(Protocol):
    """Takes an inbound SMS (returns True or a `Disposition`) or leaves it for the next one
    (returns False). An exception is logged, the SMS recorded `failed`, and no later handler
    sees it (what the failing one did halfway must not be done twice differently)."""

    name: str  # recorded in the audit (`rule` in `smsbot audit --json`), at most 32 characters

    async def handle(self, message: InboundMessage) -> bool | Disposition: ...
