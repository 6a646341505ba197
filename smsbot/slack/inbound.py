"""What arrives at `POST /slack/events`, checked before Bolt sees it: signature, then body.

Order matters. The signature (`X-Slack-Signature` over `v0:{timestamp}:{raw body}`, slack_sdk's
own `SignatureVerifier`) is checked on the raw bytes before anything reads the body, so an
unsigned client gets a 401 whatever it sends and nothing of its body is parsed or logged. Only
a request Slack signed is then read: UTF-8, a JSON object or a form, an interactivity `payload`
that is a JSON object, and the fields Bolt and the listeners walk into (`view`, `user`,
`actions`...) of the kinds Slack sends. Whatever fails says what was wrong (`Refused`), never
what the body held.

Why smsbot parses the body, not Bolt: `slack_bolt.request.internals.parse_body` takes any form
body that merely contains the substring "payload" (in a command's text, a channel or a user name)
for an interactivity payload, finds no `payload` field and returns `{}`: the command is lost
(404 "unhandled request"). It also raises on a JSON content type with a form body, on invalid
JSON and on `payload=` that is not JSON, which became 500s.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from slack_sdk.signature import Clock, SignatureVerifier

# Slack sends epoch seconds and `v0=` with a lowercase hex SHA-256; anything else is not Slack,
# and must not reach `int()` or `hmac.compare_digest` (which raise on it).
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")

# Fields that, where present, Bolt's context building, its matchers or smsbot's listeners read
# as JSON objects; Slack sends them so. Some may also be an id string (Bolt accepts both) or null.
_OBJECTS = ("view", "container", "message", "event", "state", "function_data", "item")
_OBJECT_OR_ID = ("user", "team", "channel", "enterprise")
_LISTS_OF_OBJECTS = ("actions", "authorizations", "response_urls")


class Refused(Exception):
    """The request is not one to hand to Bolt; `status` is 401 (not signed) or 400 (malformed).

    The message says what was wrong, in words safe to log and to answer with."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class SlackSignature:
    """Checks Slack's request signature; with no signing secret every request is refused."""

    def __init__(self, signing_secret: str | None, *, clock: Clock | None = None) -> None:
        self._verifier = (
            SignatureVerifier(signing_secret, clock or Clock()) if signing_secret else None
        )

    def check(self, headers: Mapping[str, str], raw: bytes) -> str:
        """The body as text, when Slack signed it; raises `Refused` otherwise."""
        if self._verifier is None:
            raise Refused(401, "no signing secret is configured (SMSBOT_SLACK__SIGNING_SECRET)")
        timestamp = headers.get("X-Slack-Request-Timestamp", "")
        signature = headers.get("X-Slack-Signature", "")
        if not _TIMESTAMP.fullmatch(timestamp):
            raise Refused(401, "X-Slack-Request-Timestamp is missing or not epoch seconds")
        if not _SIGNATURE.fullmatch(signature):
            raise Refused(401, "X-Slack-Signature is missing or not v0=<hex>")
        try:
            # Slack signs text; a body that is not UTF-8 cannot carry its signature.
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise Refused(400, "the body is not UTF-8") from None
        if not self._verifier.is_valid(text, timestamp, signature):
            raise Refused(401, "the signature does not match, or is older than 5 minutes")
        return text


def parse_body(text: str, content_type: str) -> dict[str, Any]:
    """A signed body as Bolt's handlers expect it (see the module docstring for why here).

    JSON when the content type says so or the body starts with `{` (as Bolt decides it); else a
    form, which is an interactivity payload when it has a `payload` field.
    """
    if not text:
        return {}
    if content_type == "application/json" or text.startswith("{"):
        body = _json_object(text, "the JSON body")
    else:
        form = dict(parse_qsl(text, keep_blank_values=True))
        if "payload" not in form:
            return form  # a slash command: every value is a string
        body = _json_object(form["payload"], "the payload field")
    try:
        _check_shapes(body)
    except RecursionError:
        raise Refused(400, "the body is nested too deeply") from None
    return body


def _json_object(text: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        raise Refused(400, f"{what} is not valid JSON, or nested too deeply") from None
    if not isinstance(value, dict):
        raise Refused(400, f"{what} is not a JSON object")
    return value


def _check_shapes(body: dict[str, Any]) -> None:
    for name in _OBJECTS:
        if name in body and not isinstance(body[name], dict):
            raise Refused(400, f"{name!r} is not a JSON object")
    for name in _OBJECT_OR_ID:
        if not isinstance(body.get(name), dict | str | None):
            raise Refused(400, f"{name!r} is neither a JSON object nor an id")
    for name in _LISTS_OF_OBJECTS:
        if name in body and not (
            isinstance(body[name], list) and all(isinstance(item, dict) for item in body[name])
        ):
            raise Refused(400, f"{name!r} is not a list of JSON objects")
    if not isinstance(body.get("state", {}).get("values", {}), dict):
        raise Refused(400, "'state.values' is not a JSON object")
    for name in _OBJECTS:  # a view's state, an event's message...
        if name in body:
            _check_shapes(body[name])
