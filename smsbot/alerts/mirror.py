"""Every alert SMS mirrored to its route's Slack channel, with KPN's document_id.

The service is built with it as the notifier of the alert surfaces, so it runs after the outbox
has sent (or failed to send) each SMS, also for SMS finished after a restart: what it needs is
in `request.reply` (`mirror_channel`, `route`). The number is masked unless
`SMSBOT_AUDIT__MASK_NUMBERS=false`; the SMS text is escaped so an alert cannot ping a channel.
Alerts the storm cap held back are not mirrored one by one: the summary SMS is.
"""

from __future__ import annotations

import logging
from typing import Protocol

from slack_sdk.web.async_client import AsyncWebClient

from smsbot.slack.escaping import escape_mrkdwn
from smsbot.sms.numbers import mask_number
from smsbot.sms.request import Outcome, SendRequest, SendResult

log = logging.getLogger(__name__)

_HEADLINE = {
    Outcome.SENT: ":incoming_envelope: Alert SMS sent",
    Outcome.FAILED: ":warning: Alert SMS *not sent*",
    Outcome.UNKNOWN: ":grey_question: Alert SMS *may not have been sent*",
    Outcome.INVALID: ":warning: Alert SMS *not sent*",
}


def mirror_text(request: SendRequest, result: SendResult, *, mask_numbers: bool = True) -> str:
    number = result.to or request.to
    shown = mask_number(number) if mask_numbers and number.startswith("+") else number
    route = request.reply.get("route") or "?"
    lines = [f"{_HEADLINE.get(result.outcome, result.outcome)} to {shown} (route {route})"]
    lines.append("> " + escape_mrkdwn(request.text).replace("\n", "\n> "))
    details = []
    if result.document_id:
        details.append(f"document_id `{result.document_id}`")
    if result.parts:
        details.append(f"{result.parts} part{'s' if result.parts != 1 else ''}")
    if result.reason and result.outcome is not Outcome.SENT:
        details.append(escape_mrkdwn(result.reason))
    if details:
        lines.append(" · ".join(details))
    return "\n".join(lines)


class GroupThreads(Protocol):
    """Finds (or starts) the Slack thread of an alert group (`GroupMirror.thread_of`)."""

    async def thread_of(self, group_id: str) -> tuple[str, str] | None: ...

    async def refresh(self, group_id: str) -> None: ...


class Conversations(Protocol):
    """Remembers the Slack message an SMS is discussed under (`Store.set_conversation`), so a
    reply from its phone goes into that thread."""

    async def set_conversation(
        self, request_id: str, slack_channel: str, slack_ts: str
    ) -> bool: ...


class SlackMirror:
    """The `Notifier` of the Alertmanager and Grafana surfaces. With `threads`, an SMS of a
    tracked alert group is mirrored in the group's thread instead of on its own."""

    def __init__(
        self,
        client: AsyncWebClient,
        *,
        mask_numbers: bool = True,
        threads: GroupThreads | None = None,
        conversations: Conversations | None = None,
    ) -> None:
        self.client = client
        self.mask_numbers = mask_numbers
        self.threads = threads
        self.conversations = conversations  # replies from the phone go in the mirror's thread

    async def notify(self, request: SendRequest, result: SendResult) -> None:
        channel = request.reply.get("mirror_channel")
        if not channel or result.outcome is Outcome.REFUSED:
            return
        text = mirror_text(request, result, mask_numbers=self.mask_numbers)
        group_id = request.reply.get("alert_group")
        if self.threads is not None and group_id:
            thread = await self.threads.thread_of(group_id)
            if thread is not None:
                await self.client.chat_postMessage(
                    channel=thread[0], thread_ts=thread[1], text=text, unfurl_links=False
                )
                await self.threads.refresh(group_id)  # the message shows this SMS's outcome
                await self._remember(result.request_id, *thread)
                return
        posted = await self.client.chat_postMessage(
            channel=channel, text=text, unfurl_links=False, unfurl_media=False
        )
        await self._remember(result.request_id, posted.get("channel"), posted.get("ts"))

    async def _remember(self, request_id: str, channel: str | None, ts: str | None) -> None:
        """The mirror (the group's message, or the SMS's own) is the SMS's conversation."""
        if self.conversations is None or not channel or not ts:
            return
        try:
            await self.conversations.set_conversation(request_id, channel, ts)
        except Exception:
            log.exception("the conversation of SMS %s was not stored", request_id)
