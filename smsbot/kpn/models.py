"""KPN's wire format (pydantic) and what the client hands back: `Receipt` and `Quota`.

KPN's token endpoint answers with every value as a string (`"expires_in": "3599"`); pydantic's
lax mode turns those into numbers, so the models say what the values mean, not how they travel.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from pydantic import BaseModel, ConfigDict, Field


class _Wire(BaseModel):
    # KPN adds fields over time (`issued_at`, `application_name`, ...); unknown ones are ignored.
    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True)


class TokenAnswer(_Wire):
    """`POST /oauth/client_credential/accesstoken`: the fields the client uses."""

    access_token: str = Field(min_length=1)
    token_type: str = "Bearer"
    expires_in: float = Field(gt=0)  # seconds, sent as a string


class OutgoingMessage(_Wire):
    mobile_number: str
    content: str


class SendBody(_Wire):
    """`POST /communication/kpn/sms/send`; smsbot sends one message to one recipient per call."""

    sender: str
    messages: list[OutgoingMessage]
    webhook_url: str | None = None
    expirein: str | None = None  # seconds, a string on the wire

    def to_json(self) -> bytes:
        return self.model_dump_json(exclude_none=True).encode()


class SendAnswer(_Wire):
    document_id: str = Field(min_length=1)
    status: str = "OK"


class ErrorDetail(_Wire):
    """KPN's own error shape: `{"errorResponse": {"code", "message", "info"}}`."""

    code: str | None = None
    message: str | None = None
    info: str | None = None


class FaultDetail(_Wire):
    errorcode: str | None = None


class Fault(_Wire):
    """The Apigee gateway's shape: `{"fault": {"faultstring", "detail": {"errorcode"}}}`."""

    faultstring: str | None = None
    detail: FaultDetail | None = None


class ErrorBody(_Wire):
    """Any error body KPN's stack is known to send; all parts optional, the first found wins.

    `ErrorCode`/`Error` is what Apigee's OAuth policy answers on the token endpoint;
    `error`/`error_description` is plain OAuth 2.0 (RFC 6749, section 5.2).
    """

    errorResponse: ErrorDetail | None = None
    fault: Fault | None = None
    ErrorCode: str | None = None
    Error: str | None = None
    error: str | None = None
    error_description: str | None = None
    message: str | None = None


@dataclass(frozen=True)
class Quota:
    """KPN's quota headers on one response. `remaining` is `limit - used`, never below zero."""

    limit: int | None
    used: int | None
    remaining: int | None
    reset_at: datetime | None
    interval: int | None
    time_unit: str | None

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> Quota | None:
        """The quota in `headers` (looked up case-insensitively by the caller's mapping), or
        None when the response carries no quota headers at all."""
        limit = _int_or_none(headers.get("quota-limit"))
        used = _int_or_none(headers.get("quota-used"))
        reset_at = parse_reset_time(headers.get("quota-reset-UTC"))
        interval = _int_or_none(headers.get("quota-interval"))
        time_unit = (headers.get("quota-time-unit") or "").strip() or None
        if limit is None and used is None and reset_at is None:
            return None
        remaining = max(limit - used, 0) if limit is not None and used is not None else None
        return cls(limit, used, remaining, reset_at, interval, time_unit)


@dataclass(frozen=True)
class Receipt:
    """KPN accepted the SMS. `attempts` counts the `/send` requests it took (1 without retries)."""

    document_id: str
    status: str
    quota: Quota | None
    api_version: str | None
    attempts: int


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(float(value.strip())) if value is not None and value.strip() else None
    except ValueError:
        return None


def parse_reset_time(value: str | None) -> datetime | None:
    """`quota-reset-UTC` as an aware UTC datetime. KPN documents only "UTC", not the format, so
    this accepts epoch seconds or milliseconds (Apigee's own counters), ISO 8601 with or without
    `T`/`Z`/`UTC`, and HTTP dates; anything else gives None rather than a wrong time."""
    text = (value or "").strip()
    if not text or text.lower() == "n/a":
        return None
    if text.replace(".", "", 1).isdigit():
        number = float(text)
        # Epoch milliseconds have 13 digits today; seconds have 10.
        try:
            return datetime.fromtimestamp(number / 1000 if number > 1e11 else number, tz=UTC)
        except (OverflowError, OSError, ValueError):  # past the year 9999, or time_t
            return None
    iso = text.removesuffix("UTC").strip().replace("Z", "+00:00")
    try:
        parsed = datetime.fromisoformat(iso)
    except ValueError:
        try:
            parsed = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
    try:
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except OverflowError:  # 9999-12-31 with a zone west of UTC
        return None
