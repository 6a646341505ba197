"""Shortcuts: the global "Send SMS" (`send_sms`) and the message shortcut "Send as SMS"
(`send_as_sms`), which opens the modal with the message's text as the person reads it.

A trigger_id is good for 3 seconds, so the message shortcut opens the modal first, with the
names it knows already (cached); mentions of people it has no name for are asked of Slack
after that, all at once, and the modal's text is updated with their names. Should the person
have started on the form meanwhile (its hash changed), their edit wins."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from smsbot.slack import blocks
from smsbot.slack.context import SlackDeps
from smsbot.slack.escaping import decode, mentioned_ids
from smsbot.slack.modal_open import FormNotOpened, open_modal
from smsbot.slack.sending import cached_texts, names_of
from smsbot.sms.request import Surface
from smsbot.sms.text import analyze

log = logging.getLogger(__name__)

GLOBAL_SHORTCUT = "send_sms"
MESSAGE_SHORTCUT = "send_as_sms"


def register(app: AsyncApp, deps: SlackDeps) -> None:
    async def on_global(ack: AsyncAck, shortcut: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        try:
            # No channel here: the confirmation goes to the person directly.
            await open_modal(
                deps,
                client,
                trigger_id=shortcut["trigger_id"],
                origin=blocks.ModalOrigin(surface=Surface.SLACK_SHORTCUT),
                user_id=shortcut["user"]["id"],
            )
        except FormNotOpened as exc:
            texts = await deps.notifier.texts_for(shortcut["user"]["id"])
            text, message_blocks = blocks.problem(exc.message(texts), "", texts)
            await deps.notifier.tell_privately(
                {"user": shortcut["user"]["id"]}, text, message_blocks
            )

    async def on_message(
        ack: AsyncAck, shortcut: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond
    ) -> None:
        await ack()
        message = shortcut.get("message") or {}
        try:
            await _open_prefilled(deps, client, shortcut, message)
        except FormNotOpened as exc:
            texts = await deps.notifier.texts_for((shortcut.get("user") or {}).get("id"))
            await respond(response_type="ephemeral", text=exc.message(texts))

    app.global_shortcut(GLOBAL_SHORTCUT)(on_global)
    app.message_shortcut(MESSAGE_SHORTCUT)(on_message)


async def _open_prefilled(
    deps: SlackDeps, client: AsyncWebClient, shortcut: dict[str, Any], message: dict[str, Any]
) -> None:
    raw = message.get("text") or ""
    mentioned = mentioned_ids(raw)
    known = {
        user: person.name
        for user in mentioned
        if (person := deps.directory.cached_person(user)) is not None
    }
    opened = await open_modal(
        deps,
        client,
        trigger_id=shortcut["trigger_id"],
        origin=blocks.ModalOrigin(
            surface=Surface.SLACK_SHORTCUT,
            channel=(shortcut.get("channel") or {}).get("id"),
            response_url=shortcut.get("response_url"),
            # The confirmation goes in the message's thread (the thread it is in, if any).
            thread_ts=message.get("thread_ts") or message.get("ts"),
        ),
        user_id=(shortcut.get("user") or {}).get("id"),
        text=decode(raw, known),
    )
    missing = mentioned - set(known)
    if not missing:
        return
    names = {**known, **await names_of(deps.directory, missing)}
    if set(names) == set(known):
        return  # Slack gave no new name: the ids stay
    text = decode(raw, names)
    texts = cached_texts(deps, (shortcut.get("user") or {}).get("id"))
    counter = blocks.counter_text(analyze(text), deps.settings.sms.max_characters, texts)
    try:
        await client.views_update(
            view_id=opened["id"],
            hash=opened.get("hash"),
            view=blocks.with_text(opened, text, counter),
        )
    except SlackApiError as exc:
        log.info("kept the SMS form as opened (%s)", exc.response.get("error"))
