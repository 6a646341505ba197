"""Inbound SMS: stored, rate-limited per phone, then offered to the reply handlers in order."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from smsbot.inbound.handlers import Disposition, InboundMessage, ReplyHandler
from smsbot.kpn.inbound import InboundSms
from smsbot.metrics import Metrics
from smsbot.settings import Settings
from smsbot.store import InboundOutcome, InboundRecord, NewInbound, Store

log = logging.getLogger(__name__)

# What one phone may post into Slack: auto-responders and floods must not spam a channel.
DEFAULT_LIMIT = 20
DEFAULT_WINDOW = timedelta(minutes=1)


@dataclass(frozen=True)
class Received:
    """What became of one post of KPN's webhook: the stored record, and whether it was
    already stored (a message_id KPN posted before: nothing else was done)."""

    record: InboundRecord
    duplicate: bool


class InboundService:
    """One per process; `handlers` in the order they are offered each SMS."""

    def __init__(
        self,
        store: Store,
        handlers: Sequence[ReplyHandler] = (),
        *,
        limit: int = DEFAULT_LIMIT,
        window: timedelta = DEFAULT_WINDOW,
        metrics: Metrics | None = None,
    ) -> None:
        self.store = store
        self.handlers = tuple(handlers)
        self.limit = limit
        self.window = window
        self.metrics = metrics  # smsbot_inbound_total{outcome}

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        store: Store,
        handlers: Sequence[ReplyHandler] = (),
        *,
        metrics: Metrics | None = None,
    ) -> InboundService:
        """Rate-limited as `SMSBOT_REPLIES__PER_NUMBER_PER_MINUTE` says."""
        limit = settings.replies.per_number_per_minute
        return cls(store, handlers, limit=limit, metrics=metrics)

    async def receive(self, sms: InboundSms) -> Received:
        """Store `sms` (raises what the store raises: the route then answers 5xx and KPN
        retries), then hand it to the handlers. Handling never raises: the SMS is stored, and
        a retry by KPN would only be a duplicate."""
        new = NewInbound(
            message_id=sms.message_id,
            sender=sms.sender,
            recipient=sms.recipient,
            text=sms.content,
            sent_at=sms.timestamp_utc,
        )
        admitted = await self.store.admit_inbound(new, limit=self.limit, window=self.window)
        record = admitted.record
        if admitted.duplicate:
            log.info("inbound SMS %s arrived again; stored once, nothing done", record.request_id)
            return Received(record, duplicate=True)
        if record.outcome is InboundOutcome.LIMITED:
            log.warning(
                "inbound SMS %s not posted: its phone sent over %d messages in %s",
                record.request_id,
                self.limit,
                self.window,
            )
            self._count(InboundOutcome.LIMITED)
            return Received(record, duplicate=False)
        message = InboundMessage(
            record=record,
            text=sms.content,
            sender=sms.sender,
            recipient=sms.recipient,
            sent_at=sms.timestamp_utc,
            from_dutch_mobile=sms.from_dutch_mobile,
        )
        return Received(await self._handle(message), duplicate=False)

    async def _handle(self, message: InboundMessage) -> InboundRecord:
        record = message.record
        for handler in self.handlers:
            try:
                taken = await handler.handle(message)
            except Exception:
                log.exception(
                    "reply handler %s failed on inbound SMS %s", handler.name, record.request_id
                )
                return await self._finish(record, handler.name, Disposition(InboundOutcome.FAILED))
            if taken:
                disposition = taken if isinstance(taken, Disposition) else Disposition()
                return await self._finish(record, handler.name, disposition)
        log.info("inbound SMS %s: no reply handler took it; audited only", record.request_id)
        return await self._finish(record, None, Disposition(InboundOutcome.DROPPED))

    def _count(self, outcome: InboundOutcome) -> None:
        if self.metrics is not None:
            self.metrics.inbound.labels(str(outcome)).inc()

    async def _finish(
        self, record: InboundRecord, handler: str | None, disposition: Disposition
    ) -> InboundRecord:
        self._count(disposition.outcome)
        try:
            finished = await self.store.finish_inbound(
                record.request_id, disposition, handler=handler
            )
        except Exception:
            # Done is done: the record stays `received`, the audit shows it was not finished.
            log.exception("what became of inbound SMS %s was not recorded", record.request_id)
            return record
        return finished or record
