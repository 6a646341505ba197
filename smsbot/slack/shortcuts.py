"""Shortcuts: the global "Send SMS" (`send_sms`) and the message shortcut "Send as SMS"
(`send_as_sms`), which opens the modal with the message's text as the person reads it."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from smsbot.slack import blocks
from smsbot.slack.context import SlackDeps
from smsbot.slack.modal_open import FormNotOpened, open_modal
from smsbot.slack.sending import readable_text
from smsbot.sms.request import Surface

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
            )
        except FormNotOpened as exc:
            text, message_blocks = blocks.problem(str(exc), "")
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
            await respond(response_type="ephemeral", text=str(exc))

    app.global_shortcut(GLOBAL_SHORTCUT)(on_global)
    app.message_shortcut(MESSAGE_SHORTCUT)(on_message)


async def _open_prefilled(
    deps: SlackDeps, client: AsyncWebClient, shortcut: dict[str, Any], message: dict[str, Any]
) -> None:
    await open_modal(
        deps,
        client,
        trigger_id=shortcut["trigger_id"],
        origin=blocks.ModalOrigin(
            surface=Surface.SLACK_SHORTCUT,
            channel=(shortcut.get("channel") or {}).get("id"),
            response_url=shortcut.get("response_url"),
        ),
        text=await readable_text(deps, message.get("text") or ""),
    )
