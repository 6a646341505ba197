"""The "Send SMS" modal once open: the live counter while typing, and the submission.

Nothing waits on Slack before an ack (Slack allows 3 s; one slow Slack call would spend them).
The submission checks before its ack what needs no Slack call: the number, the sender, the text,
and, from caches, the chosen person's profile phone and the allowlist. Those problems go back
inline on the field that is wrong (`response_action: errors`), the modal staying open with what
the person typed; that is the only moment Slack shows inline errors. The caches are warmed
while the person fills in the form: the allowlist's user groups when it opens, a person's
profile as soon as they are picked (the picker dispatches an action). What is still unknown at
the submission (Slack was slow) is checked after the ack, and a problem found then is told to
the sender privately, as the slash command does.
Only a clean submission closes the modal and goes to the service.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient

from smsbot.errors import InputError
from smsbot.policy.access import check_access
from smsbot.slack import blocks
from smsbot.slack.context import SlackDeps
from smsbot.slack.counter import CounterUpdates
from smsbot.slack.reply_button import answer_reply
from smsbot.slack.sending import cached_texts, hand_over, phone_from, phone_of_person, warm_up
from smsbot.slack.texts import Texts
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
            analyze(action.get("value") or ""),
            deps.settings.sms.max_characters,
            cached_texts(deps, (body.get("user") or {}).get("id")),
        )
        # Pure code before the ack: the update itself runs in the background, coalesced.
        counters.submit(client, body["view"], counter)
        await ack()

    async def on_person_picked(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]):
        await ack()
        # The submission will find the profile cached and can show its problem inline.
        await warm_up(deps, person=action.get("selected_user"))

    async def on_submit(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        user_id = body["user"]["id"]
        origin = blocks.ModalOrigin.load(view.get("private_metadata"))
        form = _Form.read(view)
        if origin.reply_to:  # "Reply by SMS": the recipient is fixed, found after the ack
            await answer_reply(deps, ack, body, view, origin, form.sender, form.text)
            return
        # The person's language was asked of Slack when the modal opened: it is cached.
        texts = cached_texts(deps, user_id)
        check = _check(deps, form, texts)
        if check.errors:
            await ack(response_action="errors", errors=check.errors)
            return
        permitted = deps.service.allowlist.decided(user_id, origin.channel)
        if permitted is False:
            await _refuse_inline(deps, ack, form, origin, user_id, view, check, texts)
            return
        await ack()
        if check.number is None:  # the person's profile was not cached: ask Slack now
            assert form.person is not None
            try:
                check.number = await phone_of_person(deps, form.person, texts=texts)
            except InputError as exc:
                await _tell(deps, origin, user_id, str(exc), texts)
                return
            person = deps.directory.cached_person(form.person)
            check.name = person.name if person else None
        extra = {"recipient_name": check.name} if check.name else {}
        # When the allowlist was not decided from the cache, the service decides it.
        await hand_over(deps, _request(form, origin, user_id, check.number, view, extra=extra))

    app.action(blocks.TEXT_ACTION)(on_typing)
    app.action(blocks.PERSON_ACTION)(on_person_picked)
    app.view(blocks.MODAL_CALLBACK_ID)(on_submit)


async def _refuse_inline(
    deps: SlackDeps,
    ack: AsyncAck,
    form: _Form,
    origin: blocks.ModalOrigin,
    user_id: str,
    view: dict[str, Any],
    check: _Checked,
    texts: Texts,
) -> None:
    # Every group the decision needed is cached: check_access asks Slack nothing here.
    probe = _request(form, origin, user_id, check.number or "", view)
    refusal = await check_access(
        probe,
        deps.service.allowlist,
        allowed_workflows=deps.service.allowed_workflows,
        admin_contact=deps.settings.slack.admin_contact,
    )
    assert refusal is not None
    await ack(response_action="errors", errors={blocks.TO_BLOCK: texts.error(refusal)})
    # The person has just been told nothing was sent: the refusal is recorded for the audit
    # as it stands, never authorized again (a second check might pass) or sent.
    number = check.number
    if number is None and form.person:
        try:
            number = await phone_of_person(deps, form.person)
        except InputError:
            number = form.person  # no number to record; the audit keeps who was meant
    refused = _request(form, origin, user_id, number or "", view, refusal=True)
    try:
        await deps.service.record_refusal(refused, refusal)
    except Exception:
        log.exception("could not record the refusal of %s", refused.idempotency_key)


async def _tell(
    deps: SlackDeps, origin: blocks.ModalOrigin, user_id: str, message: str, texts: Texts
) -> None:
    text, message_blocks = blocks.problem(message, "", texts)
    reply = {"user": user_id, "channel": origin.channel, "response_url": origin.response_url}
    await deps.notifier.tell_privately(reply, text, message_blocks)


@dataclass
class _Form:
    number: str
    person: str | None
    sender: str
    text: str
    text_block: str = blocks.TEXT_BLOCK  # where the message input is (and its errors go)

    @classmethod
    def read(cls, view: dict[str, Any]) -> _Form:
        values = view.get("state", {}).get("values", {})

        def field(block: str, action: str, key: str = "value") -> Any:
            return (values.get(block, {}).get(action) or {}).get(key)

        text_block = next((b for b in blocks.TEXT_BLOCKS if b in values), blocks.TEXT_BLOCK)
        return cls(
            number=(field(blocks.TO_BLOCK, blocks.TO_ACTION) or "").strip(),
            person=field(blocks.PERSON_BLOCK, blocks.PERSON_ACTION, "selected_user"),
            sender=(field(blocks.SENDER_BLOCK, blocks.SENDER_ACTION) or "").strip(),
            text=field(text_block, blocks.TEXT_ACTION) or "",
            text_block=text_block,
        )


@dataclass
class _Checked:
    errors: dict[str, str]
    number: str | None = None  # E.164; None while a picked person's profile is not known yet
    name: str | None = None


def _check(deps: SlackDeps, form: _Form, texts: Texts) -> _Checked:
    """Inline errors by block id, from pure code and caches only: no Slack call."""
    check = _Checked(errors={})
    if form.number and form.person:
        check.errors[blocks.TO_BLOCK] = texts.number_and_person
    elif form.person:
        person = deps.directory.cached_person(form.person)
        if person is not None:
            check.name = person.name
            try:
                mask = deps.settings.audit.mask_numbers
                check.number = phone_from(person, mask_numbers=mask, texts=texts)
            except InputError as exc:
                check.errors[blocks.PERSON_BLOCK] = texts.error(exc)
    elif form.number:
        try:
            check.number = normalize_number(form.number)
        except InputError as exc:
            check.errors[blocks.TO_BLOCK] = texts.error(exc)
    else:
        check.errors[blocks.TO_BLOCK] = texts.no_number_or_person
    try:
        validate_sender(form.sender or None, deps.settings.kpn.sender)
    except InputError as exc:
        check.errors[blocks.SENDER_BLOCK] = texts.error(exc)
    try:
        validate_text(form.text, deps.settings.sms.max_characters)
    except InputError as exc:
        check.errors[form.text_block] = texts.error(exc)
    return check


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
    if origin.thread_ts:
        reply["thread_ts"] = origin.thread_ts
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
