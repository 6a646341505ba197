"""The phones' side: a phone replies, and the sandbox posts it as KPN's inbound SMS webhook.

`POST /sandbox/inbound` `{"from": "+316...", "content": "...", "to": optional}`: `from` is the
phone (a Dutch mobile number), `to` the virtual number it writes to. Without `to`, the phone
answers the newest SMS it received: its sender when that is a number, else the sandbox's
virtual number. The payload (`webhook_bodies.inbound_sms`) goes to the inbound webhook with
the same retries as delivery reports; the answer says how the first attempt went.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from smsbot.errors import InvalidNumber
from smsbot.sandbox.bodies import BodyError, read_json
from smsbot.sandbox.control import bad_request
from smsbot.sandbox.inbox import SentReply
from smsbot.sandbox.state import STATE, SandboxState
from smsbot.sandbox.times import iso_utc
from smsbot.sandbox.webhook_bodies import inbound_sms, new_message_id
from smsbot.sms.numbers import normalize_number

_FIELDS = ("from", "content", "to")
_EXAMPLE = '{"from": "+31612345678", "content": "On my way"}'


class ReplyRefused(ValueError):
    """A reply the sandbox cannot send; the message says what to change."""


@dataclass(frozen=True)
class Reply:
    sender: str  # E.164
    recipient: str  # E.164
    content: str


def read_reply(body: Any, state: SandboxState) -> Reply:
    if not isinstance(body, dict):
        raise ReplyRefused(f"a reply is a JSON object, e.g. {_EXAMPLE}")
    unknown = sorted(set(body) - set(_FIELDS))
    if unknown:
        raise ReplyRefused(f"unknown field(s) {', '.join(unknown)}; use {', '.join(_FIELDS)}")
    sender = _number(body.get("from"), "from")
    content = body.get("content")
    limit = state.config.max_characters
    if not isinstance(content, str) or not content:
        raise ReplyRefused(f"content is required: the text the phone sends, e.g. {_EXAMPLE}")
    if len(content) > limit:
        raise ReplyRefused(f"content is {len(content)} characters; write at most {limit}")
    to = body.get("to")
    recipient = _number(to, "to") if to is not None else _answered_number(state, sender)
    return Reply(sender, recipient, content)


def _number(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise ReplyRefused(f"{name} must be a phone number written as a text, e.g. {_EXAMPLE}")
    try:
        return normalize_number(value)
    except InvalidNumber as exc:
        raise ReplyRefused(f"{name}: {exc}") from None


def _answered_number(state: SandboxState, phone: str) -> str:
    """The number a phone's reply goes to: the sender of the SMS it answers, if a number."""
    newest = state.inbox.newest_to(phone)
    if newest is not None:
        try:
            return normalize_number(newest.sender)
        except InvalidNumber:
            pass  # a name (alphanumeric sender): replies go to the virtual number
    return state.config.virtual_number


async def reply(request: web.Request) -> web.Response:
    state = request.app[STATE]
    try:
        body = await read_json(request)
        wanted = read_reply(body, state)
    except BodyError as exc:
        return bad_request(exc.message, exc.status)
    except ReplyRefused as exc:
        return bad_request(str(exc))
    url = state.inbound_webhook
    if url is None:
        return bad_request(
            "no inbound webhook is set, so a reply has nowhere to go: start the sandbox with "
            "--inbound-webhook URL (the bot's inbound route, e.g. "
            "http://127.0.0.1:3000/kpn/inbound/<token>)",
            409,
        )
    now = state.config.clock()
    message_id = new_message_id(wanted.recipient)
    payload = inbound_sms(
        sender=wanted.sender,
        recipient=wanted.recipient,
        message_id=message_id,
        content=wanted.content,
        at=datetime.fromtimestamp(now, UTC),
    )
    sent = SentReply(
        message_id=message_id,
        sender=wanted.sender,
        recipient=wanted.recipient,
        content=wanted.content,
        sent_at=iso_utc(now),
        payload=payload,
    )
    state.inbox.add_reply(sent)
    state.poster.spawn(state.poster.post(url, payload, sent.webhook))
    await sent.webhook.first_attempt.wait()
    # 202 while the post is being retried; otherwise 200, with how the webhook answered.
    status = 202 if sent.webhook.state in ("pending", "retrying") else 200
    return web.json_response(sent.to_json(), status=status)


async def list_replies(request: web.Request) -> web.Response:
    return web.json_response(request.app[STATE].inbox.replies_json())
