"""A page that did not reach the phone is said loudly, and the route's fallbacks are paged.

A `DeliveryRecorder` watcher (`smsbot.deliveries`) for the alert surfaces. When KPN reports an
alert SMS failed, rejected or expired:

- the route's mirror channel reads "@alice's phone did not get the page: recipient is
  temporarily unreachable or out of coverage (007)": in the thread of the SMS's Slack message
  when it has one (broadcast to the channel as well), else in the channel;
- the route's `fallback` recipients are paged next, each once per failed SMS (the idempotency
  key `fallback:<sms id>:<number>`), through `SmsService.enqueue` like every alert SMS. A
  fallback's own failure is said too, but pages nobody further.

A report about an alert SMS whose send had ended `unknown` (the mirror said it may not have been
sent) is said there too: "@alice's page, reported as maybe not sent, went out: ✓ delivered ...".

The store no longer holds the failed SMS's text, so the fallback SMS says whose page failed and
the alert group's summary when the group is tracked (on-call routes), else the route's name.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING

from smsbot.alerts.recipients import RecipientResolver
from smsbot.alerts.render import with_hint
from smsbot.alerts.routing import Route
from smsbot.delivery_words import delivery_line, failure_reason
from smsbot.slack.escaping import escape_mrkdwn
from smsbot.sms.numbers import mask_number
from smsbot.sms.request import SendRequest, Surface
from smsbot.store import AuditRecord, DeliveryApplied

if TYPE_CHECKING:
    from slack_sdk.web.async_client import AsyncWebClient

    from smsbot.service import SmsService

log = logging.getLogger(__name__)

ALERT_SURFACES = frozenset({Surface.ALERTMANAGER, Surface.GRAFANA})


class PageNotDelivered:
    def __init__(
        self,
        service: SmsService,
        routes: Mapping[str, Route],
        resolver: RecipientResolver,
        *,
        client: AsyncWebClient | None,
        mask_numbers: bool = True,
        max_parts: int = 1,
        timezone: str = "Europe/Amsterdam",
    ) -> None:
        self.service = service
        self.routes = routes
        self.resolver = resolver
        self.client = client
        self.mask_numbers = mask_numbers
        self.max_parts = max_parts
        self.timezone = timezone

    async def __call__(self, applied: DeliveryApplied) -> None:
        record = applied.record
        if record.surface not in ALERT_SURFACES or record.delivery is None:
            return
        if applied.went_out:
            # The mirror said it may not have been sent: a report proved it was.
            line = delivery_line(record, self.timezone)
            whose = await self._whose(record)
            await self._say(record, f"{whose} page, reported as maybe not sent, went out: {line}")
        if not record.delivery.is_failure:
            return
        route = self.routes.get(str(record.reply.get("route")))
        whose = await self._whose(record)
        reason = failure_reason(record)
        paged = await self._page_fallbacks(record, route, whose) if route else []
        said = f":rotating_light: {whose} phone did not get the page: {reason}"
        if paged:
            said += f". Paging the fallback: {', '.join(paged)}"
        await self._say(record, said)

    async def _whose(self, record: AuditRecord) -> str:
        """ "@alice's" for a Slack person's phone, else "+31 6 ****5678's"."""
        number = record.recipient or ""
        # Who was paged on it, as the on-call loop recorded (a Slack person's name).
        name = await self.resolver.name_for(number) or await self.service.store.name_of_phone(
            number
        )
        if name:
            return f"@{name}'s"
        shown = mask_number(number) if self.mask_numbers else number
        return f"{shown}'s"

    async def _page_fallbacks(self, record: AuditRecord, route: Route, whose: str) -> list[str]:
        """Page the route's fallback recipients (not the phone that failed); whom, as shown."""
        if not route.fallback or record.reply.get("fallback_for"):
            return []  # a fallback that failed pages nobody further
        numbers = [n for n in await self.resolver.numbers(route.fallback) if n != record.recipient]
        text = with_hint(await self._fallback_text(record, route, whose), None, self.max_parts)
        paged = []
        for number in numbers:
            reply = {
                key: record.reply[key]
                for key in ("route", "mirror_channel", "group_key", "alert_group")
                if key in record.reply
            }
            result = await self.service.enqueue(
                SendRequest(
                    actor=record.actor,
                    surface=record.surface,
                    to=number,
                    text=text,
                    channel=record.channel,
                    idempotency_key=f"fallback:{record.request_id}:{number}",
                    reply={**reply, "fallback_for": record.request_id},
                    resend_unknown_after=route.resend_unknown_after,
                )
            )
            if not result.duplicate:
                paged.append(mask_number(number) if self.mask_numbers else number)
        return paged

    async def _fallback_text(self, record: AuditRecord, route: Route, whose: str) -> str:
        head = f"FALLBACK, {whose.removeprefix('@')} phone did not get this page: "
        group_id = record.reply.get("alert_group")
        group = await self.service.store.alert_group(str(group_id)) if group_id else None
        if group is not None and group.summary:
            return head + group.summary
        return head + f"alert route {route.name}. See the alert channel in Slack."

    async def _say(self, record: AuditRecord, text: str) -> None:
        channel = record.reply.get("mirror_channel")
        if self.client is None or not channel:
            log.warning(
                "alert SMS %s did not reach the phone: %s %s",
                record.request_id,
                record.delivery,
                record.delivery_code or "",
            )
            return
        thread = {}
        if record.slack_channel == channel and record.slack_ts:
            thread = {"thread_ts": record.slack_ts, "reply_broadcast": True}
        await self.client.chat_postMessage(
            channel=channel,
            text=escape_mrkdwn(text),
            unfurl_links=False,
            unfurl_media=False,
            **thread,
        )
