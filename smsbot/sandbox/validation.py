"""KPN's checks of a send request body, with the seed's rules: one message to one recipient,
a Dutch mobile number, a sender of at most 11 characters, 1 to 1000 characters of content."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from smsbot.errors import InvalidNumber
from smsbot.sms.numbers import normalize_number
from smsbot.sms.text import TextInfo, analyze

MAX_SENDER_LENGTH = 11
# A number as sender (a KPN virtual number, so the phone can reply): up to 15 digits, as GSM
# allows for a numeric originator, with an optional "+".
_NUMERIC_SENDER = re.compile(r"^\+?[0-9]{1,15}$")
DEFAULT_SENDER = "KPN"  # what KPN uses when the body names no sender


class SendRefused(Exception):
    """The body breaks one of KPN's rules: answered as 400 with `message` and `info`.

    `info` names the offending field, so a client can point at it.
    """

    def __init__(self, message: str, info: str) -> None:
        super().__init__(message)
        self.message = message
        self.info = info


@dataclass(frozen=True)
class ValidSend:
    sender: str
    mobile_number: str  # E.164
    content: str
    text: TextInfo
    webhook_url: str | None
    expirein: str | None


def validate_send(body: Any, *, max_characters: int) -> ValidSend:
    if not isinstance(body, dict):
        raise SendRefused(
            'The request body must be a JSON object: {"sender": "...", "messages": '
            '[{"mobile_number": "...", "content": "..."}]}',
            "body",
        )
    sender = _sender(body.get("sender", DEFAULT_SENDER))
    message = _single_message(body.get("messages"))
    mobile_number = _mobile_number(message.get("mobile_number"))
    content, text = _content(message.get("content"), max_characters)
    return ValidSend(
        sender=sender,
        mobile_number=mobile_number,
        content=content,
        text=text,
        webhook_url=_webhook_url(body.get("webhook_url")),
        expirein=_expirein(body.get("expirein")),
    )


def _sender(sender: Any) -> str:
    if isinstance(sender, str) and _NUMERIC_SENDER.match(sender):
        return sender
    if not isinstance(sender, str) or not 1 <= len(sender) <= MAX_SENDER_LENGTH:
        shown = f"{len(sender)} characters" if isinstance(sender, str) else repr(sender)
        raise SendRefused(
            f"sender must be a text of 1 to {MAX_SENDER_LENGTH} characters, not {shown}. "
            "Use a shorter name or a short code, or a number of up to 15 digits.",
            "sender",
        )
    return sender


def _single_message(messages: Any) -> dict[str, Any]:
    if not isinstance(messages, list) or not messages:
        raise SendRefused(
            'messages must be a list with one item: [{"mobile_number": "06...", "content": "..."}]',
            "messages",
        )
    if len(messages) > 1:
        raise SendRefused(
            f"messages has {len(messages)} items; the sandbox accepts one message per call, "
            "as smsbot sends one SMS per call. Send each message in its own request.",
            "messages",
        )
    message = messages[0]
    if not isinstance(message, dict):
        raise SendRefused(
            'each message must be an object: {"mobile_number": "...", "content": "..."}',
            "messages[0]",
        )
    return message


def _mobile_number(raw: Any) -> str:
    field = "messages[0].mobile_number"
    if not isinstance(raw, str):
        raise SendRefused('mobile_number is required and must be a text, e.g. "0612345678"', field)
    if "," in raw:
        raise SendRefused(
            "mobile_number holds a comma-separated list; the sandbox accepts one recipient per "
            "call, as smsbot sends one SMS per recipient. Send one request per number.",
            field,
        )
    try:
        return normalize_number(raw)
    except InvalidNumber as exc:
        raise SendRefused(str(exc), field) from None


def _content(content: Any, max_characters: int) -> tuple[str, TextInfo]:
    field = "messages[0].content"
    if not isinstance(content, str):
        raise SendRefused("content is required and must be a text", field)
    # KPN's own rule, 1 to 1000 characters; smsbot's stricter ones (no blank text) are the
    # bot's business, so that a client refusing less still finds out what KPN would do.
    if not content:
        raise SendRefused(f"content is empty; write 1 to {max_characters} characters", field)
    if len(content) > max_characters:
        raise SendRefused(
            f"content is {len(content)} characters; KPN accepts at most {max_characters}. "
            f"Shorten it by {len(content) - max_characters}.",
            field,
        )
    return content, analyze(content)


def _webhook_url(url: Any) -> str | None:
    if url is None:
        return None
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
        raise SendRefused(
            f"webhook_url must be an http or https URL, not {url!r}; leave it out if you "
            "want no delivery receipts.",
            "webhook_url",
        )
    return url


def _expirein(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not re.fullmatch(r"\d{1,9}", value):
        raise SendRefused(
            f'expirein must be a number of seconds written as a text, e.g. "3600", not {value!r}; '
            "leave it out for no expiry.",
            "expirein",
        )
    return value
