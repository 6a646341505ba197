"""The bodies the sandbox posts to webhooks, in one place: delivery reports and inbound SMS.

Delivery report (to the send's `webhook_url`), one per part of an SMS and per status. KPN does
not publish this body; the shape is the sandbox's assumption, built from what KPN does say (the
statuses 1 Delivered, 2 Queued, 3 Accepted, 4 Failed, 5 Rejected, 6 Expired and the three-digit
failure codes of kpn-sms-dlr-codes.yml; a `StatusDateTime` "always in epoch format", from the
send spec's `webhook_url` notes) and from how KPN writes numbers in its inbound payload:

    {
      "document_id": "b4e905d4-774c-4c83-8360-01427e17a33a",  the send's answer
      "report_id": "0b6c4a0e-5f7e-4d0a-9a57-3f8c2a1d9e41",    a repeated report repeats it
      "mobile_number": "31612345678",                         digits, no "+"
      "status": "Failed",                                     the word of the status table
      "status_code": 4,                                       its number
      "error_code": "007",                                    Failed, Rejected, Expired only
      "error_description": "Recipient is temporarily unreachable or out of coverage",
      "part": 1, "parts": 2,                                  which SMS of a long message
      "StatusDateTime": 1764583384218                         epoch milliseconds
    }

A receiver should accept more than this (KPN may send another shape): smsbot's own parser does.

Inbound SMS (to `--inbound-webhook`), exactly as kpn-sms-inbound-openapi.yml shows it:

    {"sender": "31612345678", "recipient": "3197000000000",
     "message_id": "6W0000001G7BB999.3197000000000", "content": "...",
     "timestamp_utc": "2024-04-30T14:37:42.218159", "type": "text/unicode/*"}
"""

from __future__ import annotations

import secrets
import string
import uuid
from datetime import datetime
from typing import Any

# kpn-sms-dlr-codes.yml, delivery_statuses: the word each report says, and its number.
STATUS_CODES = {
    "delivered": 1,
    "queued": 2,
    "accepted": 3,
    "failed": 4,
    "rejected": 5,
    "expired": 6,
}
FINAL_STATUSES = frozenset({"delivered", "failed", "rejected", "expired"})

# kpn-sms-dlr-codes.yml, error_codes: the failure codes a Failed, Rejected or Expired report
# carries, and what each means.
ERROR_MEANINGS = {
    "001": "Unknown or unspecified error",
    "002": "Recipient number/subscriber is unknown or invalid",
    "003": "Recipient is barred, blocked, illegal, suspended",
    "004": "Recipient has opted out or requested not to receive",
    "005": "Recipient/network/device cannot receive SMS",
    "006": "Recipient handset is temporarily unavailable or busy",
    "007": "Recipient is temporarily unreachable or out of coverage",
    "008": "Recipient deregistered or permanently unavailable",
    "009": "Temporary handset/SIM/storage issue",
    "010": "Permanent handset/SIM/device issue",
    "011": "Network/system/operator failure",
    "012": "Delivery failed due to number portability issue",
    "013": "Provider could not find suitable internal route",
    "014": "No delivery route could be found",
    "015": "Delivery failed due to unspecified routing error",
    "016": "Malformed request or invalid submission",
    "017": "Invalid message parameter or encoding issue",
    "018": "Blocked by anti-spam or safeguard controls",
    "019": "Content not permitted",
    "020": "Insufficient credit/quota",
    "021": "Blocked due to age or parental restrictions",
    "022": "Recipient opted out or in Do-Not-Disturb list",
    "023": "Spend/quota/rate/conversation limit reached",
    "024": "Message validity expired before delivery",
    "025": "Failure at third party provider",
    "026": "DLT entity-id is missing or invalid",
    "027": "DLT header ID is missing or invalid",
    "028": "DLT content-id is missing or invalid",
    "029": "Required recipient consent is not authorized",
    "030": "Unexpected regulatory/compliance error",
}


def error_meaning(code: str) -> str:
    return ERROR_MEANINGS.get(code, "Unknown failure code")


def kpn_number(e164: str) -> str:
    """+31612345678 -> 31612345678, as KPN writes numbers in the bodies it posts."""
    return e164.removeprefix("+")


def new_report_id() -> str:
    return str(uuid.uuid4())


def delivery_report(
    *,
    document_id: str,
    report_id: str,
    mobile_number: str,
    status: str,
    error_code: str | None,
    part: int,
    parts: int,
    at_ms: int,
) -> dict[str, Any]:
    """One delivery report for one part of an SMS (see the module docstring)."""
    body: dict[str, Any] = {
        "document_id": document_id,
        "report_id": report_id,
        "mobile_number": kpn_number(mobile_number),
        "status": status.capitalize(),
        "status_code": STATUS_CODES[status],
    }
    if error_code is not None:
        body["error_code"] = error_code
        body["error_description"] = error_meaning(error_code)
    body |= {"part": part, "parts": parts, "StatusDateTime": at_ms}
    return body


_MESSAGE_ID_ALPHABET = string.ascii_uppercase + string.digits


def new_message_id(recipient_e164: str) -> str:
    """KPN's inbound message ids look like `6W0000001G7BB999.3197000000000`."""
    code = "".join(secrets.choice(_MESSAGE_ID_ALPHABET) for _ in range(16))
    return f"{code}.{kpn_number(recipient_e164)}"


def inbound_sms(
    *, sender: str, recipient: str, message_id: str, content: str, at: datetime
) -> dict[str, str]:
    """KPN's inbound SMS payload; `at` is a UTC time, written without a zone as KPN does."""
    return {
        "sender": kpn_number(sender),
        "recipient": kpn_number(recipient),
        "message_id": message_id,
        "content": content,
        "timestamp_utc": at.replace(tzinfo=None).isoformat(timespec="microseconds"),
        "type": "text/unicode/*",
    }


# JSON Schemas of both bodies, for the sandbox's OpenAPI description (as callbacks) and for
# tests that check what was posted.
DELIVERY_REPORT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": [
        "document_id",
        "report_id",
        "mobile_number",
        "status",
        "status_code",
        "part",
        "parts",
        "StatusDateTime",
    ],
    "properties": {
        "document_id": {"type": "string"},
        "report_id": {"type": "string"},
        "mobile_number": {"type": "string", "pattern": "^[0-9]+$"},
        "status": {"type": "string", "enum": [s.capitalize() for s in STATUS_CODES]},
        "status_code": {"type": "integer", "enum": list(STATUS_CODES.values())},
        "error_code": {"type": "string", "pattern": "^[0-9]{3}$"},
        "error_description": {"type": "string"},
        "part": {"type": "integer", "minimum": 1},
        "parts": {"type": "integer", "minimum": 1},
        "StatusDateTime": {"type": "integer", "description": "epoch milliseconds"},
    },
    "additionalProperties": False,
}

INBOUND_SMS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["sender", "recipient", "message_id", "content", "timestamp_utc", "type"],
    "properties": {
        "sender": {"type": "string", "example": "31600000000"},
        "recipient": {"type": "string", "example": "3197000000000"},
        "message_id": {"type": "string", "example": "6W0000001G7BB999.3197000000000"},
        "content": {"type": "string"},
        "timestamp_utc": {"type": "string", "example": "2024-04-30T14:37:42.218159"},
        "type": {"type": "string", "example": "text/unicode/*"},
    },
    "additionalProperties": False,
}
