"""The "Send SMS" modal once open: the live counter while typing, and the submission.

On submission everything that can be checked without sending is checked before the ack
(number or person, sender, text, and the allowlist by the service's own rule), and problems go
back inline on the field that is wrong (`response_action: errors`), so the modal stays open
with the text the person typed.
Only a clean submission closes the modal and goes to the service.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient

from smsbot.errors import InputError
from smsbot.policy.access import check_access
from smsbot.slack import blocks
from smsbot.slack.context import SlackDeps
from smsbot.slack.counter import CounterUpdates
from smsbot.slack.sending import hand_over, name_or_none, phone_of_person
from smsbot.sms.numbers import normalize_number
from smsbot.sms.request import SendRequest, Surface
from smsbot.sms.sender import validate_sender
from smsbot.sms.text import analyze, validate_text

log = logging.getLogger(__name__)


def register(app: AsyncApp, deps: SlackDeps) -> None:
    counters = CounterUpdates()

    async def on_typing(
        ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient
    ) -> None:
        counter = blocks.counter_text(
            analyze(action.get("value") or ""), deps.settings.sms.max_characters
        )
        # Pure code before the ack: the update itself runs in the background, coalesced.
        counters.submit(client, body["view"], counter)
        await ack()

    async def on_submit(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        user_id = body["user"]["id"]
        origin = blocks.ModalOrigin.load(view.get("private_metadata"))
        form = _Form.read(view)
        errors, number, recipient_name = await _check(deps, form, user_id)
        if errors:
            await ack(response_action="errors", errors=errors)
            return
        assert number is not None
        extra = {"recipient_name": recipient_name} if recipient_name else {}
        request = _request(form, origin, user_id, number, view, extra=extra)
        refusal = await check_access(
            request,
            deps.service.allowlist,
            allowed_workflows=deps.settings.allow.workflows,
            admin_contact=deps.settings.slack.admin_contact,
        )
        if refusal is not None:
            await ack(response_action="errors", errors={blocks.TO_BLOCK: refusal.message})
            # The person has just been told nothing was sent: the refusal is recorded for the
            # audit as it stands, never authorized again (a second check might pass) or sent.
            refused = _request(form, origin, user_id, number, view, refusal=True)
            try:
                await deps.service.record_refusal(refused, refusal)
            except Exception:
                log.exception("could not record the refusal of %s", refused.idempotency_key)
            return
        await ack()
        await hand_over(deps, request)

    app.action(blocks.TEXT_ACTION)(on_typing)
    app.view(blocks.MODAL_CALLBACK_ID)(on_submit)


class _Form:
    def __init__(self, number: str, person: str | None, sender: str, text: str) -> None:
        self.number, self.person, self.sender, self.text = number, person, sender, text

    @classmethod
    def read(cls, view: dict[str, Any]) -> _Form:
        values = view.get("state", {}).get("values", {})

        def field(block: str, action: str, key: str = "value") -> Any:
            return (values.get(block, {}).get(action) or {}).get(key)

        return cls(
            number=(field(blocks.TO_BLOCK, blocks.TO_ACTION) or "").strip(),
            person=field(blocks.PERSON_BLOCK, blocks.PERSON_ACTION, "selected_user"),
            sender=(field(blocks.SENDER_BLOCK, blocks.SENDER_ACTION) or "").strip(),
            text=field(blocks.TEXT_BLOCK, blocks.TEXT_ACTION) or "",
        )


async def _check(
    deps: SlackDeps, form: _Form, user_id: str
) -> tuple[dict[str, str], str | None, str | None]:
    """Inline errors by block id, the recipient's E.164 number, and their name if a person."""
    errors: dict[str, str] = {}
    number = name = None
    if form.number and form.person:
        errors[blocks.TO_BLOCK] = "Give a number or pick a person, not both."
    elif form.person:
        try:
            number = await phone_of_person(deps, form.person)
            name = await name_or_none(deps, form.person)
        except InputError as exc:
            errors[blocks.PERSON_BLOCK] = str(exc)
    elif form.number:
        try:
            number = normalize_number(form.number)
        except InputError as exc:
            errors[blocks.TO_BLOCK] = str(exc)
    else:
        errors[blocks.TO_BLOCK] = "Type a Dutch mobile number, or pick a person below."
    try:
        validate_sender(form.sender or None, deps.settings.kpn.sender)
    except InputError as exc:
        errors[blocks.SENDER_BLOCK] = str(exc)
    try:
        validate_text(form.text, deps.settings.sms.max_characters)
    except InputError as exc:
        errors[blocks.TEXT_BLOCK] = str(exc)
    return errors, number, name


def _request(
    form: _Form,
    origin: blocks.ModalOrigin,
    user_id: str,
    to: str,
    view: dict[str, Any],
    *,
    refusal: bool = False,
    extra: dict[str, Any] | None = None,
) -> SendRequest:
    reply: dict[str, Any] = {
        "response_url": origin.response_url,
        "user": user_id,
        "channel": origin.channel,
        **(extra or {}),
    }
    if refusal:
        reply["told"] = True
    # One modal sends one SMS: a double click on Send submits the same view twice. A refused
    # attempt gets a key of its own, so the same modal can still send once the person is added.
    key = f"slack:modal:{view['id']}"
    if refusal:
        key += f":refused:{uuid.uuid4().hex}"
    return SendRequest(
        actor=user_id,
        surface=Surface(origin.surface),
        to=to,
        text=form.text,
        sender=form.sender or None,
        channel=origin.channel,
        idempotency_key=key,
        reply=reply,
    )
