"""Reading request bodies without ever failing with a 500: every way a body can be unreadable
(a charset nobody knows, bytes that are not UTF-8, JSON nested past what a parser can follow,
a broken multipart body, more bytes than the server takes) becomes a `BodyError` saying what
to send instead, which each route answers in its own shape (KPN's, Apigee's, the sandbox's)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

# JSON (RFC 8259) and forms are UTF-8; any other declared charset is refused rather than
# guessed at, so a client learns of its mistake here and not from KPN in production.
_UTF8_NAMES = frozenset({"utf-8", "utf8"})
FORM_TYPE = "application/x-www-form-urlencoded"
JSON_TYPE = "application/json"


class BodyError(ValueError):
    """A body that cannot be read; the message says what was wrong and what to send."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


async def read_bytes(request: web.Request) -> bytes:
    try:
        return await request.read()
    except web.HTTPRequestEntityTooLarge as exc:
        raise BodyError(
            f"the body is larger than {request.client_max_size} bytes; send a smaller one", 413
        ) from exc


def _check_charset(request: web.Request, kind: str) -> None:
    charset = request.charset
    if charset is not None and charset.lower() not in _UTF8_NAMES:
        raise BodyError(f"charset {charset!r} is not supported: send {kind} encoded as UTF-8")


def _utf8(raw: bytes, kind: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BodyError(
            f"the body is not UTF-8 (byte {exc.start} cannot be read): send {kind} as UTF-8"
        ) from None


async def read_json(request: web.Request) -> Any:
    """The body as JSON, whatever Content-Type says (KPN reads it as JSON either way)."""
    _check_charset(request, "JSON")
    text = _utf8(await read_bytes(request), "JSON")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise BodyError(f"the body is not valid JSON ({exc.msg} at character {exc.pos})") from None
    except RecursionError:
        raise BodyError("the JSON is nested too deeply to read; send a flat object") from None


async def read_form(request: web.Request) -> dict[str, str]:
    """An `application/x-www-form-urlencoded` body as a dict (the last value of a repeated name).

    A body of another type is refused, except an empty one, which reads as an empty form.
    """
    raw = await read_bytes(request)
    if request.content_type != FORM_TYPE:
        if not raw:
            return {}
        raise BodyError(f"send the fields as {FORM_TYPE}, not {request.content_type}")
    _check_charset(request, "the form")
    text = _utf8(raw, "the form")
    return dict(parse_qsl(text, keep_blank_values=True))
