"""Tells the person in Slack what became of their SMS; the Slack surfaces' notifier.

It works only from what the request carries: `request.reply` holds the `response_url`, the
user and the channel, stored with the request, so an SMS the outbox finishes after a restart
is still answered.

- Sent: a confirmation in the channel (`chat.postMessage`; in the thread of the message a
  message shortcut was used on). Where the bot may not post there (a private channel it is
  not in, a DM) it answers through the `response_url` with `in_channel`, and with neither (a
  global shortcut) it writes to the person directly. With `SMSBOT_SLACK__CONFIRMATIONS=sender`
  the confirmation is only the sender's, like the answers below.
- `/sms 06… text` is acknowledged with "Sending to +31 6 ****5678…" (`pending_shown`); the
  outcome replaces that line, or removes it when the confirmation went to the channel.
- Anything else (refused, invalid, failed, unknown): only the sender sees it, through the
  `response_url` while Slack still accepts it (30 minutes), else `chat.postEphemeral`, else a
  direct message.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse
from slack_sdk.webhook.async_client import AsyncWebhookClient

from smsbot.settings import Settings
from smsbot.slack import blocks
from smsbot.slack.directory import SlackDirectory
from smsbot.slack.texts import ENGLISH, Texts, for_locale
from smsbot.sms.numbers import mask_number
from smsbot.sms.request import Outcome, SendRequest, SendResult
from smsbot.sms.sender import number_sender

log = logging.getLogger(__name__)

# `chat.postMessage` errors that mean "not here", as opposed to Slack being down.
CANNOT_POST_HERE = frozenset(
    {"not_in_channel", "channel_not_found", "is_archived", "restricted_action"}
)


# Stores the Slack message (channel, ts) an SMS's confirmation was posted as, by request id
# (`Store.set_conversation`): its delivery is shown there later, and replies thread under it.
RememberMessage = Callable[[str, str, str], Awaitable[None]]


async def reader_texts(directory: SlackDirectory | None, user: str | None) -> Texts:
    """The catalogue in the reader's Slack language (English when it cannot be read)."""
    if not user or directory is None:
        return ENGLISH
    try:
        return for_locale((await directory.person(user)).locale)
    except Exception as exc:  # Slack's answer only picks the language
        log.info("no Slack language for the reader (%s); answering in English", exc)
        return ENGLISH


class SlackNotifier:
    def __init__(
        self,
        client: AsyncWebClient,
        settings: Settings,
        directory: SlackDirectory | None = None,
        *,
        remember: RememberMessage | None = None,
    ) -> None:
        """`remember` stores where a confirmation was posted (`SlackConfirmations.posted`)."""
        self.client = client
        self.settings = settings
        self.directory = directory  # for the reader's Slack language
        self.remember = remember

    def invites_replies(self, request: SendRequest) -> bool:
        """Whether the SMS went out from the reply number, so its phone can answer it."""
        reply_number = self.settings.kpn.reply_number
        if not reply_number:
            return False
        # The request as its surface made it has no sender; as the outbox finishes it (from
        # its stored record), it has the sender it went out with.
        return (request.sender or "").strip() in ("", number_sender(reply_number))

    async def notify(self, request: SendRequest, result: SendResult) -> None:
        reply = request.reply
        if reply.get("told"):
            return  # the person already saw this answer (an inline error in the modal)
        if result.outcome is Outcome.SENT:
            await self._confirm(request, result, reply)
        elif result.outcome.is_final:
            texts = await self.texts_for(reply.get("user"))
            text, message_blocks = self.problem_message(request, result, texts)
            await self.tell_privately(reply, text, message_blocks)

    def shown_number(self, e164: str | None, fallback: str) -> str:
        if not e164:
            return fallback
        return mask_number(e164) if self.settings.audit.mask_numbers else e164

    def recipient(self, reply: Mapping[str, Any], result: SendResult) -> str:
        """The masked number, after the person's name when the SMS went to a Slack user."""
        number = self.shown_number(result.to, "?")
        name = reply.get("recipient_name")
        return f"@{name} ({number})" if name else number

    def problem_message(
        self, request: SendRequest, result: SendResult, texts: Texts = ENGLISH
    ) -> tuple[str, list[dict[str, Any]]]:
        to = self.shown_number(result.to, texts.that_number)
        reason = texts.reason(result.reason_code, result.reason_params, result.reason or "")
        reason = reason.rstrip(".")
        match result.outcome:
            case Outcome.REFUSED | Outcome.INVALID:
                # The service's reason already says what to do (and for the allowlist, whom
                # to ask: SMSBOT_SLACK__ADMIN_CONTACT).
                return blocks.problem(texts.not_sent.format(reason=reason), "", texts)
            case Outcome.UNKNOWN:
                # The reason says to check with the recipient; the request id finds the record.
                return blocks.problem(
                    texts.may_not_have_arrived.format(to=to, reason=reason),
                    texts.no_resend.format(request_id=result.request_id),
                    texts,
                )
            case _:
                return blocks.problem(texts.was_not_sent.format(to=to, reason=reason), "", texts)

    async def texts_for(self, user: str | None) -> Texts:
        """The catalogue in the reader's Slack language (English when it cannot be read)."""
        return await reader_texts(self.directory, user)

    async def _confirm(
        self, request: SendRequest, result: SendResult, reply: Mapping[str, Any]
    ) -> None:
        private = self.settings.slack.confirmations == "sender"
        # In a channel too, in the sender's language: a channel has none of its own, and the
        # sender is the one who asked for it there.
        texts = await self.texts_for(reply.get("user"))
        text, message_blocks = blocks.confirmation(
            texts=texts,
            actor=reply.get("user") or request.actor,
            to=self.recipient(reply, result),
            text=request.text,
            parts=result.parts,
            encoding=result.encoding,
            document_id=result.document_id,
            reply_to=result.request_id if self.invites_replies(request) else None,
        )
        if private:
            await self.tell_privately(reply, text, message_blocks)
            return
        channel = reply.get("channel")
        thread = {"thread_ts": reply["thread_ts"]} if reply.get("thread_ts") else {}
        # DMs: the bot cannot post in a conversation between people; the response_url can.
        if channel and not str(channel).startswith("D"):
            try:
                posted = await self.post_message(channel, text, message_blocks, **thread)
                await self._clear_pending(reply)
                await self._remember_message(result.request_id, posted)
                return
            except SlackApiError as exc:
                if exc.response.get("error") not in CANNOT_POST_HERE:
                    raise
                log.info("cannot post in %s (%s); answering another way", channel, exc)
        # Slack gives no ts for a response_url post: that confirmation cannot be updated later.
        if not await self._respond(reply, text, message_blocks, response_type="in_channel"):
            posted = await self._direct_message(reply, text, message_blocks)
            await self._remember_message(result.request_id, posted)
        await self._clear_pending(reply)

    async def _remember_message(self, request_id: str, posted: AsyncSlackResponse | None) -> None:
        if self.remember is None or posted is None:
            return
        channel, ts = posted.get("channel"), posted.get("ts")
        if channel and ts:
            await self.remember(request_id, str(channel), str(ts))

    async def tell_privately(
        self, reply: Mapping[str, Any], text: str, message_blocks: list[dict[str, Any]]
    ) -> None:
        if await self._respond(reply, text, message_blocks, response_type="ephemeral"):
            return
        channel, user = reply.get("channel"), reply.get("user")
        if channel and user:
            try:
                await self.client.chat_postEphemeral(
                    channel=channel, user=user, text=text, blocks=message_blocks
                )
                return
            except SlackApiError as exc:
                log.info("cannot answer %s ephemerally in %s (%s)", user, channel, exc)
        await self._direct_message(reply, text, message_blocks)

    async def _clear_pending(self, reply: Mapping[str, Any]) -> None:
        """The confirmation went elsewhere (the channel): the "Sending…" line goes away."""
        if reply.get("pending_shown"):
            await self._post_to_response_url(reply, {"delete_original": True})

    async def _respond(
        self,
        reply: Mapping[str, Any],
        text: str,
        message_blocks: list[dict[str, Any]],
        *,
        response_type: str,
    ) -> bool:
        # An ephemeral answer takes the place of the "Sending…" line, when there is one.
        replace = response_type == "ephemeral" and bool(reply.get("pending_shown"))
        payload = {
            "response_type": response_type,
            "replace_original": replace,
            "text": text,
            "blocks": message_blocks,
        }
        return await self._post_to_response_url(reply, payload)

    async def _post_to_response_url(
        self, reply: Mapping[str, Any], payload: dict[str, Any]
    ) -> bool:
        url = reply.get("response_url")
        if not url:
            return False
        try:
            # The Web API client's session: one connection pool for every call to Slack.
            webhook = AsyncWebhookClient(
                url, session=self.client.session, retry_handlers=self.client.retry_handlers
            )
            answer = await webhook.send_dict(payload)
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.info("response_url unreachable (%s); answering another way", type(exc).__name__)
            return False
        if answer.status_code != 200:
            # Slack refuses a response_url after 30 minutes or 5 uses.
            log.info("response_url refused the answer: HTTP %s", answer.status_code)
            return False
        return True

    async def _direct_message(
        self, reply: Mapping[str, Any], text: str, message_blocks: list[dict[str, Any]]
    ) -> AsyncSlackResponse | None:
        user = reply.get("user")
        if not user:
            log.warning("no way left to answer this Slack request; the audit has the outcome")
            return None
        return await self.post_message(user, text, message_blocks)

    async def post_message(
        self, channel: str, text: str, message_blocks: list[dict[str, Any]], **extra: Any
    ) -> AsyncSlackResponse:
        """`chat.postMessage`; should Slack still refuse the blocks (`invalid_blocks`: the
        builders keep within Slack's limits, so only a new limit would do this), the plain text
        goes instead, so the person hears the outcome all the same."""
        try:
            return await self.client.chat_postMessage(
                channel=channel,
                text=text,
                blocks=message_blocks,
                unfurl_links=False,
                unfurl_media=False,
                **extra,
            )
        except SlackApiError as exc:
            if exc.response.get("error") != "invalid_blocks":
                raise
            log.warning("Slack refused the message's blocks; posting its text alone")
            return await self.client.chat_postMessage(
                channel=channel, text=text, unfurl_links=False, unfurl_media=False, **extra
            )
