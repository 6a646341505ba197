"""What the store hands out and takes in: audit records, new rows, and rate caps."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from smsbot.sms.numbers import mask_number
from smsbot.sms.request import Delivery, Outcome, SendRequest, SendResult, Surface

# What `smsbot.store` exports of this module: a new public record type is named here.
__all__ = [
    "COUNTED_OUTCOMES",
    "Admission",
    "AuditRecord",
    "Cap",
    "Delivery",
    "DeliveryApplied",
    "DeliveryReport",
    "Disposition",
    "HeldStorm",
    "InboundAdmission",
    "InboundOutcome",
    "InboundRecord",
    "NewInbound",
    "NewRecord",
    "OutboxState",
]

# Outcomes that used up a send: they count against rate limits and storm caps. Refused, invalid
# and failed requests sent nothing, so a person who got them wrong can correct and try again.
COUNTED_OUTCOMES = (Outcome.QUEUED, Outcome.SENDING, Outcome.SENT, Outcome.UNKNOWN)


def rank(state: Delivery | None) -> int:
    return 0 if state is None else state.rank


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
    delivery: Delivery | None = None  # what the delivery reports said, None before any came
    delivered_at: datetime | None = None  # when `delivery` was reached
    delivery_code: str | None = None  # KPN's failure code ("007") of a failed delivery
    # The Slack message this SMS is discussed under (confirmation or alert mirror), if any.
    slack_channel: str | None = None
    slack_ts: str | None = None
    resend_at: datetime | None = None  # an alert SMS's repeat, due while it stays unknown
    repeat_of: str | None = None  # a repeat: the id of the SMS it repeats

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> AuditRecord:
        """From a row of `smsbot_sends`: each field is the column of the same name (but for
        `request_id` and `time`); columns without a field (`not_before`) are left out."""
        values = {field: row[column] for column, field in _FIELDS if column in row}
        values["surface"] = Surface(values["surface"])
        values["outcome"] = Outcome(values["outcome"])
        values["reply"] = values["reply"] or {}
        if values.get("delivery") is not None:
            values["delivery"] = Delivery(values["delivery"])
        return cls(**values)

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
            "delivery": str(self.delivery) if self.delivery else None,
            "delivered_at": self.delivered_at.isoformat() if self.delivered_at else None,
            "delivery_code": self.delivery_code,
            "repeat_of": self.repeat_of,
            "direction": "outbound",
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


# Each record field and the column it comes from: the column of the same name, but for these.
_COLUMN_OF = {"request_id": "id", "time": "created_at"}
_FIELDS = tuple((_COLUMN_OF.get(f.name, f.name), f.name) for f in fields(AuditRecord))


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
    # An alert SMS: sent once more this long after it was recorded while its send is
    # `unknown` and no delivery report came (`resend_at`); None: never.
    resend_after: timedelta | None = None
    repeat_of: str | None = None


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


@dataclass(frozen=True)
class DeliveryReport:
    """One delivery report from KPN about one SMS, as the route that received it read it."""

    status: Delivery
    part: int | None = None  # which part (1-based) of a long SMS; None: the whole message
    code: str | None = None  # KPN's failure code, e.g. "007"
    at: datetime | None = None  # when KPN says it happened; None: when it arrived


@dataclass(frozen=True)
class DeliveryApplied:
    """What `Store.apply_delivery` did: the SMS's record afterwards, and whether the report
    changed anything (false for a duplicate, or news older than what was stored)."""

    record: AuditRecord
    changed: bool
    # The report proved that an SMS whose send had ended `unknown` went out (it is `sent` now).
    went_out: bool = False


@dataclass(frozen=True)
class OutboxState:
    """The outbox now, over every replica sharing the database (for `/metrics`)."""

    queued: int
    sending: int
    oldest_queued: datetime | None  # when the oldest row still queued was recorded


class InboundOutcome(StrEnum):
    """What became of an SMS a phone sent to the reply number."""

    RECEIVED = "received"  # stored; no reply handler has finished with it (yet)
    THREADED = "threaded"  # posted as a thread reply in its conversation
    POSTED = "posted"  # no conversation: posted to SMSBOT_REPLIES__CHANNEL
    LOGGED = "logged"  # Slack is off: written to the bot's log (without number or text)
    DROPPED = "dropped"  # no conversation and no replies channel: audited only
    LIMITED = "limited"  # over the per-number rate limit: audited only, nobody told
    HANDLED = "handled"  # taken by a reply handler before the thread replies (`handler`)
    FAILED = "failed"  # posting it failed (Slack refused or was unreachable)


@dataclass(frozen=True)
class Disposition:
    """What a reply handler did with an inbound SMS, as the audit records it
    (`Store.finish_inbound`, `smsbot.inbound.handlers`)."""

    outcome: InboundOutcome = InboundOutcome.HANDLED
    conversation: str | None = None  # the outbound SMS (smsbot_sends id) it answered
    slack_channel: str | None = None
    slack_ts: str | None = None  # the Slack message it was posted under


@dataclass(frozen=True)
class NewInbound:
    """An inbound SMS about to be stored; `text` is kept only with SMSBOT_AUDIT__STORE_TEXT."""

    message_id: str
    sender: str
    recipient: str
    text: str
    sent_at: datetime | None = None


@dataclass(frozen=True)
class InboundRecord:
    """An inbound SMS as stored."""

    request_id: str
    message_id: str
    time: datetime
    updated_at: datetime
    sent_at: datetime | None
    sender: str
    recipient: str
    text_length: int
    text: str | None
    outcome: InboundOutcome
    handler: str | None
    conversation: str | None
    slack_channel: str | None
    slack_ts: str | None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> InboundRecord:
        values = {_INBOUND_FIELD_OF.get(name, name): value for name, value in row.items()}
        values = {name: values[name] for name in _INBOUND_FIELDS if name in values}
        values["outcome"] = InboundOutcome(values["outcome"])
        return cls(**values)

    def shown(self, number: str, *, mask_numbers: bool = True) -> str:
        return mask_number(number) if mask_numbers and number.startswith("+") else number

    def to_json(self, *, mask_numbers: bool = True) -> dict[str, Any]:
        """The record for `smsbot audit --json`, in the outbound records' keys (what has no
        meaning for an inbound SMS is null) and `direction: inbound`; numbers masked."""
        return {
            "request_id": self.request_id,
            "time": self.time.isoformat(),
            "actor": self.shown(self.sender, mask_numbers=mask_numbers),
            "surface": "kpn_inbound",
            "channel": self.slack_channel,
            "from": self.shown(self.sender, mask_numbers=mask_numbers),
            "to": self.shown(self.recipient, mask_numbers=mask_numbers),
            "sender": None,
            "characters": self.text_length,
            "parts": None,
            "encoding": None,
            "outcome": str(self.outcome),
            "rule": self.handler,
            "document_id": None,
            "message_id": self.message_id,
            "error": None,
            "attempts": None,
            "retry_at": None,
            "delivery": None,
            "delivered_at": None,
            "delivery_code": None,
            "conversation": self.conversation,
            "direction": "inbound",
        }


_INBOUND_FIELD_OF = {"id": "request_id", "received_at": "time"}
_INBOUND_FIELDS = tuple(f.name for f in fields(InboundRecord))


@dataclass(frozen=True)
class InboundAdmission:
    """What `Store.admit_inbound` did: the stored record, and whether it was already there
    (KPN posted the same message_id again)."""

    record: InboundRecord
    duplicate: bool
