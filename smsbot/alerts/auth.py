"""Who may post alerts: a bearer token, HTTP basic auth, or (Grafana) an HMAC signature.

Any one configured method that the request satisfies lets it in. With nothing configured the
alert routes refuse everything: an open webhook would let anyone page the on-call phone.
Secrets are compared in constant time (`hmac.compare_digest`) and never logged.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Callable, Mapping

from smsbot.settings import AlertSettings

# Grafana's timestamp header carries Unix seconds; older than this (or this far in the future)
# is a replay or a badly wrong clock.
MAX_SIGNATURE_AGE_SECONDS = 300

DEFAULT_SIGNATURE_HEADER = "X-Grafana-Alerting-Signature"


class Unauthorized(Exception):
    """The request carries no valid credentials; `str()` says what was missing or wrong."""


def _secret(value) -> str | None:
    return value.get_secret_value() if value is not None else None


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


class AlertAuth:
    """Checks one request against the configured credentials."""

    def __init__(self, settings: AlertSettings, *, clock: Callable[[], float] = time.time) -> None:
        self._token = _secret(settings.token)
        self._basic_user = settings.basic_user
        self._basic_password = _secret(settings.basic_password)
        self._hmac_secret = _secret(settings.grafana_hmac_secret)
        self._timestamp_header = settings.grafana_timestamp_header
        self._clock = clock

    @property
    def configured(self) -> bool:
        return bool(self._token or self._basic_password or self._hmac_secret)

    @property
    def signs_bodies(self) -> bool:
        return self._hmac_secret is not None

    def check_header(self, headers: Mapping[str, str]) -> bool:
        """True when the `Authorization` header carries the bearer token or basic credentials.

        Raises `Unauthorized` for credentials that are present but wrong, so that a bad token
        is not silently retried as something else; returns False when there is no header.
        """
        if not self.configured:
            raise Unauthorized(
                "alert intake has no credentials configured: set SMSBOT_ALERTS__TOKEN "
                "(or basic auth, or a Grafana HMAC secret) and send it with the webhook"
            )
        header = headers.get("Authorization", "").strip()
        if not header:
            return False
        scheme, _, value = header.partition(" ")
        value = value.strip()
        if scheme.lower() == "bearer" and self._token:
            if _same(value, self._token):
                return True
            raise Unauthorized("the bearer token is wrong")
        if scheme.lower() == "basic" and self._basic_password:
            try:
                user, _, password = base64.b64decode(value, validate=True).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                raise Unauthorized("the basic auth header is not valid base64") from None
            # Both compared, always, so the time taken says nothing about which one was wrong.
            user_ok = _same(user, self._basic_user or "")
            password_ok = _same(password, self._basic_password)
            if user_ok and password_ok:
                return True
            raise Unauthorized("the basic auth user or password is wrong")
        raise Unauthorized(f"authorization scheme {scheme!r} is not accepted here")

    def check_signature(self, headers: Mapping[str, str], body: bytes) -> None:
        """Verify Grafana's HMAC-SHA256 signature of the body; raises `Unauthorized`."""
        if self._hmac_secret is None:
            raise Unauthorized("no credentials given: send Authorization: Bearer <token>")
        signature = headers.get(DEFAULT_SIGNATURE_HEADER, "").strip().lower()
        if not signature:
            raise Unauthorized(f"no credentials given: no {DEFAULT_SIGNATURE_HEADER} header")
        signed = body
        if self._timestamp_header:
            stamp = headers.get(self._timestamp_header, "").strip()
            if not stamp:
                raise Unauthorized(f"the {self._timestamp_header} header is missing")
            try:
                seconds = int(stamp)
            except ValueError:
                raise Unauthorized(f"{self._timestamp_header} is not Unix seconds") from None
            if abs(self._clock() - seconds) > MAX_SIGNATURE_AGE_SECONDS:
                raise Unauthorized(
                    f"the signature timestamp is more than {MAX_SIGNATURE_AGE_SECONDS} s away "
                    "from this server's clock (a replay, or a clock to fix)"
                )
            signed = stamp.encode() + b":" + body
        expected = hmac.new(self._hmac_secret.encode(), signed, hashlib.sha256).hexdigest()
        if not _same(signature, expected):
            raise Unauthorized("the HMAC signature does not match the body")
