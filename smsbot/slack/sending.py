"""The steps every Slack surface shares between "Slack asked" and "the service has it".

Why `enqueue` and not `submit` in the background: `enqueue` records the request (queued) and
returns at once; the outbox worker sends it and the notifier answers from `request.reply`. So a
request, once recorded, survives a restart and is still answered, and the listener never waits
for KPN. `submit` in a background task would hold the whole send in memory, where a restart
loses the answer to Slack.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

from slack_sdk.errors import SlackApiError

from smsbot.errors import InvalidNumber
from smsbot.slack import blocks
from smsbot.slack.context import SlackDeps
from smsbot.slack.directory import Person, SlackDirectory, UnknownProfileField
from smsbot.slack.escaping import decode, mentioned_ids
from smsbot.slack.texts import ENGLISH, Texts, for_locale
from smsbot.sms.numbers import mask_number, normalize_number
from smsbot.sms.request import SendRequest, SendResult

log = logging.getLogger(__name__)


async def phone_of_person(
    deps: SlackDeps, user_id: str, label: str | None = None, *, texts: Texts = ENGLISH
) -> str:
    """The Dutch mobile number on a person's Slack profile; `InvalidNumber` says, in `texts`'
    language, what to do."""
    return await profile_phone(
        deps.directory,
        user_id,
        label,
        mask_numbers=deps.settings.audit.mask_numbers,
        texts=texts,
    )


async def profile_phone(
    directory: SlackDirectory,
    user_id: str,
    label: str | None = None,
    *,
    mask_numbers: bool = True,
    instead: str | None = None,
    texts: Texts = ENGLISH,
) -> str:
    """`phone_of_person` for a caller without `SlackDeps` (the workflow step); `instead` ends
    each message with what the asker can do instead of using the profile."""
    instead = instead or texts.type_a_number_instead
    try:
        person = await directory.person(user_id)
    except UnknownProfileField as exc:
        raise InvalidNumber(
            texts.profile_field_missing.format(field=repr(exc.field), instead=instead)
        ) from exc
    except SlackApiError as exc:
        who = f"@{label}" if label else f"<@{user_id}>"
        raise InvalidNumber(
            texts.profile_unreadable.format(
                who=who, error=exc.response.get("error"), instead=instead
            )
        ) from exc
    return phone_from(person, label, mask_numbers=mask_numbers, instead=instead, texts=texts)


def phone_from(
    person: Person,
    label: str | None = None,
    *,
    mask_numbers: bool = True,
    instead: str | None = None,
    texts: Texts = ENGLISH,
) -> str:
    """The E.164 number from a person's profile (pure: no Slack call); `InvalidNumber` says
    what to do when there is none or it is not a Dutch mobile number."""
    instead = instead or texts.type_a_number_instead
    who = f"@{label or person.name}"
    phone = person.phone
    if not phone:
        raise InvalidNumber(
            texts.profile_no_phone.format(who=who, field=person.phone_source, instead=instead)
        )
    try:
        return normalize_number(phone)
    except InvalidNumber as exc:
        # Not the validator's own message: it repeats the number in full, and this is someone
        # else's number shown to the sender.
        shown = _masked_raw(phone) if mask_numbers else phone
        raise InvalidNumber(
            texts.profile_not_dutch.format(who=who, shown=shown, instead=instead)
        ) from exc


def _masked_raw(phone: str) -> str:
    digits = [ch for ch in phone if ch.isdigit()]
    if len(digits) <= 4:
        return "****"
    try:
        return mask_number(normalize_number(phone))
    except InvalidNumber:
        return "****" + "".join(digits[-4:])


def cached_texts(deps: SlackDeps, user_id: str | None) -> Texts:
    """The reader's catalogue from the cache only (English when not cached): for what goes
    before an ack or a trigger's 3 seconds, which cannot wait for Slack to say the language."""
    person = deps.directory.cached_person(user_id) if user_id else None
    return for_locale(person.locale if person else None)


async def name_or_none(deps: SlackDeps, user_id: str) -> str | None:
    """A person's name for the confirmation; without one it shows the number alone."""
    try:
        return await deps.directory.name_of(user_id)
    except SlackApiError:
        log.info("no name for the recipient; the confirmation shows the number alone")
        return None


async def readable_text(deps: SlackDeps, escaped: str) -> str:
    """Slack's escaped text as the person typed it, with names for unlabelled mentions."""
    return decode(escaped, await names_of(deps.directory, mentioned_ids(escaped)))


async def names_of(directory: SlackDirectory, user_ids: Iterable[str]) -> dict[str, str]:
    """Names for the ids Slack can give, asked all at once (a message may mention many)."""
    ids = list(user_ids)
    answers = await asyncio.gather(*(directory.name_of(u) for u in ids), return_exceptions=True)
    names = {}
    for user_id, answer in zip(ids, answers, strict=True):
        if isinstance(answer, str):
            names[user_id] = answer
        else:
            log.info("no name for a mentioned user; the SMS shows the id")
    return names


async def warm_up(
    deps: SlackDeps,
    *,
    person: str | None = None,
    user: str | None = None,
    channel: str | None = None,
) -> None:
    """Fills the caches that a later check reads before its ack (a person's profile, the
    allowlist's user groups for `user` in `channel`); a failure is only logged, the check
    then happens after the ack instead."""
    try:
        if person:
            await deps.directory.person(person)
        if user:
            await deps.service.allowlist.permits(user, channel)
    except Exception as exc:
        log.info("could not look ahead in Slack (%s); checking after the ack", exc)


async def hand_over(deps: SlackDeps, request: SendRequest) -> SendResult | None:
    """Give the request to the service; the notifier answers the person when it is final.

    The ack has gone already, so if the service cannot even record the request (the store is
    down) the person must still hear about it here, or they would wait for nothing.
    """
    try:
        result = await deps.service.enqueue(request)
    except Exception as exc:
        log.exception("could not hand Slack request %s to the service", request.idempotency_key)
        texts = await deps.notifier.texts_for(request.reply.get("user"))
        text, message_blocks = blocks.problem(
            texts.could_not_record.format(
                error=type(exc).__name__, admin=deps.settings.slack.admin_contact
            ),
            "",
            texts,
        )
        await deps.notifier.tell_privately(request.reply, text, message_blocks)
        return None
    if result.duplicate:
        # A Slack retry or a double submit: the first one is answered, this one stays quiet.
        log.info("Slack request %s was already handled", request.idempotency_key)
    return result
