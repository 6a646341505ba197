"""A page is never lost silently: an alert SMS whose send ended `unknown` is sent once more.

`unknown` means KPN may or may not have taken the SMS (the send timed out, or the process died
while sending). A delivery report settles it (`Store.apply_delivery` makes it `sent`). When none
came within the route's `resend_unknown_after` (default 10 minutes) of the SMS being recorded,
it is sent once more, as a repeat: its text starts with "(repeat)", and its record names the
SMS it repeats (`repeat_of`, in `smsbot audit --json`). The trade-off is deliberate: the phone
may get the page twice, which is better than not at all.

The due time is durable, in the store (`resend_at`, set when the SMS is recorded). Every replica
runs an `UnknownResender`; each tick takes the due repeats (`Store.take_due_resends`: row locks
other replicas skip, and a lease), records each repeat through `SmsService.enqueue` like every
alert SMS (caps, de-duplication, audit, outbox, mirror) and marks the repeat done. A taker that
dies before marking it leaves it due again when its lease ends; the repeat's idempotency key
(`repeat:<id>`) then makes the second recording a duplicate, so it is sent at most once.

SMS from people are never resent: the person who sent one was told it may not have arrived and
decides (`SlackNotifier`); a repeat only they did not ask for could reach the phone twice.
"""

from __future__ import annotations

import logging
from contextlib import AbstractAsyncContextManager
from datetime import timedelta
from typing import TYPE_CHECKING

from smsbot.periodic import every
from smsbot.sms.numbers import mask_number
from smsbot.sms.request import SendRequest, SendResult
from smsbot.store import AuditRecord, Store

if TYPE_CHECKING:
    from smsbot.service import SmsService

log = logging.getLogger(__name__)

REPEAT_PREFIX = "(repeat) "  # GSM-7 basic characters: no extra SMS part for the mark alone
# How long a replica owns a repeat it took: far longer than recording one takes.
LEASE = timedelta(minutes=2)
TICK_SECONDS = 15.0


def repeat_request(record: AuditRecord, max_characters: int) -> SendRequest:
    """The repeat of `record`, an alert SMS whose send ended `unknown`. Its text is cut where
    the mark would push it over `max_characters`: a repeat refused as too long would be the
    page lost after all."""
    text = record.text or ""
    room = max_characters - len(REPEAT_PREFIX)
    if len(text) > room:
        text = text[: room - 3].rstrip() + "..."
    return SendRequest(
        actor=record.actor,
        surface=record.surface,
        to=record.recipient or "",
        text=REPEAT_PREFIX + text,
        sender=record.sender,
        channel=record.channel,
        idempotency_key=f"repeat:{record.request_id}",
        reply={**record.reply, "repeat_of": record.request_id},
        repeat_of=record.request_id,  # and never repeated itself: no resend_unknown_after
    )


class UnknownResender:
    def __init__(self, store: Store, service: SmsService, *, lease: timedelta = LEASE):
        self.store = store
        self.service = service
        self.lease = lease

    async def tick(self) -> list[SendResult]:
        """Record the repeat of every alert SMS owed one now; what each repeat became."""
        repeats = []
        for record in await self.store.take_due_resends(self.lease):
            try:
                repeats.append(await self._repeat(record))
            except Exception:
                # Still owed: after its lease, this or another replica tries it again.
                log.exception("recording the repeat of alert SMS %s failed", record.request_id)
        return repeats

    async def _repeat(self, record: AuditRecord) -> SendResult:
        max_characters = self.service.settings.sms.max_characters
        result = await self.service.enqueue(repeat_request(record, max_characters))
        await self.store.finish_resend(record.request_id)
        log.info(
            "alert SMS %s to %s ended unknown with no delivery report: repeated as %s (%s)",
            record.request_id,
            mask_number(record.recipient or ""),
            result.request_id,
            result.outcome,
        )
        return result


def running(
    resender: UnknownResender, tick_seconds: float = TICK_SECONDS
) -> AbstractAsyncContextManager[None]:
    """Run `resender.tick()` every `tick_seconds` until the block ends."""
    return every(tick_seconds, resender.tick, name="resend of unknown alert SMS")
