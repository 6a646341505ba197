"""Opening the "Send SMS" modal, shared by `/sms`, the global and the message shortcut."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from smsbot.slack import blocks
from smsbot.slack.context import SlackDeps
from smsbot.slack.sending import warm_up
from smsbot.sms.text import analyze

log = logging.getLogger(__name__)

PREFILL_LIMIT = blocks.PREFILL_LIMIT


async def open_modal(
    deps: SlackDeps,
    client: AsyncWebClient,
    *,
    trigger_id: str,
    origin: blocks.ModalOrigin,
    user_id: str | None = None,
    text: str | None = None,
    number: str | None = None,
    user: str | None = None,
    fixed_to: str | None = None,
) -> dict[str, Any]:
    """Opens the modal; returns the view as Slack stored it (its id and hash). `fixed_to`:
    a "Reply by SMS" form, to the recipient it names (masked)."""
    max_characters = deps.settings.sms.max_characters
    if text and len(text) > PREFILL_LIMIT:
        # Slack refuses a longer initial value; an SMS allows far less anyway, and the counter
        # shows the person how much to cut.
        text = text[:PREFILL_LIMIT]
    view = blocks.modal_view(
        origin=origin,
        default_sender=deps.settings.kpn.sender,
        counter=blocks.counter_text(analyze(text) if text else None, max_characters),
        text=text,
        number=number,
        user=user,
        fixed_to=fixed_to,
        reply_number=deps.settings.kpn.reply_number,
    )
    # A trigger_id is good for 3 seconds: this runs right after the ack, before anything slow.
    try:
        opened = await client.views_open(trigger_id=trigger_id, view=view)
    except SlackApiError as exc:
        error = exc.response.get("error")
        log.warning("could not open the SMS form: %s", error)
        raise FormNotOpened(
            f"Slack did not open the SMS form ({error}). Try again; "
            "or send at once with `/sms 0612345678 your message`."
        ) from exc
    # While the person types: what the submission will check before its ack, from caches.
    await warm_up(deps, person=user, user=user_id, channel=origin.channel)
    return opened["view"]


class FormNotOpened(Exception):
    """Slack refused `views.open` (e.g. the trigger expired); the message says what to do."""
