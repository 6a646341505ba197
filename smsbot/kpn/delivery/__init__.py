"""Delivery reports: the signed URL each send gives KPN, reading what KPN posts there, and
KPN's statuses and failure codes.

    signing.py  `{public_url}/kpn/delivery/{sms id}?sig=...`: issue and verify
    report.py   a report's body (JSON, form or SMPP text, many spellings) -> `DeliveryReport`
    codes.py    KPN's delivery statuses and failure codes with their meanings
"""

from smsbot.kpn.delivery.codes import FAILURE_CODES, failure_meaning
from smsbot.kpn.delivery.report import (
    MAX_REPORT_BYTES,
    DeliveryReport,
    UnreadableReport,
    parse_reports,
)
from smsbot.kpn.delivery.signing import DeliveryUrls, delivery_key

__all__ = [
    "FAILURE_CODES",
    "MAX_REPORT_BYTES",
    "DeliveryReport",
    "DeliveryUrls",
    "UnreadableReport",
    "delivery_key",
    "failure_meaning",
    "parse_reports",
]
