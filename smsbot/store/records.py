"""What the store hands out and takes in: audit records, new rows, and rate caps."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from smsbot.sms.numbers import mask_number
from smsbot.sms.request import Outcome, SendRequest, SendResult, Surface

# Outcomes that used up a send: they count against rate limits and storm caps. Refused, invalid
# and failed requests sent nothing, so a person who got them wrong can correct and try again.
COUNTED_OUTCOMES = (Outcome.QUEUED, Outcome.SENDING, Outcome.SENT, Outcome.UNKNOWN)


@dataclass(frozen=True)
class AuditRecord:
    """One request as stored: who asked for what, and what became of it."""

    request_id: str
    time: datetime
    updated_at: datetime
    actor: str
    surface: Surface
    channel: str | None
    recipient: str | None  # E.164, or None when the number given was not valid
    text_length: int
    parts: int | None
    encoding: str | None
    sender: str | None
    outcome: Outcome
    rule: str | None
    document_id: str | None
    error: str | None
    idempotency_key: str
    attempts: int
    reply: Mapping[str, Any]
    text: str | None
    retry_at: datetime | None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> AuditRecord:
        return cls(
            request_id=row["id"],
            time=row["created_at"],
            updated_at=row["updated_at"],
            actor=row["actor"],
            surface=Surface(row["surface"]),
            channel=row["channel"],
            recipient=row["recipient"],
            text_length=row["text_length"],
            parts=row["parts"],
            encoding=row["encoding"],
            sender=row["sender"],
            outcome=Outcome(row["outcome"]),
            rule=row["rule"],
            document_id=row["document_id"],
            error=row["error"],
            idempotency_key=row["idempotency_key"],
            attempts=row["attempts"],
            reply=row["reply"] or {},
            text=row["text"],
            retry_at=row["retry_at"],
        )

    def shown_number(self, *, mask_numbers: bool = True) -> str | None:
        if self.recipient is None:
            return None
        return mask_number(self.recipient) if mask_numbers else self.recipient

    def to_json(self, *, mask_numbers: bool = True) -> dict[str, Any]:
        """The record for `smsbot audit --json` and the Slack history view; `to` is masked
        unless `mask_numbers` is false (`SMSBOT_AUDIT__MASK_NUMBERS=false`)."""
        return {
            "request_id": self.request_id,
            "time": self.time.isoformat(),
            "actor": self.actor,
            "surface": str(self.surface),
            "channel": self.channel,
            "to": self.shown_number(mask_numbers=mask_numbers),
            "sender": self.sender,
            "characters": self.text_length,
            "parts": self.parts,
            "encoding": self.encoding,
            "outcome": str(self.outcome),
            "rule": self.rule,
            "document_id": self.document_id,
            "error": self.error,
            "attempts": self.attempts,
            "retry_at": self.retry_at.isoformat() if self.retry_at else None,
        }

    def to_result(self, *, duplicate: bool = False) -> SendResult:
        return SendResult(
            outcome=self.outcome,
            request_id=self.request_id,
            to=self.recipient,
            document_id=self.document_id,
            parts=self.parts,
            encoding=self.encoding,
            reason=self.error,
            rule=self.rule,
            retry_at=self.retry_at,
            duplicate=duplicate,
        )

    def to_request(self) -> SendRequest:
        """The request as its surface made it, for notifying after a restart."""
        return SendRequest(
            actor=self.actor,
            surface=self.surface,
            to=self.recipient or "",
            text=self.text or "",
            sender=self.sender,
            channel=self.channel,
            idempotency_key=self.idempotency_key,
            reply=dict(self.reply),
        )


@dataclass(frozen=True)
class NewRecord:
    """A request about to be stored. `outcome` is `queued` for the outbox to send, `sending`
    for a request its caller sends at once, or the final `invalid` / `refused`."""

    actor: str
    surface: Surface
    idempotency_key: str
    outcome: Outcome
    text_length: int
    channel: str | None = None
    recipient: str | None = None
    parts: int | None = None
    encoding: str | None = None
    sender: str | None = None
    rule: str | None = None
    error: str | None = None
    retry_at: datetime | None = None
    reply: Mapping[str, Any] = field(default_factory=dict)
    text: str | None = None


@dataclass(frozen=True)
class Cap:
    """At most `maximum` counted sends whose `column` equals `value` within `window` (only
    from `surfaces`, when given). `describe(retry_at)` is the refusal a person reads."""

    rule: str
    column: str  # "actor" or "recipient"
    value: str
    maximum: int
    window: timedelta
    describe: Callable[[datetime | None], str]
    surfaces: frozenset[Surface] | None = None


@dataclass(frozen=True)
class Admission:
    """What `Store.admit` did: the stored record, and whether it was already there."""

    record: AuditRecord
    duplicate: bool


@dataclass(frozen=True)
class HeldStorm:
    """Alert SMS the storm cap held back for one number, from one route and source: what a
    restarted process needs to send the summary the one before it still owed."""

    recipient: str
    actor: str  # `alert:<route name>`
    surface: Surface
    first_held: datetime
    retry_at: datetime | None  # the newest refusal's: when the window has room again
