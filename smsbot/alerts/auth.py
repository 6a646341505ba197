"""Who may post alerts: a bearer token, HTTP basic auth, or (Grafana) an HMAC signature.

Any one configured method that the request satisfies lets it in. With nothing configured the
alert routes refuse everything: an open webhook would let anyone page the on-call phone.
Secrets are compared in constant time (`hmac.compare_digest`) and never logged.

Each refusal names the check that failed (`Unauthorized.check`), so an operator reading the log
(`RefusalLog`, rate-limited) sees why Alertmanager's posts are turned away, e.g. a token set on
one side only, without anything secret in the line.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import time
from collections.abc import Callable, Mapping

from smsbot.settings import AlertSettings

# Grafana's timestamp header carries Unix seconds; older than this (or this far in the future)
# is a replay or a badly wrong clock.
MAX_SIGNATURE_AGE_SECONDS = 300

DEFAULT_SIGNATURE_HEADER = "X-Grafana-Alerting-Signature"


log = logging.getLogger(__name__)

# At most this many refusals are logged per window; the rest are counted into the next line.
REFUSALS_LOGGED_PER_WINDOW = 10
REFUSAL_LOG_WINDOW_SECONDS = 60.0
# Attacker-chosen text (an authorization scheme) is cut to this length in messages and logs.
SHOWN_CHARACTERS = 20


class Unauthorized(Exception):
    """The request carries no valid credentials; `str()` says what was missing or wrong, and
    `check` names the check that failed (`no_credentials`, `wrong_bearer_token`, ...)."""

    def __init__(self, message: str, check: str) -> None:
        super().__init__(message)
        self.check = check


def _secret(value) -> str | None:
    return value.get_secret_value() if value is not None else None


def _bytes(text: str) -> bytes:
    # aiohttp decodes header bytes that are not UTF-8 as surrogate escapes (a header of
    # `Bearer \xe9t\xe9` becomes "\udce9t\udce9"); they encode back to the bytes received.
    return text.encode("utf-8", "surrogateescape")


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(_bytes(given), _bytes(expected))


def _shown(text: str) -> str:
    """Attacker-chosen text, safe to echo: printable ASCII, cut short."""
    cleaned = "".join(c if c.isascii() and c.isprintable() else "?" for c in text)
    return cleaned if len(cleaned) <= SHOWN_CHARACTERS else cleaned[:SHOWN_CHARACTERS] + "..."


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
                "(or basic auth, or a Grafana HMAC secret) and send it with the webhook",
                "intake_closed",
            )
        header = headers.get("Authorization", "").strip()
        if not header:
            return False
        scheme, _, value = header.partition(" ")
        value = value.strip()
        if scheme.lower() == "bearer" and self._token:
            if _same(value, self._token):
                return True
            raise Unauthorized("the bearer token is wrong", "wrong_bearer_token")
        if scheme.lower() == "basic" and self._basic_password:
            try:
                user, _, password = base64.b64decode(value, validate=True).decode().partition(":")
            except (binascii.Error, ValueError):  # also non-ASCII text, and non-UTF-8 bytes
                raise Unauthorized(
                    "the basic auth header is not valid base64", "basic_not_base64"
                ) from None
            # Both compared, always, so the time taken says nothing about which one was wrong.
            user_ok = _same(user, self._basic_user or "")
            password_ok = _same(password, self._basic_password)
            if user_ok and password_ok:
                return True
            raise Unauthorized("the basic auth user or password is wrong", "wrong_basic_auth")
        raise Unauthorized(
            f"authorization scheme {_shown(scheme)!r} is not accepted here", "scheme_not_accepted"
        )

    def check_signature(self, headers: Mapping[str, str], body: bytes) -> None:
        """Verify Grafana's HMAC-SHA256 signature of the body; raises `Unauthorized`."""
        if self._hmac_secret is None:
            raise Unauthorized(
                "no credentials given: send Authorization: Bearer <token>", "no_credentials"
            )
        signature = headers.get(DEFAULT_SIGNATURE_HEADER, "").strip().lower()
        if not signature:
            raise Unauthorized(
                f"no credentials given: no {DEFAULT_SIGNATURE_HEADER} header", "no_credentials"
            )
        signed = body
        if self._timestamp_header:
            stamp = headers.get(self._timestamp_header, "").strip()
            if not stamp:
                raise Unauthorized(
                    f"the {self._timestamp_header} header is missing", "timestamp_missing"
                )
            if not (stamp.isascii() and stamp.isdigit()):
                raise Unauthorized(
                    f"{self._timestamp_header} is not Unix seconds", "timestamp_not_seconds"
                )
            seconds = int(stamp)
            if abs(self._clock() - seconds) > MAX_SIGNATURE_AGE_SECONDS:
                raise Unauthorized(
                    f"the signature timestamp is more than {MAX_SIGNATURE_AGE_SECONDS} s away "
                    "from this server's clock (a replay, or a clock to fix)",
                    "timestamp_too_far",
                )
            signed = stamp.encode() + b":" + body
        expected = hmac.new(self._hmac_secret.encode(), signed, hashlib.sha256).hexdigest()
        if not _same(signature, expected):
            raise Unauthorized("the HMAC signature does not match the body", "wrong_signature")


class RefusalLog:
    """Logs refused alert webhooks at WARNING, at most `per_window` lines per `window_seconds`
    (a misconfigured Alertmanager retries, an attacker floods): what is left out is counted
    into the next line. A line names the route, the check that failed and the client's
    address; never a credential."""

    def __init__(
        self,
        *,
        per_window: int = REFUSALS_LOGGED_PER_WINDOW,
        window_seconds: float = REFUSAL_LOG_WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        kind: str = "alert webhook",
    ) -> None:
        self.kind = kind  # what was refused, as the line names it
        self.per_window = per_window
        self.window_seconds = window_seconds
        self.clock = clock
        self._window_start: float | None = None
        self._logged = 0
        self._suppressed = 0

    def refused(self, path: str, refusal: Unauthorized, remote: str | None) -> None:
        now = self.clock()
        if self._window_start is None or now - self._window_start >= self.window_seconds:
            self._window_start, self._logged = now, 0
        if self._logged >= self.per_window:
            self._suppressed += 1
            return
        self._logged += 1
        also = ""
        if self._suppressed:
            also = f" ({self._suppressed} more refusals not logged since the last line)"
            self._suppressed = 0
        log.warning(
            "%s %s from %s refused with 401: %s (%s)%s",
            self.kind,
            path,
            remote or "an unknown address",
            refusal.check,
            refusal,
            also,
        )
