"""What a delivery state says to a person, in one wording for every place that shows it.

    ✓ delivered 12:03:04 CET (4 s)
    ✗ not delivered: recipient is temporarily unreachable or out of coverage (007)
    … accepted by the network, not yet on the phone

Times are in `SMSBOT_TIMEZONE` (`smsbot.timezone.local_time`); the reason of a failure is KPN's
meaning of its failure code, or what the state itself means when KPN gave no code. The words
are English by default; a surface passes its reader's (`smsbot.slack.texts`: `delivery`, with
Dutch meanings of KPN's codes in `smsbot.slack.delivery_nl`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from smsbot.kpn.delivery import FAILURE_CODES
from smsbot.store import AuditRecord, Delivery
from smsbot.timezone import local_time

ENGLISH: Mapping[str, str] = {
    "delivered": "✓ delivered",
    "delivered_at": "✓ delivered {when} ({took})",
    "not_delivered": "✗ not delivered: {reason}",
    "pending": "… {state}",
    "with_code": "{reason} ({code})",
    # What a state means when KPN gave no failure code with it.
    "failed": "the network gave no reason",
    "rejected": "refused by the network",
    "expired": "the phone was not reached before the SMS expired",
    "no_reason": "no reason given",
    "accepted": "accepted by the network, not yet on the phone",
    "queued": "waiting for the phone to be reachable",
}
# KPN's meaning of each failure code ("007": "Recipient is temporarily unreachable ...").
ENGLISH_MEANINGS: Mapping[str, str] = {code: known.meaning for code, known in FAILURE_CODES.items()}


def failure_reason(
    record: AuditRecord,
    words: Mapping[str, str] = ENGLISH,
    meanings: Mapping[str, str] = ENGLISH_MEANINGS,
) -> str:
    """Why the SMS did not reach the phone: "recipient is ... coverage (007)"."""
    code = record.delivery_code
    meaning = meanings.get(code) if code else None
    if meaning is None:
        reason = words.get(str(record.delivery or Delivery.FAILED), words["no_reason"])
        return words["with_code"].format(reason=reason, code=code) if code else reason
    return words["with_code"].format(reason=f"{meaning[0].lower()}{meaning[1:]}", code=code)


def delivery_line(
    record: AuditRecord,
    zone: str,
    *,
    now: datetime | None = None,
    words: Mapping[str, str] = ENGLISH,
    meanings: Mapping[str, str] = ENGLISH_MEANINGS,
) -> str:
    """The record's delivery state in one line; "" before any report came."""
    state = record.delivery
    if state is None:
        return ""
    if state is Delivery.DELIVERED:
        if record.delivered_at is None:
            return words["delivered"]
        when = local_time(record.delivered_at, zone, now=now, seconds=True)
        return words["delivered_at"].format(when=when, took=took(record))
    if state.is_failure:
        return words["not_delivered"].format(reason=failure_reason(record, words, meanings))
    return words["pending"].format(state=words[str(state)])


def took(record: AuditRecord) -> str:
    """How long from the request to the phone: "4 s", "2 min 5 s"."""
    assert record.delivered_at is not None
    seconds = max(round((record.delivered_at - record.time).total_seconds()), 0)
    minutes, seconds = divmod(seconds, 60)
    return f"{minutes} min {seconds} s" if minutes else f"{seconds} s"
