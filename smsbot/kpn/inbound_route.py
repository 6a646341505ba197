"""`POST /kpn/inbound/{token}`: KPN's inbound-SMS webhook (what phones send to the reply number).

KPN documents no authentication for inbound webhooks, so the URL itself is the secret: its last
segment must equal `SMSBOT_KPN__INBOUND_TOKEN` (compared in constant time). HTTP basic auth
(`SMSBOT_KPN__INBOUND_USER` / `..._PASSWORD`) is an optional second check. KPN retries a post
that got no 2xx, so:

    200  stored (or stored before: a message_id already received is stored once, nothing else
         is done with it again)
    400  the body is not KPN's inbound payload; the answer says which field is wrong, by
         name, never its value (it holds a phone number and a person's text)
    401  wrong or missing token (or basic auth, when configured); nothing is read or stored.
         With no token configured, every post is refused
    413  the body is over MAX_INBOUND_BYTES
    503  storing failed; KPN retries, and a retry is stored once
"""

from __future__ import annotations

import base64
import binascii
import hmac
import logging
from collections.abc import Callable
from typing import Protocol

from aiohttp import hdrs, web

from smsbot.alerts.auth import RefusalLog, Unauthorized
from smsbot.inbound.service import Received
from smsbot.kpn.delivery.route import read_body
from smsbot.kpn.inbound import MAX_INBOUND_BYTES, InboundPayloadError, InboundSms, parse_inbound
from smsbot.settings import KpnSettings, Settings

log = logging.getLogger(__name__)

INBOUND_ROUTE = "/kpn/inbound/{token}"


class InboundReceiver(Protocol):
    """Stores one inbound SMS (raising when it cannot) and deals with it."""

    async def receive(self, sms: InboundSms) -> Received: ...


def inbound_routes(
    settings: Settings, receiver: InboundReceiver
) -> Callable[[web.Application], None]:
    """The registrar `smsbot serve` hands `create_app`: the route is always there, and refuses
    every post until `SMSBOT_KPN__INBOUND_TOKEN` is set."""

    def register(app: web.Application) -> None:
        add_inbound_routes(app, settings.kpn, receiver)

    return register


def add_inbound_routes(app: web.Application, kpn: KpnSettings, receiver: InboundReceiver) -> None:
    app.router.add_post(INBOUND_ROUTE, InboundEndpoint(kpn, receiver).handle)


def _secret(value) -> bytes:
    return value.get_secret_value().encode() if value is not None else b""


class InboundEndpoint:
    def __init__(self, kpn: KpnSettings, receiver: InboundReceiver) -> None:
        self._token = _secret(kpn.inbound_token).strip()
        self._user = (kpn.inbound_user or "").encode()
        self._password = _secret(kpn.inbound_password)
        self.receiver = receiver
        self.refusals = RefusalLog(kind="inbound SMS webhook")

    def _refusal(self, request: web.Request) -> Unauthorized | None:
        """Why the request may not post, or None."""
        if not self._token:
            return Unauthorized(
                "no inbound webhook is configured here: set SMSBOT_KPN__INBOUND_TOKEN",
                "no_inbound_token_configured",
            )
        given = request.match_info["token"].encode("utf-8", "surrogateescape")
        if not hmac.compare_digest(given, self._token):
            return Unauthorized(
                "wrong token: post to the inbound webhook URL configured at KPN", "wrong_token"
            )
        if self._user or self._password:
            credentials = _basic_credentials(request.headers.get(hdrs.AUTHORIZATION, ""))
            if credentials is None:
                return Unauthorized(
                    "this webhook needs HTTP basic auth (SMSBOT_KPN__INBOUND_USER/PASSWORD)",
                    "no_basic_auth",
                )
            user, password = credentials
            user_ok = hmac.compare_digest(user, self._user)
            password_ok = hmac.compare_digest(password, self._password)
            if not (user_ok and password_ok):
                return Unauthorized("wrong basic auth user or password", "wrong_basic_auth")
        return None

    async def handle(self, request: web.Request) -> web.Response:
        refusal = self._refusal(request)
        if refusal is not None:
            # Rate-limited, and by the route's pattern: a path may hold a token being guessed.
            self.refusals.refused(INBOUND_ROUTE, refusal, request.remote)
            return _error(401, str(refusal))
        body = await read_body(request, MAX_INBOUND_BYTES)
        if body is None:
            return _error(413, f"body is over {MAX_INBOUND_BYTES} bytes; an SMS is far smaller")
        try:
            sms = parse_inbound(body)
        except InboundPayloadError as exc:
            log.warning("inbound SMS refused with 400: %s", exc)  # names fields, never values
            return _error(400, str(exc))
        try:
            received = await self.receiver.receive(sms)
        except Exception:
            log.exception("inbound SMS not stored")
            return _error(503, "could not store the SMS; retry it (it is stored once)")
        status = "duplicate" if received.duplicate else "stored"
        return web.json_response({"status": status, "id": received.record.request_id})


def _basic_credentials(header: str) -> tuple[bytes, bytes] | None:
    """User and password of a `Basic` Authorization header, as bytes; None if there is none."""
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    user, colon, password = decoded.partition(b":")
    return (user, password) if colon else None


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)
