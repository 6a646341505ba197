"""KPN's delivery statuses and failure codes, as a delivery report carries them.

The data is copied from KPN's SMS API documentation
(https://developer.kpn.com/documentation/kpn-sms-api-documentation), as collected in
`shared/reference/kpn-sms-dlr-codes.yml` (generated 2026-07-25). KPN lists the statuses by number
(1 Delivered ... 6 Expired) and the failure codes as three-digit strings ("007") with a class.
"""

from __future__ import annotations

from dataclasses import dataclass

from smsbot.sms.request import Delivery

# KPN's numeric delivery statuses.
STATUS_BY_NUMBER: dict[int, Delivery] = {
    1: Delivery.DELIVERED,
    2: Delivery.QUEUED,
    3: Delivery.ACCEPTED,
    4: Delivery.FAILED,
    5: Delivery.REJECTED,
    6: Delivery.EXPIRED,
}


@dataclass(frozen=True)
class FailureCode:
    code: str  # three digits, as KPN writes it: "007"
    meaning: str
    kind: str  # KPN's class: delivery, content, policy-or-quota, regulatory


# (code, class, meaning), in KPN's order.
_KPN_FAILURE_CODES = (
    ("001", "delivery", "Unknown or unspecified error"),
    ("002", "delivery", "Recipient number/subscriber is unknown or invalid"),
    ("003", "delivery", "Recipient is barred, blocked, illegal, suspended"),
    ("004", "delivery", "Recipient has opted out or requested not to receive"),
    ("005", "delivery", "Recipient/network/device cannot receive SMS"),
    ("006", "delivery", "Recipient handset is temporarily unavailable or busy"),
    ("007", "delivery", "Recipient is temporarily unreachable or out of coverage"),
    ("008", "delivery", "Recipient deregistered or permanently unavailable"),
    ("009", "delivery", "Temporary handset/SIM/storage issue"),
    ("010", "delivery", "Permanent handset/SIM/device issue"),
    ("011", "delivery", "Network/system/operator failure"),
    ("012", "delivery", "Delivery failed due to number portability issue"),
    ("013", "delivery", "Provider could not find suitable internal route"),
    ("014", "delivery", "No delivery route could be found"),
    ("015", "delivery", "Delivery failed due to unspecified routing error"),
    ("016", "content", "Malformed request or invalid submission"),
    ("017", "content", "Invalid message parameter or encoding issue"),
    ("018", "content", "Blocked by anti-spam or safeguard controls"),
    ("019", "content", "Content not permitted"),
    ("020", "policy-or-quota", "Insufficient credit/quota"),
    ("021", "policy-or-quota", "Blocked due to age or parental restrictions"),
    ("022", "policy-or-quota", "Recipient opted out or in Do-Not-Disturb list"),
    ("023", "policy-or-quota", "Spend/quota/rate/conversation limit reached"),
    ("024", "policy-or-quota", "Message validity expired before delivery"),
    ("025", "policy-or-quota", "Failure at third party provider"),
    ("026", "regulatory", "DLT entity-id is missing or invalid"),
    ("027", "regulatory", "DLT header ID is missing or invalid"),
    ("028", "regulatory", "DLT content-id is missing or invalid"),
    ("029", "regulatory", "Required recipient consent is not authorized"),
    ("030", "regulatory", "Unexpected regulatory/compliance error"),
)

FAILURE_CODES: dict[str, FailureCode] = {
    code: FailureCode(code, meaning, kind) for code, kind, meaning in _KPN_FAILURE_CODES
}


def failure_meaning(code: str | None) -> str | None:
    """KPN's meaning of a failure code ("007" -> "Recipient is temporarily unreachable or out of
    coverage"), or None for no code or a code KPN does not list."""
    known = FAILURE_CODES.get(code) if code else None
    return known.meaning if known else None
