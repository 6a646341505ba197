"""The value types every surface and the service agree on: a send request and its result."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any


class Surface(StrEnum):
    """Where a request came from. The service has one notifier per surface."""

    CLI = "cli"
    SLACK_COMMAND = "slack_command"
    SLACK_MODAL = "slack_modal"
    SLACK_SHORTCUT = "slack_shortcut"
    WORKFLOW = "workflow"
    ALERTMANAGER = "alertmanager"
    GRAFANA = "grafana"


class Outcome(StrEnum):
    QUEUED = "queued"  # recorded, waiting in the outbox
    SENDING = "sending"  # handed to KPN; if the process dies now the outcome is unknown
    SENT = "sent"  # KPN answered with a document_id
    REFUSED = "refused"  # policy said no; nothing was sent
    INVALID = "invalid"  # the number, sender or text was wrong; nothing was sent
    FAILED = "failed"  # KPN refused or could not be reached; certainly not sent
    UNKNOWN = "unknown"  # may have been sent; never retried automatically

    @property
    def is_final(self) -> bool:
        return self not in (Outcome.QUEUED, Outcome.SENDING)


class Delivery(StrEnum):
    """What KPN's delivery reports say became of a sent SMS, in the order of KPN's status codes
    1-6. The values are the `delivery` words of `smsbot audit --json`."""

    DELIVERED = "delivered"  # 1: on the phone
    QUEUED = "queued"  # 2: waiting for the phone
    ACCEPTED = "accepted"  # 3: the operator's network took it
    FAILED = "failed"  # 4: not delivered; the failure code says why
    REJECTED = "rejected"  # 5: refused by the network
    EXPIRED = "expired"  # 6: the phone was not reached before the SMS expired

    @property
    def is_final(self) -> bool:
        return self not in (Delivery.ACCEPTED, Delivery.QUEUED)

    @property
    def is_failure(self) -> bool:
        return self in (Delivery.FAILED, Delivery.REJECTED, Delivery.EXPIRED)

    @property
    def rank(self) -> int:
        """How far along: a report only ever moves a state up (a final state never moves)."""
        return 3 if self.is_final else (2 if self is Delivery.QUEUED else 1)


@dataclass(frozen=True)
class SendRequest:
    """One SMS someone asked for, as the surface received it (not yet validated).

    `actor` says who asks: a Slack user id (`U123`), `cli:<os user>`, `alert:<route>`,
    `workflow:<id>`. `reply` is the surface's own context for its notifier (a `response_url`,
    the channel to confirm in); it must be JSON-serialisable, because it is stored with the
    request so that a notifier can still answer after a restart.
    """

    actor: str
    surface: Surface
    to: str
    text: str
    sender: str | None = None
    channel: str | None = None
    idempotency_key: str = field(default_factory=lambda: secrets.token_hex(16))
    reply: Mapping[str, Any] = field(default_factory=dict)
    # Alert SMS: sent once more this long after the request while its send is `unknown` and no
    # delivery report came (`smsbot.alerts.resend`); a repeat names the SMS it repeats.
    resend_unknown_after: timedelta | None = None
    repeat_of: str | None = None


@dataclass(frozen=True)
class SendResult:
    """What happened to a request. `duplicate` is true when an earlier request had the same
    idempotency key: the fields then describe that earlier request, and nothing new was sent."""

    outcome: Outcome
    request_id: str
    to: str | None = None  # E.164 once validated
    document_id: str | None = None
    parts: int | None = None
    encoding: str | None = None
    reason: str | None = None  # for refused / invalid / failed / unknown: what to tell the person
    rule: str | None = None  # for refused: which rule; for invalid: which field
    retry_at: datetime | None = None
    duplicate: bool = False
    # `reason` as a code of `smsbot.sms.reasons` with its parameters, for a surface that says
    # it in another language; only on the result a surface is notified with as it happens.
    reason_code: str | None = None
    reason_params: Mapping[str, object] = field(default_factory=dict)
