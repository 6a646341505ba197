"""The `/sms` slash command: send at once, open the modal, help, or history.

The command is acknowledged first, always: help and "what did you mean" go in the ack itself
(ephemeral, instant); everything that needs Slack or the store runs after it, so whatever KPN
or the database does, Slack sees its answer well within 3 seconds.
"""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from smsbot.errors import InvalidNumber
from smsbot.slack import blocks, command_text
from smsbot.slack.context import SlackDeps
from smsbot.slack.history import history_message
from smsbot.slack.modal_open import FormNotOpened, open_modal
from smsbot.slack.sending import (
    cached_texts,
    hand_over,
    name_or_none,
    phone_of_person,
    readable_text,
)
from smsbot.sms.numbers import normalize_number
from smsbot.sms.request import SendRequest, Surface

COMMAND = "/sms"


def register(app: AsyncApp, deps: SlackDeps) -> None:
    async def on_sms(
        ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        raw = command.get("text") or ""
        # Only what the ack must say is decided before it; finding where a typed number ends
        # (the number rules) waits until Slack has its answer.
        reply = command_text.reply_in_ack(raw)
        user_id = command["user_id"]
        if isinstance(reply, command_text.Help):
            help_text = blocks.help_text(
                command.get("command") or COMMAND, cached_texts(deps, user_id)
            )
            await ack(response_type="ephemeral", text=help_text)
            return
        if isinstance(reply, command_text.Unclear):
            await ack(response_type="ephemeral", text=reply.message(cached_texts(deps, user_id)))
            return
        # The ack itself carries "Sending to +31 6 ****5678…" (no extra call to Slack); the
        # outcome replaces it through the response_url. So a number is found before the ack:
        # bounded work (command_text looks at most 40 characters for it, ~20 µs).
        parsed = command_text.parse(raw)
        pending = _pending(deps, parsed, user_id)
        if pending is not None:
            await ack(response_type="ephemeral", text=pending[0], blocks=pending[1])
        else:
            await ack()
        match parsed:
            case command_text.History():
                await respond(**await history_message(deps, user_id))
            case command_text.OpenForm(number=number, user=user):
                try:
                    await open_modal(
                        deps,
                        client,
                        trigger_id=command["trigger_id"],
                        origin=blocks.ModalOrigin(
                            surface=Surface.SLACK_MODAL,
                            channel=command.get("channel_id"),
                            response_url=command.get("response_url"),
                        ),
                        user_id=user_id,
                        number=number,
                        user=user,
                    )
                except FormNotOpened as exc:
                    texts = await deps.notifier.texts_for(user_id)
                    await respond(response_type="ephemeral", text=exc.message(texts))
            case command_text.SendToNumber(number=number, text=text):
                await _send(
                    deps, command, to=number, escaped_text=text, pending=pending is not None
                )
            case command_text.SendToPerson(user=person, label=label, text=text):
                try:
                    texts = await deps.notifier.texts_for(user_id)
                    number = await phone_of_person(deps, person, label, texts=texts)
                except InvalidNumber as exc:
                    await respond(response_type="ephemeral", text=str(exc))
                    return
                name = label or await name_or_none(deps, person)
                await _send(deps, command, to=number, escaped_text=text, recipient_name=name)

    app.command(COMMAND)(on_sms)


def _pending(
    deps: SlackDeps, parsed: object, user_id: str
) -> tuple[str, list[dict[str, Any]]] | None:
    """The "Sending to …" line for a send to a valid number (pure: the reader's language only
    if it is cached; the outcome, later, is in their language either way)."""
    if not isinstance(parsed, command_text.SendToNumber):
        return None
    try:
        number = normalize_number(parsed.number)
    except InvalidNumber:
        return None  # the service explains what is wrong with it
    return blocks.pending(deps.notifier.shown_number(number, number), cached_texts(deps, user_id))


async def _send(
    deps: SlackDeps,
    command: dict[str, Any],
    *,
    to: str,
    escaped_text: str,
    recipient_name: str | None = None,
    pending: bool = False,
) -> None:
    reply: dict[str, Any] = {
        "response_url": command.get("response_url"),
        "user": command["user_id"],
        "channel": command.get("channel_id"),
    }
    if recipient_name:
        reply["recipient_name"] = recipient_name
    if pending:
        reply["pending_shown"] = True  # the ack said "Sending to …": the outcome replaces it
    request = SendRequest(
        actor=command["user_id"],
        surface=Surface.SLACK_COMMAND,
        to=to,
        text=await readable_text(deps, escaped_text),
        channel=command.get("channel_id"),
        # Slack gives every invocation its own trigger_id and repeats it on a retry.
        idempotency_key=f"slack:command:{command['trigger_id']}",
        reply=reply,
    )
    await hand_over(deps, request)
