""" "Reply by SMS": the button on a confirmation and on each reply from a phone.

It opens the Send SMS modal with the recipient fixed: the phone of the conversation the button
names (an SMS's request id, or `in:` and an inbound SMS's). The number is read from the store
when the form opens (to show it masked) and again at submission; it never goes to Slack. The
answer goes through the same pipeline as any SMS from the modal, so the allowlist and the rate
limits apply, and with no sender typed it goes out from the reply number, so the conversation
continues. No message events are subscribed to and no channel messages are read.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient

from smsbot.errors import InputError
from smsbot.slack import blocks
from smsbot.slack.context import SlackDeps
from smsbot.slack.modal_open import FormNotOpened, open_modal
from smsbot.slack.sending import cached_texts, hand_over
from smsbot.slack.thread_replies import REPLY_PREFIX
from smsbot.sms.numbers import mask_number
from smsbot.sms.request import SendRequest, Surface
from smsbot.sms.sender import validate_sender
from smsbot.sms.text import validate_text

log = logging.getLogger(__name__)


def register(app: AsyncApp, deps: SlackDeps) -> None:
    async def on_reply_clicked(
        ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        value = str(action.get("value") or "")
        user_id = body["user"]["id"]
        channel = (body.get("channel") or {}).get("id")
        message = body.get("message") or {}
        origin = blocks.ModalOrigin(
            surface=Surface.SLACK_MODAL,
            channel=channel,
            response_url=body.get("response_url"),
            reply_to=value,
            thread_ts=message.get("thread_ts") or message.get("ts"),
        )
        phone = await phone_of_conversation(deps, value)
        reply = {"user": user_id, "channel": channel, "response_url": body.get("response_url")}
        texts = await deps.notifier.texts_for(user_id)
        if phone is None:
            await deps.notifier.tell_privately(reply, *blocks.problem(texts.reply_gone, "", texts))
            return
        try:
            await open_modal(
                deps,
                client,
                trigger_id=body["trigger_id"],
                origin=origin,
                user_id=user_id,
                fixed_to=mask_number(phone) if deps.settings.audit.mask_numbers else phone,
            )
        except FormNotOpened as exc:
            await deps.notifier.tell_privately(
                reply, *blocks.problem(exc.message(texts), "", texts)
            )

    app.action(blocks.REPLY_ACTION)(on_reply_clicked)


async def phone_of_conversation(deps: SlackDeps, value: str) -> str | None:
    """The phone a "Reply by SMS" button answers: the inbound SMS's sender, or the number the
    SMS went to; None when that record is gone."""
    store = deps.service.store
    if value.startswith(REPLY_PREFIX):
        inbound = await store.inbound(value.removeprefix(REPLY_PREFIX))
        return inbound.sender if inbound is not None else None
    record = await store.get(value)
    return record.recipient if record is not None else None


async def answer_reply(
    deps: SlackDeps,
    ack: AsyncAck,
    body: dict[str, Any],
    view: dict[str, Any],
    origin: blocks.ModalOrigin,
    sender: str,
    text: str,
) -> None:
    """The submission of a "Reply by SMS" form: the sender and text checked inline, then the
    SMS handed to the service (which applies the allowlist) to the conversation's phone."""
    errors: dict[str, str] = {}
    user_id = body["user"]["id"]
    texts = cached_texts(deps, user_id)  # asked of Slack when the form opened
    try:
        validate_sender(sender or None, deps.settings.kpn.sender)
    except InputError as exc:
        errors[blocks.SENDER_BLOCK] = texts.error(exc)
    try:
        validate_text(text, deps.settings.sms.max_characters)
    except InputError as exc:
        errors[blocks.TEXT_BLOCK] = texts.error(exc)
    if errors:
        await ack(response_action="errors", errors=errors)
        return
    await ack()
    reply: dict[str, Any] = {
        "response_url": origin.response_url,
        "user": user_id,
        "channel": origin.channel,
        "thread_ts": origin.thread_ts,
    }
    phone = await phone_of_conversation(deps, origin.reply_to or "")
    if phone is None:
        await deps.notifier.tell_privately(reply, *blocks.problem(texts.reply_gone, "", texts))
        return
    request = SendRequest(
        actor=user_id,
        surface=Surface.SLACK_MODAL,
        to=phone,
        text=text,
        sender=sender or None,
        channel=origin.channel,
        idempotency_key=f"slack:modal:{view['id']}",  # a double click sends once
        reply=reply,
    )
    await hand_over(deps, request)
