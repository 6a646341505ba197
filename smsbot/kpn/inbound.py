"""The inbound-SMS payload KPN posts when a phone texts the virtual number.

Per `shared/reference/kpn-sms-inbound-openapi.yml` (KPN's "Inbound SMS" spec, 1.0.0):

    {"sender": "31600000000", "recipient": "3197000000000",
     "message_id": "6W0000001G7BB999.3197000000000", "content": "Hey this is an inbound response.",
     "timestamp_utc": "2024-04-30T14:37:42.218159", "type": "text/unicode/*"}

KPN writes numbers as digits with the country code and no `+`, and the time without a zone
(it is UTC, as the name says). The model gives numbers as E.164, by smsbot.sms's number rules
for Dutch mobiles, and the time as an aware UTC datetime. Keys KPN may add later are ignored;
the keys smsbot relies on are required, and a body without them is refused with a message naming
each problem (never a value: the body holds a phone number and a person's text).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import phonenumbers
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from smsbot.errors import InvalidNumber
from smsbot.sms.numbers import normalize_number
from smsbot.validation_errors import describe_validation_error

# An inbound SMS is at most a few concatenated parts; a body near this is not one.
MAX_INBOUND_BYTES = 64 * 1024
MAX_CONTENT_CHARACTERS = 10_000

_DIGITS_WITH_COUNTRY = re.compile(r"[1-9][0-9]{7,14}")  # "31612345678": E.164 without the +


class InboundPayloadError(ValueError):
    """The body is not JSON, or not KPN's inbound payload; `str()` says what is wrong."""


def phone_number(raw: str) -> str:
    """A number as KPN writes it (`31612345678`, `+31612345678`, `0612345678`) as E.164.

    A Dutch mobile number goes through smsbot.sms's rules; any other number phonenumbers knows
    as valid (a foreign phone) is still written E.164, so it can be audited and masked like the
    rest. Anything else (an alphanumeric sender, a short code) is kept as sent, trimmed: it is
    no phone smsbot can answer or thread with, but the message is still a fact to record."""
    text = raw.strip()
    candidate = f"+{text}" if _DIGITS_WITH_COUNTRY.fullmatch(text) else text
    try:
        return normalize_number(candidate)
    except InvalidNumber:
        pass
    try:
        parsed = phonenumbers.parse(candidate, "NL")
    except phonenumbers.NumberParseException:
        return text
    if phonenumbers.is_valid_number(parsed):
        return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    return text


def is_dutch_mobile(e164: str) -> bool:
    """True for what `phone_number` gives a Dutch mobile (or 097 M2M) number."""
    try:
        return normalize_number(e164) == e164
    except InvalidNumber:
        return False


class InboundSms(BaseModel):
    """One SMS a phone sent to the virtual number."""

    model_config = ConfigDict(extra="ignore", frozen=True, coerce_numbers_to_str=True)

    sender: str = Field(min_length=1, max_length=64)  # E.164 when it is a phone number
    recipient: str = Field(min_length=1, max_length=64)  # the virtual number, E.164
    message_id: str = Field(min_length=1, max_length=256)
    content: str = Field(max_length=MAX_CONTENT_CHARACTERS)
    timestamp_utc: datetime
    type: str | None = None  # "text/unicode/*"; informational, so a missing one is no error

    @field_validator("sender", "recipient", mode="after")
    @classmethod
    def _number(cls, value: str) -> str:
        number = phone_number(value)
        if not number:
            raise ValueError("is blank; KPN sends the number as digits, e.g. 31612345678")
        return number

    @field_validator("message_id", mode="after")
    @classmethod
    def _message_id(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("is blank; KPN gives every inbound SMS a message_id")
        return value.strip()

    @field_validator("timestamp_utc", mode="after")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        # KPN writes UTC without a zone ("2024-04-30T14:37:42.218159").
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    @property
    def from_dutch_mobile(self) -> bool:
        """Whether smsbot could answer the sender (and so thread the reply with what it sent)."""
        return is_dutch_mobile(self.sender)


def parse_inbound(body: bytes) -> InboundSms:
    """Parse and validate an inbound webhook body; raises `InboundPayloadError` saying what is
    wrong (by field name, never by value)."""
    if len(body) > MAX_INBOUND_BYTES:
        raise InboundPayloadError(f"body is over {MAX_INBOUND_BYTES} bytes")
    try:
        return InboundSms.model_validate_json(body)
    except ValidationError as exc:
        if any(err["type"] == "json_invalid" for err in exc.errors()):
            raise InboundPayloadError("body is not valid JSON") from None
        raise InboundPayloadError(
            "body is not KPN's inbound SMS payload (sender, recipient, message_id, content, "
            f"timestamp_utc, type): {describe_validation_error(exc)}"
        ) from None


def example_payload(**overrides: Any) -> dict[str, Any]:
    """The reference spec's example, for tests and the sandbox's phone."""
    payload = {
        "sender": "31600000000",
        "recipient": "3197000000000",
        "message_id": "6W0000001G7BB999.3197000000000",
        "content": "Hey this is an inbound response.",
        "timestamp_utc": "2024-04-30T14:37:42.218159",
        "type": "text/unicode/*",
    }
    payload.update(overrides)
    return payload
