"""Shortcuts: the global "Send SMS" (`send_sms`) and the message shortcut "Send as SMS"
(`send_as_sms`), which opens the modal with the message's text as the person reads it."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient

from smsbot.slack import blocks
from smsbot.slack.context import SlackDeps
from smsbot.slack.modal_open import open_modal
from smsbot.slack.sending import readable_text
from smsbot.sms.request import Surface

GLOBAL_SHORTCUT = "send_sms"
MESSAGE_SHORTCUT = "send_as_sms"


def register(app: AsyncApp, deps: SlackDeps) -> None:
    async def on_global(ack: AsyncAck, shortcut: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        # No channel here: the confirmation goes to the person directly.
        await open_modal(
            deps,
            client,
            trigger_id=shortcut["trigger_id"],
            origin=blocks.ModalOrigin(surface=Surface.SLACK_SHORTCUT),
        )

    async def on_message(ack: AsyncAck, shortcut: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        message = shortcut.get("message") or {}
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

    app.global_shortcut(GLOBAL_SHORTCUT)(on_global)
    app.message_shortcut(MESSAGE_SHORTCUT)(on_message)
