"""What a delivery state says to a person, in one wording for every place that shows it.

    ✓ delivered 12:03:04 CET (4 s)
    ✗ not delivered: recipient is temporarily unreachable or out of coverage (007)
    … accepted by the network, not yet on the phone

Times are in `SMSBOT_TIMEZONE` (`smsbot.timezone.local_time`); the reason of a failure is KPN's
meaning of its failure code, or what the state itself means when KPN gave no code.
"""

from __future__ import annotations

from datetime import datetime

from smsbot.kpn.delivery import failure_meaning
from smsbot.store import AuditRecord, Delivery
from smsbot.timezone import local_time

# What a state means when KPN gave no failure code with it.
_WITHOUT_CODE = {
    Delivery.FAILED: "the network gave no reason",
    Delivery.REJECTED: "refused by the network",
    Delivery.EXPIRED: "the phone was not reached before the SMS expired",
}
_PENDING = {
    Delivery.ACCEPTED: "accepted by the network, not yet on the phone",
    Delivery.QUEUED: "waiting for the phone to be reachable",
}


def failure_reason(record: AuditRecord) -> str:
    """Why the SMS did not reach the phone: "recipient is ... coverage (007)"."""
    meaning = failure_meaning(record.delivery_code)
    if meaning is None:
        reason = _WITHOUT_CODE.get(record.delivery or Delivery.FAILED, "no reason given")
        return f"{reason} ({record.delivery_code})" if record.delivery_code else reason
    return f"{meaning[0].lower()}{meaning[1:]} ({record.delivery_code})"


def delivery_line(record: AuditRecord, zone: str, *, now: datetime | None = None) -> str:
    """The record's delivery state in one line; "" before any report came."""
    state = record.delivery
    if state is None:
        return ""
    if state is Delivery.DELIVERED:
        if record.delivered_at is None:
            return "✓ delivered"
        when = local_time(record.delivered_at, zone, now=now, seconds=True)
        return f"✓ delivered {when} ({took(record)})"
    if state.is_failure:
        return f"✗ not delivered: {failure_reason(record)}"
    return f"… {_PENDING[state]}"


def took(record: AuditRecord) -> str:
    """How long from the request to the phone: "4 s", "2 min 5 s"."""
    assert record.delivered_at is not None
    seconds = max(round((record.delivered_at - record.time).total_seconds()), 0)
    minutes, seconds = divmod(seconds, 60)
    return f"{minutes} min {seconds} s" if minutes else f"{seconds} s"
