"""Opening the "Send SMS" modal, shared by `/sms`, the global and the message shortcut."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from smsbot.slack import blocks
from smsbot.slack.context import SlackDeps
from smsbot.slack.sending import cached_texts, warm_up
from smsbot.slack.texts import ENGLISH, Texts
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
    a "Reply by SMS" form, to the recipient it names (masked).

    The modal is in the person's language as far as the cache knows it (the trigger cannot
    wait for Slack); when Slack then says it is another, the open modal is redrawn in it."""
    if text and len(text) > PREFILL_LIMIT:
        # Slack refuses a longer initial value; an SMS allows far less anyway, and the counter
        # shows the person how much to cut.
        text = text[:PREFILL_LIMIT]

    def view_in(texts: Texts) -> dict[str, Any]:
        counter = blocks.counter_text(
            analyze(text) if text else None, deps.settings.sms.max_characters, texts
        )
        return blocks.modal_view(
            origin=origin,
            default_sender=deps.settings.kpn.sender,
            counter=counter,
            text=text,
            number=number,
            user=user,
            fixed_to=fixed_to,
            reply_number=deps.settings.kpn.reply_number,
            texts=texts,
        )

    texts = cached_texts(deps, user_id)
    view = view_in(texts)
    # A trigger_id is good for 3 seconds: this runs right after the ack, before anything slow.
    try:
        opened = await client.views_open(trigger_id=trigger_id, view=view)
    except SlackApiError as exc:
        error = exc.response.get("error")
        log.warning("could not open the SMS form: %s", error)
        raise FormNotOpened(error) from exc
    # While the person types: what the submission will check before its ack, from caches.
    await warm_up(deps, person=user, user=user_id, channel=origin.channel)
    language = await deps.notifier.texts_for(user_id)
    if language is texts:
        return opened["view"]
    # Same block and action ids: Slack keeps whatever the person has typed already.
    try:
        redrawn = await client.views_update(
            view_id=opened["view"]["id"], hash=opened["view"].get("hash"), view=view_in(language)
        )
    except SlackApiError as exc:
        log.info("kept the SMS form in its first language (%s)", exc.response.get("error"))
        return opened["view"]
    return redrawn["view"]


class FormNotOpened(Exception):
    """Slack refused `views.open` (e.g. the trigger expired); `message` says what to do, in
    the reader's language (`str()`: in English)."""

    def __init__(self, error: str | None) -> None:
        super().__init__(ENGLISH.form_not_opened.format(error=error))
        self.error = error

    def message(self, texts: Texts = ENGLISH) -> str:
        return texts.form_not_opened.format(error=self.error)
