"""Reading a delivery report's body, whatever shape KPN gives it.

KPN documents that reports go to the send's `webhook_url` and carry a delivery status (1
Delivered, 2 Queued, 3 Accepted, 4 Failed, 5 Rejected, 6 Expired), a failure code and a
`StatusDateTime` in epoch format, but not the body's shape. The URL already says which SMS the
report is about (see `signing.py`), so all this needs to find is a status, and where present the
failure code, the part number and the time. It accepts:

- JSON, form-encoded (`application/x-www-form-urlencoded`) or an SMPP receipt text
  (`id:... stat:DELIVRD err:000`), told apart by the body itself, not by a Content-Type that a
  gateway may get wrong;
- a number (`1`, `"4"`), KPN's words (`Delivered`, `failed`) or SMPP's (`DELIVRD`, `UNDELIV`), or
  an object holding one (`{"status": {"code": 1, "name": "Delivered"}}`);
- keys in any case and separator style (`status`, `Status`, `delivery_status`, `deliveryStatus`,
  `DLR-Status`...), at the top or nested (`{"dlr": {...}}`), one report or a list of them; keys
  of an outer object (a failure code, the part count) apply to the reports inside it.

A body it cannot read raises `UnreadableReport`, whose message names the keys it saw and never
their values: reports may carry phone numbers or message text, which must not reach logs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl

from smsbot.kpn.delivery.codes import STATUS_BY_NUMBER, failure_meaning
from smsbot.kpn.models import parse_reset_time
from smsbot.sms.request import Delivery

# A report is a few hundred bytes; anything near this is not one.
MAX_REPORT_BYTES = 16 * 1024
MAX_DEPTH = 6
MAX_KEYS_NAMED = 20  # in an UnreadableReport's message
MAX_KEY_SHOWN = 40  # characters of one key in that message


def _key(name: str) -> str:
    """`Delivery_Status`, `deliveryStatus` and `delivery-status` all become `deliverystatus`."""
    return re.sub(r"[^a-z0-9]", "", name.lower())


# Normalised key spellings, most specific first: `{"status": "OK", "deliveryStatus": 1}` is
# read by its `deliveryStatus`.
STATUS_KEYS = (
    "deliverystatus",
    "dlrstatus",
    "deliverystate",
    "dlrstate",
    "deliverystatuscode",
    "statuscode",
    "messagestatus",
    "smsstatus",
    "reportstatus",
    "statusid",
    "status",
    "state",
    "stat",
)
ERROR_KEYS = (
    "errorcode",
    "dlrerrorcode",
    "deliveryerrorcode",
    "errcode",
    "failurecode",
    "reasoncode",
    "statusreasoncode",
    "err",
    "error",
    "code",
)
PART_KEYS = ("part", "partnumber", "partno", "partindex", "segment", "segmentnumber", "segmentno")
PARTS_KEYS = (
    "parts",
    "totalparts",
    "partcount",
    "partstotal",
    "numberofparts",
    "numparts",
    "segments",
    "totalsegments",
    "segmentcount",
)
TIME_KEYS = ("statusdatetime", "statustime", "statusdate", "timestamp", "deliveredat", "datetime")
DOCUMENT_KEYS = ("documentid", "messageid", "msgid")
# Where an object standing for a status or a code keeps its value.
_INNER_VALUE_KEYS = ("code", "id", "value", "status", "state", "name", "description", "text")

# Words for each status: KPN's own, SMPP receipt `stat:` values, and common gateway words.
STATUS_WORDS: dict[str, Delivery] = {
    **{word: Delivery.DELIVERED for word in ("delivered", "delivrd", "deliveredtohandset")},
    **{word: Delivery.QUEUED for word in ("queued", "enroute", "pending", "buffered")},
    **{
        word: Delivery.ACCEPTED
        for word in ("accepted", "acceptd", "submitted", "sent", "deliveredtonetwork")
    },
    **{
        word: Delivery.FAILED
        for word in ("failed", "undeliv", "undelivered", "undeliverable", "deleted", "failure")
    },
    **{word: Delivery.REJECTED for word in ("rejected", "rejectd", "refused")},
    **{word: Delivery.EXPIRED for word in ("expired", "expird")},
}

_WITHOUT_FAILURE = (Delivery.DELIVERED, Delivery.QUEUED, Delivery.ACCEPTED)

_SMPP_FIELD = re.compile(r"(?:^|\s)(id|stat|err|done date|submit date):(\S*)", re.IGNORECASE)
_CODE = re.compile(r"[A-Za-z_\- ]{0,8}?(\d{1,3})")  # "7", "007", "ERR007", "E-7"
_INTEGER = re.compile(r"([0-9]{1,12})(?:\.0*)?")
_PART_OF = re.compile(r"\s*(\d{1,4})\s*(?:/|of)\s*(\d{1,4})\s*", re.IGNORECASE)  # "1/2"


@dataclass(frozen=True)
class DeliveryReport:
    """What one report says about an SMS, or about one part of a long one."""

    status: Delivery
    error_code: str | None = None  # KPN's three digits ("007"); None without a failure code
    part: int | None = None  # which part, numbered as the report numbers it
    parts: int | None = None  # how many parts the SMS has, when the report says
    status_at: datetime | None = None  # KPN's StatusDateTime, aware UTC
    document_id: str | None = None  # when the report repeats the send's document_id

    @property
    def error_meaning(self) -> str | None:
        return failure_meaning(self.error_code)


class UnreadableReport(ValueError):
    """No delivery status could be read from the body. `keys` are the keys seen (never values),
    for the log line an operator can send in."""

    def __init__(self, problem: str, keys: list[str] | None = None) -> None:
        self.keys = keys or []
        shown = _describe_keys(self.keys)
        super().__init__(f"{problem}; keys seen: {shown}" if shown else f"{problem}; no keys")


def parse_reports(body: bytes) -> list[DeliveryReport]:
    """Every report in `body`, in the order it gives them (at least one), or `UnreadableReport`."""
    if len(body) > MAX_REPORT_BYTES:
        raise UnreadableReport(f"the body is over {MAX_REPORT_BYTES} bytes")
    text = _decode(body).strip().lstrip("\ufeff").strip()
    data = _structure(text)
    found = list(_reports(data, {}, 0))
    if found:
        return found
    keys = list(dict.fromkeys(_all_keys(data, 0)))
    held = [key for key in keys if _key(key) in STATUS_KEYS]
    if held:
        raise UnreadableReport(
            f"{', '.join(map(repr, held[:3]))} holds no delivery status smsbot knows "
            "(a number 1-6, or a word such as delivered, failed, expired)",
            keys,
        )
    raise UnreadableReport("no delivery status key found", keys)


def _decode(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return body.decode("latin-1")


def _structure(text: str) -> Any:
    """The body as JSON values, whichever of the three encodings it is in."""
    if not text:
        raise UnreadableReport("the body is empty")
    if text[0] in '{["' or (text[0].isdigit() and text.isdigit()):
        try:
            return json.loads(text)
        except ValueError:
            raise UnreadableReport("the body looks like JSON but is not valid JSON") from None
    smpp = _SMPP_FIELD.findall(text)
    if any(name.lower() == "stat" for name, _ in smpp):
        return {name: value for name, value in smpp}
    if "=" in text:
        return {name: _maybe_json(value) for name, value in parse_qsl(text, keep_blank_values=True)}
    raise UnreadableReport("the body is neither JSON, form-encoded nor an SMPP receipt")


def _maybe_json(value: str) -> Any:
    # A form field holding a JSON report (`payload={"status":1}`).
    if value[:1] in "{[":
        try:
            return json.loads(value)
        except ValueError:
            pass
    return value


def _reports(data: Any, inherited: Mapping[str, Any], depth: int) -> Iterator[DeliveryReport]:
    if depth > MAX_DEPTH:
        return
    if isinstance(data, list):
        for item in data:
            yield from _reports(item, inherited, depth + 1)
        return
    if not isinstance(data, Mapping):
        status = _status_of(data)
        if status is not None and depth == 0:
            yield DeliveryReport(status)  # a bare `1` or `"DELIVRD"`
        return
    fields = {_key(str(name)): value for name, value in reversed(list(data.items()))}
    context = {**inherited, **_details(fields)}
    for key in STATUS_KEYS:
        if key in fields:
            status = _status_of(fields[key])
            if status is not None:
                yield _report(status, context)
                return
    for value in data.values():
        if isinstance(value, Mapping | list):
            yield from _reports(value, context, depth + 1)


def _report(status: Delivery, context: Mapping[str, Any]) -> DeliveryReport:
    report = DeliveryReport(status, **context)
    if status in _WITHOUT_FAILURE:
        # A code beside `delivered` (`err:000`, or a `code` that meant the status) is no failure.
        report = replace(report, error_code=None)
    return report


def _details(fields: Mapping[str, Any]) -> dict[str, Any]:
    """The report's other facts in this object, each only where present and readable."""
    found: dict[str, Any] = {}
    code = _first(fields, ERROR_KEYS, _error_code_of)
    if code is not None:
        found["error_code"] = code or None
    part, parts = _first(fields, PART_KEYS, _part_of) or (None, None)
    parts = _first(fields, PARTS_KEYS, _count_of) or parts
    if part is not None:
        found["part"] = part
    if parts is not None:
        found["parts"] = parts
    when = _first(fields, TIME_KEYS, _time_of)
    if when is not None:
        found["status_at"] = when
    document = _first(fields, DOCUMENT_KEYS, _document_of)
    if document is not None:
        found["document_id"] = document
    return found


def _first(fields: Mapping[str, Any], keys: tuple[str, ...], read: Any) -> Any:
    for key in keys:
        if key in fields:
            value = read(fields[key])
            if value is not None:
                return value
    return None


def _status_of(value: Any) -> Delivery | None:
    if isinstance(value, Mapping):
        inner = {_key(str(name)): item for name, item in value.items()}
        return _first(inner, _INNER_VALUE_KEYS, _status_of)
    number = _integer(value)
    if number is not None:
        return STATUS_BY_NUMBER.get(number)
    if not isinstance(value, str):
        return None
    word = _key(value)
    if word in STATUS_WORDS:
        return STATUS_WORDS[word]
    leading = re.match(r"(\d+)[a-z]", word)  # "1 - Delivered", "4_failed"
    return STATUS_BY_NUMBER.get(int(leading[1])) if leading else None


def _error_code_of(value: Any) -> str | None:
    """KPN's three-digit code; "" for an explicit "no error" (`0`, `000`, `""`), None when
    unreadable (then a less specific key may still give it)."""
    if isinstance(value, Mapping):
        inner = {_key(str(name)): item for name, item in value.items()}
        return _first(inner, _INNER_VALUE_KEYS, _error_code_of)
    if value is None or value == "":
        return ""
    number = _integer(value)
    if number is None and isinstance(value, str):
        match = _CODE.fullmatch(value.strip())
        number = int(match[1]) if match else None
    if number is None or not 0 <= number <= 999:
        return None
    return f"{number:03d}" if number else ""


def _part_of(value: Any) -> tuple[int | None, int | None] | None:
    if isinstance(value, str) and (match := _PART_OF.fullmatch(value)):
        return int(match[1]), int(match[2])
    number = _count_of(value)
    return (number, None) if number is not None else None


def _count_of(value: Any) -> int | None:
    number = _integer(value)
    return number if number is not None and 0 <= number <= 255 else None


def _time_of(value: Any) -> datetime | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    return parse_reset_time(value) if isinstance(value, str) else None


def _document_of(value: Any) -> str | None:
    if isinstance(value, str | int) and not isinstance(value, bool) and str(value).strip():
        return str(value).strip()[:128]
    return None


def _integer(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and (match := _INTEGER.fullmatch(value.strip())):
        return int(match[1])  # "4", " 4 ", "4.0" (a number a form field carries as text)
    return None


def _all_keys(data: Any, depth: int) -> Iterator[str]:
    if depth > MAX_DEPTH:
        return
    if isinstance(data, Mapping):
        for name, value in data.items():
            yield str(name)
            yield from _all_keys(value, depth + 1)
    elif isinstance(data, list):
        for item in data:
            yield from _all_keys(item, depth + 1)


def _describe_keys(keys: list[str]) -> str:
    shown = ", ".join(repr(key[:MAX_KEY_SHOWN]) for key in keys[:MAX_KEYS_NAMED])
    more = len(keys) - MAX_KEYS_NAMED
    return f"{shown} and {more} more" if more > 0 else shown
