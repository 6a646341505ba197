"""Block Kit builders: the modal, the live counter, confirmations, problems, help and history.

Pure functions from values to Slack JSON; nothing here talks to Slack. Every piece of user text
that goes into mrkdwn passes through `escape_mrkdwn`, and mrkdwn fields are `verbatim`, so
`<!channel>` or `@here` in an SMS shows as text and pings nobody.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from smsbot.slack.escaping import escape_mrkdwn
from smsbot.slack.texts import ENGLISH, Texts
from smsbot.sms.text import TextInfo

MODAL_CALLBACK_ID = "sms_modal"
# Block and action ids of the modal; the ids of input blocks are also the keys of inline errors.
TO_BLOCK, TO_ACTION = "to", "sms_number"
PERSON_BLOCK, PERSON_ACTION = "person", "sms_person"
SENDER_BLOCK, SENDER_ACTION = "sender", "sms_sender"
TEXT_BLOCK, TEXT_ACTION = "text", "sms_message"
# The message input under another block id: Slack keeps what is in an input across
# `views.update` as long as its block id stays, so a new prefill needs a new id.
TEXT_BLOCK_RENAMED = "text_named"
TEXT_BLOCKS = (TEXT_BLOCK, TEXT_BLOCK_RENAMED)
COUNTER_BLOCK = "counter"
PREFILL_LIMIT = 3000  # Slack's limit for a plain_text_input's initial_value


@dataclass(frozen=True)
class ModalOrigin:
    """Where a modal was opened, kept in its `private_metadata` for the confirmation."""

    surface: str
    channel: str | None = None
    response_url: str | None = None
    # The thread the confirmation goes in: the message a message shortcut was used on, or the
    # thread a "Reply by SMS" button was in.
    thread_ts: str | None = None
    # A "Reply by SMS" form: the conversation it answers (the button's value). The recipient is
    # fixed, and read from the store at submission: the number never goes to Slack.
    reply_to: str | None = None

    def dump(self) -> str:
        data = {"surface": self.surface, "channel": self.channel, "response_url": self.response_url}
        if self.thread_ts:
            data["thread_ts"] = self.thread_ts
        if self.reply_to:
            data["reply_to"] = self.reply_to
        return json.dumps(data)

    @classmethod
    def load(cls, metadata: str | None) -> ModalOrigin:
        data = json.loads(metadata) if metadata else {}
        return cls(
            surface=data.get("surface", "slack_modal"),
            channel=data.get("channel"),
            response_url=data.get("response_url"),
            reply_to=data.get("reply_to"),
            thread_ts=data.get("thread_ts"),
        )


# Slack's limits (Block Kit reference): a text object in a section or context block at most
# 3,000 characters, a message's top-level `text` at most 40,000 (Slack cuts it silently), a
# modal's title 24. Over a limit Slack refuses the whole message (`invalid_blocks`), so every
# text is cut here to fit, with a note saying so. Escaping counts: a 1,000-character SMS of
# `&<>` is 4,000-5,000 characters of mrkdwn.
TEXT_LIMIT = 3000
MESSAGE_TEXT_LIMIT = 40000
CUT_NOTE = ENGLISH.cut_note
_ENTITY_START = re.compile(r"&[a-z]{0,3}$")


def fit(text: str, limit: int = TEXT_LIMIT, note: str = CUT_NOTE) -> str:
    """`text` if it fits in `limit` characters, else its start and `note` in exactly that many;
    never cut inside an `&amp;`-style entity, which would show as a stray `&am`."""
    if len(text) <= limit:
        return text
    head = text[: max(0, limit - len(note))]
    head = _ENTITY_START.sub("", head)
    return head + note


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": fit(text), "emoji": True}


def _mrkdwn(text: str, cut_note: str = CUT_NOTE) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": fit(text, note=cut_note), "verbatim": True}


def counter_text(info: TextInfo | None, max_characters: int, texts: Texts = ENGLISH) -> str:
    """The line under the message: characters, encoding, parts, and why it is UCS-2."""
    if info is None or info.characters == 0:
        return texts.counter_empty
    line = texts.counter_line.format(
        characters=texts.characters_text(info.characters),
        encoding=info.encoding,
        parts=texts.parts_text(info.parts),
    )
    if info.ucs2_characters:
        line += texts.ucs2_because.format(shown=" ".join(info.ucs2_characters[:5]))
    if info.characters > max_characters:
        line += texts.over_limit.format(max_characters=max_characters)
    return line


def modal_view(
    *,
    origin: ModalOrigin,
    default_sender: str,
    counter: str,
    text: str | None = None,
    number: str | None = None,
    user: str | None = None,
    fixed_to: str | None = None,
    reply_number: str | None = None,
    texts: Texts = ENGLISH,
) -> dict[str, Any]:
    """The "Send SMS" modal. The message field dispatches on each pause in typing, so the
    counter line under it can follow. With `fixed_to` (a "Reply by SMS" form: who it answers,
    masked) the recipient is shown, not asked. With `reply_number` (SMSBOT_KPN__REPLY_NUMBER),
    an empty sender sends from it, and the hint says a name cannot be replied to."""
    number_input: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": TO_ACTION,
        "placeholder": _plain("06 1234 5678"),
    }
    if number:
        number_input["initial_value"] = number
    person_select: dict[str, Any] = {
        "type": "users_select",
        "action_id": PERSON_ACTION,
        "placeholder": _plain(texts.person_placeholder),
    }
    if user:
        person_select["initial_user"] = user
    message_input: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": TEXT_ACTION,
        "multiline": True,
        "dispatch_action_config": {"trigger_actions_on": ["on_character_entered"]},
    }
    if text:
        message_input["initial_value"] = text
    sender_input = {
        "type": "plain_text_input",
        "action_id": SENDER_ACTION,
        "placeholder": _plain(reply_number or default_sender),
    }
    if reply_number:
        sender_hint = texts.sender_hint_reply.format(reply_number=reply_number)
    else:
        sender_hint = texts.sender_hint.format(default_sender=default_sender)
    recipient_blocks: list[dict[str, Any]] = [
        {
            "type": "input",
            "block_id": TO_BLOCK,
            "optional": True,
            "label": _plain(texts.number_label),
            "hint": _plain(texts.number_hint),
            "element": number_input,
        },
        {
            "type": "input",
            "block_id": PERSON_BLOCK,
            "optional": True,
            # Picking a person dispatches an action: their profile is read then, so the
            # submission finds it cached and can show its problem inline.
            "dispatch_action": True,
            "label": _plain(texts.person_label),
            "hint": _plain(texts.person_hint),
            "element": person_select,
        },
    ]
    if fixed_to:
        recipient_blocks = [
            {
                "type": "section",
                "text": _mrkdwn(texts.reply_to.format(to=escape_mrkdwn(fit(fixed_to, 200)))),
            }
        ]
    return {
        "type": "modal",
        "callback_id": MODAL_CALLBACK_ID,
        "title": _plain(texts.reply_title if fixed_to else texts.modal_title),
        "submit": _plain(texts.modal_submit),
        "close": _plain(texts.modal_close),
        "private_metadata": origin.dump(),
        "blocks": [
            *recipient_blocks,
            {
                "type": "input",
                "block_id": SENDER_BLOCK,
                "optional": True,
                "label": _plain(texts.sender_label),
                "hint": _plain(sender_hint),
                "element": sender_input,
            },
            {
                "type": "input",
                "block_id": TEXT_BLOCK,
                "dispatch_action": True,
                "label": _plain(texts.message_label),
                "element": message_input,
            },
            counter_block(counter),
        ],
    }


def counter_block(text: str) -> dict[str, Any]:
    return {"type": "context", "block_id": COUNTER_BLOCK, "elements": [_plain(text)]}


def with_counter(view: Mapping[str, Any], counter: str) -> dict[str, Any]:
    """The same modal with a new counter line, for `views.update`.

    Only the fields `views.update` accepts are kept; block and action ids stay the same, which
    is what makes Slack keep what the person has typed into the inputs.
    """
    blocks = [
        counter_block(counter) if block.get("block_id") == COUNTER_BLOCK else block
        for block in view.get("blocks", [])
    ]
    return _updatable(view, blocks)


def _updatable(view: Mapping[str, Any], blocks: list[Mapping[str, Any]]) -> dict[str, Any]:
    kept = ("type", "callback_id", "title", "submit", "close", "private_metadata")
    return {**{key: view[key] for key in kept if key in view}, "blocks": blocks}


def with_text(view: Mapping[str, Any], text: str, counter: str) -> dict[str, Any]:
    """The same modal with `text` as the message's prefill (under the other block id, so Slack
    shows it) and `counter` under it, for `views.update`."""
    result = []
    for block in view.get("blocks", []):
        if block.get("block_id") in TEXT_BLOCKS:
            renamed = TEXT_BLOCK_RENAMED if block["block_id"] == TEXT_BLOCK else TEXT_BLOCK
            element = {**block["element"], "initial_value": text[:PREFILL_LIMIT]}
            block = {**block, "block_id": renamed, "element": element}
        elif block.get("block_id") == COUNTER_BLOCK:
            block = counter_block(counter)
        result.append(block)
    return _updatable(view, result)


def confirmation(
    *,
    actor: str,
    to: str,
    text: str,
    parts: int | None,
    encoding: str | None,
    document_id: str | None,
    texts: Texts = ENGLISH,
    reply_to: str | None = None,
) -> tuple[str, list[dict[str, Any]]]:
    """The message posted after a send: who, to which (masked) number, how, KPN's id; with
    `reply_to` (the SMS's request id, when it went out from the reply number), a "Reply by SMS"
    button."""
    parts_text = texts.parts_text(parts)
    summary = texts.sent_summary.format(actor=actor, to=escape_mrkdwn(to))
    document = f"{texts.kpn_document} `{escape_mrkdwn(document_id or '?')}`"
    details = f"{parts_text} · {encoding} · {document}"
    quoted = "\n".join("> " + line for line in escape_mrkdwn(text).splitlines() or [""])
    fallback = fit(
        texts.sent_fallback.format(
            to=to, parts=parts_text, encoding=encoding, document_id=document_id
        ),
        MESSAGE_TEXT_LIMIT,
        texts.cut_note,
    )
    blocks = [
        {"type": "section", "text": _mrkdwn(summary, texts.cut_note)},
        {"type": "section", "text": _mrkdwn(quoted, texts.cut_note)},
        {"type": "context", "elements": [_mrkdwn(details, texts.cut_note)]},
    ]
    if reply_to:
        blocks.append(reply_button(reply_to, texts))
    return fallback, blocks


REPLY_ACTION = "sms_reply"


def reply_button(value: str, texts: Texts = ENGLISH) -> dict[str, Any]:
    """ "Reply by SMS": opens the Send SMS modal to the number of the conversation `value`
    names (`smsbot.slack.reply_button`); the number itself is never in the message."""
    return {
        "type": "actions",
        "elements": [
            {
                "type": "button",
                "action_id": REPLY_ACTION,
                "text": _plain(texts.reply_title),
                "value": value,
            }
        ],
    }


def pending(to: str, texts: Texts = ENGLISH) -> tuple[str, list[dict[str, Any]]]:
    """The line the sender sees while their SMS goes out; the outcome replaces it."""
    text = texts.sending.format(to=to)
    return text, [{"type": "context", "elements": [_mrkdwn(f":hourglass: {escape_mrkdwn(text)}")]}]


def problem(headline: str, advice: str, texts: Texts = ENGLISH) -> tuple[str, list[dict[str, Any]]]:
    """An ephemeral answer when something was refused or failed: what happened, what to do."""
    text = fit(f"{headline} {advice}".strip(), MESSAGE_TEXT_LIMIT, texts.cut_note)
    blocks = [
        {"type": "section", "text": _mrkdwn(f":warning: {escape_mrkdwn(text)}", texts.cut_note)}
    ]
    return text, blocks


def help_text(command: str = "/sms", texts: Texts = ENGLISH) -> str:
    return texts.help.format(command=command)


@dataclass(frozen=True)
class HistoryLine:
    when: str
    to: str
    outcome: str
    parts: int | None
    document_id: str | None
    delivery: str = ""  # `smsbot.delivery_words.delivery_line`: "✓ delivered 12:03:04 CET (4 s)"


def history_blocks(
    lines: Iterable[HistoryLine], texts: Texts = ENGLISH
) -> tuple[str, list[dict[str, Any]]]:
    rows = [
        f"`{line.when}`  {escape_mrkdwn(line.to)}  *{texts.outcome(line.outcome)}*"
        + (f"  {texts.parts_text(line.parts)}" if line.parts else "")
        + (f"  `{escape_mrkdwn(line.document_id)}`" if line.document_id else "")
        + (f"  {escape_mrkdwn(line.delivery)}" if line.delivery else "")
        for line in lines
    ]
    if not rows:
        text = texts.history_empty
        return text, [{"type": "section", "text": _mrkdwn(text)}]
    text = fit(texts.history_heading + "\n" + "\n".join(rows), MESSAGE_TEXT_LIMIT, texts.cut_note)
    return text, [{"type": "section", "text": _mrkdwn(text, texts.cut_note)}]
