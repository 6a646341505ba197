"""Delivery reports: the signed URL, and the tolerant reader of report bodies over many shapes."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from smsbot.errors import ConfigurationError
from smsbot.kpn.delivery import (
    FAILURE_CODES,
    MAX_REPORT_BYTES,
    DeliveryReport,
    DeliveryUrls,
    UnreadableReport,
    delivery_key,
    parse_reports,
)
from smsbot.sandbox import webhook_bodies
from smsbot.settings import KpnSettings, Settings, load_settings
from smsbot.sms.request import Delivery

PUBLIC = "https://smsbot.example.com"


def _settings(**kpn: Any) -> Settings:
    return Settings(_env_file=None, public_url=PUBLIC, kpn=KpnSettings(**kpn))


# --- the signed URL ------------------------------------------------------------------------


def test_url_names_the_sms_and_carries_a_signature_that_verifies():
    urls = DeliveryUrls.from_settings(_settings(delivery_secret=SecretStr("k" * 32)))
    assert urls is not None
    url = urlsplit(urls.url_for(42))
    assert f"{url.scheme}://{url.netloc}" == PUBLIC
    assert url.path == "/kpn/delivery/42"
    (sig,) = parse_qs(url.query)["sig"]
    assert len(sig) == 43  # HMAC-SHA256, base64url without padding
    assert urls.verify("42", sig)
    assert urls.verify(42, sig)


@pytest.mark.parametrize(
    "forged",
    [None, "", "x", "A" * 43],
    ids=["missing", "empty", "short", "same-length-wrong"],
)
def test_wrong_or_missing_signatures_are_refused(forged):
    urls = DeliveryUrls(PUBLIC, b"key")
    assert not urls.verify("42", forged)


def test_a_signature_is_for_its_own_id_and_key_only():
    urls = DeliveryUrls(PUBLIC, b"key")
    sig = urls.signature("42")
    assert not urls.verify("43", sig)
    assert not urls.verify("42", sig[:-1] + ("A" if sig[-1] != "A" else "B"))
    assert not DeliveryUrls(PUBLIC, b"other key").verify("42", sig)
    assert not urls.verify("42", sig + "é")  # non-ASCII input is compared, not a crash


@given(sms_id=st.text(min_size=1, max_size=40), other=st.text(min_size=1, max_size=40))
def test_any_id_round_trips_through_its_url(sms_id, other):
    urls = DeliveryUrls(PUBLIC + "/", b"key")
    url = urlsplit(urls.url_for(sms_id))
    assert url.path.startswith("/kpn/delivery/") and url.path.count("/") == 3
    from_path = unquote(url.path.removeprefix("/kpn/delivery/"))
    assert from_path == sms_id
    assert urls.verify(from_path, parse_qs(url.query)["sig"][0])
    if other != sms_id:
        assert not urls.verify(other, urls.signature(sms_id))


def test_key_is_the_delivery_secret_when_set():
    assert delivery_key(_settings(delivery_secret=SecretStr("abc"), client_secret="c")) == b"abc"


def test_key_is_derived_from_the_kpn_client_secret_otherwise():
    derived = delivery_key(_settings(client_secret=SecretStr("client-secret")))
    assert len(derived) == 32 and b"client-secret" not in derived
    assert derived == delivery_key(_settings(client_secret=SecretStr("client-secret")))
    assert derived != delivery_key(_settings(client_secret=SecretStr("rotated")))


def test_no_key_at_all_says_which_settings_give_one():
    with pytest.raises(ConfigurationError, match=r"SMSBOT_KPN__DELIVERY_SECRET.*CLIENT_SECRET"):
        DeliveryUrls.from_settings(_settings())


def test_no_public_url_means_no_delivery_urls():
    assert DeliveryUrls.from_settings(Settings(_env_file=None)) is None


def test_public_url_setting_is_checked_and_trimmed(monkeypatch):
    monkeypatch.setenv("SMSBOT_PUBLIC_URL", "https://bot.example.com/base/")
    assert load_settings(_env_file=None).public_url == "https://bot.example.com/base"
    monkeypatch.setenv("SMSBOT_PUBLIC_URL", "bot.example.com")
    with pytest.raises(ConfigurationError, match=r"SMSBOT_PUBLIC_URL: .*absolute http"):
        load_settings(_env_file=None)


# --- the failure codes ---------------------------------------------------------------------


def test_failure_codes_are_kpns_table():
    assert sorted(FAILURE_CODES) == [f"{n:03d}" for n in range(1, 31)]
    assert FAILURE_CODES["007"].meaning == (
        "Recipient is temporarily unreachable or out of coverage"
    )
    assert FAILURE_CODES["018"].kind == "content"
    assert FAILURE_CODES["026"].kind == "regulatory"
    report = parse_reports(b'{"status": 4, "error_code": "7"}')[0]
    assert report.error_meaning == FAILURE_CODES["007"].meaning


# --- the report body: examples -------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"status": 1}', DeliveryReport(Delivery.DELIVERED)),
        (
            b'{"Status": "Failed", "ErrorCode": "007", "StatusDateTime": 1767225600000}',
            DeliveryReport(Delivery.FAILED, "007", status_at=datetime(2026, 1, 1, tzinfo=UTC)),
        ),
        (b"deliveryStatus=6&err=24", DeliveryReport(Delivery.EXPIRED, "024")),
        (
            b"id:0123 sub:001 dlvrd:000 submit date:2601011200 done date:2601011201 "
            b"stat:UNDELIV err:005 text:Server down",
            DeliveryReport(Delivery.FAILED, "005"),
        ),
        (b'{"dlr": {"state": {"code": 5, "name": "Rejected"}}}', DeliveryReport("rejected")),
        (b'{"status": "OK", "deliveryStatus": "2"}', DeliveryReport(Delivery.QUEUED)),
        (b'{"status": "1 - Delivered"}', DeliveryReport(Delivery.DELIVERED)),
        (b'{"status": "DELIVRD", "err": "000"}', DeliveryReport(Delivery.DELIVERED)),
        (b'{"status": 1, "code": 1}', DeliveryReport(Delivery.DELIVERED)),
        (b'{"stat": "failed", "error": {"code": "ERR011"}}', DeliveryReport("failed", "011")),
        (b'{"status": 4, "error_code": "000"}', DeliveryReport(Delivery.FAILED)),
        (b'{"status": 3, "part": "2/3"}', DeliveryReport("accepted", part=2, parts=3)),
        (b'payload={"dlr_status": 1}', DeliveryReport(Delivery.DELIVERED)),
        (b"\xef\xbb\xbf 4 ", DeliveryReport(Delivery.FAILED)),
        (b'{"status": "Expired", "note": "caf\xe9"}', DeliveryReport(Delivery.EXPIRED)),
        # A time past what Python's datetime holds is no time, not an error.
        (b'{"status": 1, "StatusDateTime": 99999999999999999999}', DeliveryReport("delivered")),
        (
            b'{"status": 1, "StatusDateTime": "9999-12-31T23:59:59-14:00"}',
            DeliveryReport("delivered"),
        ),
    ],
)
def test_report_shapes(body, expected):
    assert parse_reports(body) == [expected]


def test_a_list_of_reports_keeps_order_and_outer_facts_apply_inside():
    body = json.dumps(
        {
            "document_id": "b4e905d4",
            "totalParts": 2,
            "errorCode": "007",
            "results": [
                {"segment": 1, "deliveryStatus": 4},
                {"segment": 2, "deliveryStatus": 1},
                {"segment": 3, "deliveryStatus": 4, "errorCode": "011"},
            ],
        }
    ).encode()
    assert parse_reports(body) == [
        DeliveryReport("failed", "007", part=1, parts=2, document_id="b4e905d4"),
        DeliveryReport("delivered", None, part=2, parts=2, document_id="b4e905d4"),
        DeliveryReport("failed", "011", part=3, parts=2, document_id="b4e905d4"),
    ]


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"", "empty"),
        (b"   ", "empty"),
        (b'{"status": ', "not valid JSON"),
        (b"hello there", "neither JSON, form-encoded nor an SMPP receipt"),
        (b'{"phone": "+31612345678", "text": "secret"}', "no delivery status key"),
        (b'{"status": "confused", "to": "+31612345678"}', "'status' holds no delivery status"),
        (b'{"status": 9}', "'status' holds no delivery status"),
        (b"to=%2B31612345678&message=secret", "no delivery status key"),
        (b'["+31612345678"]', "no delivery status key"),
    ],
)
def test_unreadable_bodies_say_why_and_name_keys_never_values(body, problem):
    with pytest.raises(UnreadableReport, match=problem) as caught:
        parse_reports(body)
    message = str(caught.value)
    assert "31612345678" not in message and "secret" not in message
    if b"phone" in body:
        assert caught.value.keys == ["phone", "text"]
        assert "keys seen: 'phone', 'text'" in message


def test_a_body_over_the_limit_is_refused_unread():
    body = b'{"status": 1, "pad": "' + b"x" * MAX_REPORT_BYTES + b'"}'
    with pytest.raises(UnreadableReport, match=f"over {MAX_REPORT_BYTES} bytes"):
        parse_reports(body)


def test_many_keys_are_named_up_to_a_limit():
    body = json.dumps({f"key{n}": n for n in range(50)}).encode()
    with pytest.raises(UnreadableReport, match="and 30 more") as caught:
        parse_reports(body)
    assert len(caught.value.keys) == 50


# --- the report body: property-based over many shapes ---------------------------------------

# Spellings a sender may give the keys: snake_case, camelCase, PascalCase, UPPER, kebab. Written
# out here, not taken from the parser's own tables, so that a key the parser loses fails.
STATUS_SPELLINGS = [
    *("status", "Status", "STATUS", "state", "State", "stat"),
    *("delivery_status", "deliveryStatus", "DeliveryStatus", "DELIVERY-STATUS"),
    *("dlr_status", "dlrStatus", "DLRStatus", "status_code", "statusCode", "messageStatus"),
]
ERROR_SPELLINGS = [
    *("error_code", "errorCode", "ErrorCode", "ERROR_CODE", "error-code"),
    *("err", "Err", "err_code", "errCode", "reason_code", "reasonCode", "error", "Error"),
    *("code", "Code"),
]

WORDS = {
    Delivery.DELIVERED: ["Delivered", "DELIVRD", "delivered", "DELIVERED_TO_HANDSET"],
    Delivery.QUEUED: ["Queued", "ENROUTE", "pending"],
    Delivery.ACCEPTED: ["Accepted", "ACCEPTD", "submitted"],
    Delivery.FAILED: ["Failed", "UNDELIV", "undelivered", "failed"],
    Delivery.REJECTED: ["Rejected", "REJECTD"],
    Delivery.EXPIRED: ["Expired", "EXPIRED"],
}
NUMBERS = {status: n for n, status in enumerate(Delivery.__members__.values(), 1)}
FAILURES = (Delivery.FAILED, Delivery.REJECTED, Delivery.EXPIRED)


@st.composite
def status_values(draw: st.DrawFn, status: Delivery) -> Any:
    number = NUMBERS[status]
    return draw(
        st.sampled_from(
            [
                number,
                str(number),
                float(number),
                *WORDS[status],
                {"code": number, "name": WORDS[status][0]},
                {"name": WORDS[status][0]},
            ]
        )
    )


@st.composite
def code_values(draw: st.DrawFn, code: int) -> Any:
    return draw(st.sampled_from([code, str(code), f"{code:03d}", f"ERR{code:03d}", {"code": code}]))


# Keys that mean nothing to the parser, with values that must never appear in an error.
NOISE_KEYS = st.text(alphabet="xyzqjw_", min_size=1, max_size=8)
NOISE = st.dictionaries(NOISE_KEYS, st.text(alphabet="0123456789+VAL", max_size=12), max_size=4)


@st.composite
def reports(draw: st.DrawFn) -> tuple[dict[str, Any], DeliveryReport]:
    status = draw(st.sampled_from(list(Delivery)))
    status_key = draw(st.sampled_from(STATUS_SPELLINGS))
    fields: dict[str, Any] = dict(draw(NOISE))
    fields[status_key] = draw(status_values(status))
    expected_code = None
    if draw(st.booleans()):
        code = draw(st.integers(1, 30))
        code_key = draw(st.sampled_from(ERROR_SPELLINGS))
        fields[code_key] = draw(code_values(code))
        if status in FAILURES:
            expected_code = f"{code:03d}"
    part = parts = None
    if draw(st.booleans()):
        parts = draw(st.integers(1, 10))
        part = draw(st.integers(1, parts))
        fields[draw(st.sampled_from(["part", "partNumber", "segment", "part_no"]))] = part
        fields[draw(st.sampled_from(["parts", "totalParts", "segment_count"]))] = parts
    status_at = None
    if draw(st.booleans()):
        seconds = draw(st.integers(1_600_000_000, 2_000_000_000))
        status_at = datetime.fromtimestamp(seconds, tz=UTC)
        milliseconds = draw(st.booleans())
        epoch = seconds * 1000 if milliseconds else seconds
        fields[draw(st.sampled_from(["StatusDateTime", "status_time", "timestamp"]))] = draw(
            st.sampled_from([epoch, str(epoch)])
        )
    expected = DeliveryReport(status, expected_code, part, parts, status_at)
    return fields, expected


def _form(fields: dict[str, Any]) -> bytes | None:
    if any(isinstance(value, dict) for value in fields.values()):
        return None  # form fields are flat
    return urlencode({k: v if isinstance(v, str) else json.dumps(v) for k, v in fields.items()})


@st.composite
def encoded(draw: st.DrawFn) -> tuple[bytes, DeliveryReport]:
    fields, expected = draw(reports())
    shape = draw(st.sampled_from(["json", "nested", "list", "form", "json-in-form"]))
    if shape == "form" and (form := _form(fields)) is not None:
        return form.encode(), expected
    if shape == "nested":
        wrapper = draw(st.sampled_from(["dlr", "report", "deliveryReport", "data"]))
        return json.dumps({wrapper: fields}).encode(), expected
    if shape == "list":
        return json.dumps([fields]).encode(), expected
    if shape == "json-in-form":
        return urlencode({"payload": json.dumps(fields)}).encode(), expected
    return json.dumps(fields, indent=draw(st.sampled_from([None, 2]))).encode(), expected


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(encoded())
def test_every_shape_gives_the_report_it_encodes(case):
    body, expected = case
    (report,) = parse_reports(body)
    assert report.status == expected.status
    assert report.error_code == expected.error_code
    assert (report.part, report.parts) == (expected.part, expected.parts)
    assert report.status_at == expected.status_at


@settings(max_examples=200)
@given(st.dictionaries(NOISE_KEYS, st.text(alphabet="0123456789+VAL", max_size=12), max_size=8))
def test_bodies_without_a_status_name_their_keys_and_no_value(fields):
    body = json.dumps({"meta": fields}).encode()
    with pytest.raises(UnreadableReport) as caught:
        parse_reports(body)
    assert "VAL" not in str(caught.value) and "+" not in str(caught.value)
    assert caught.value.keys == ["meta", *fields]


@settings(max_examples=300)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_give_reports_or_unreadable_never_another_error(body):
    try:
        found = parse_reports(body)
    except UnreadableReport:
        return
    assert found and all(isinstance(report.status, Delivery) for report in found)


# --- what the sandbox posts ------------------------------------------------------------------

SANDBOX_STATUSES = ["delivered", "queued", "accepted", "failed", "rejected", "expired"]


@settings(max_examples=200)
@given(
    status=st.sampled_from(SANDBOX_STATUSES),
    code=st.sampled_from(sorted(FAILURE_CODES)),
    parts=st.integers(1, 8),
    data=st.data(),
    at_ms=st.integers(1_600_000_000_000, 2_000_000_000_000),
)
def test_every_report_the_sandbox_posts_is_read_as_it_meant_it(status, code, parts, data, at_ms):
    part = data.draw(st.integers(1, parts))
    failure = status in ("failed", "rejected", "expired")
    body = webhook_bodies.delivery_report(
        document_id="b4e905d4-774c-4c83-8360-01427e17a33a",
        report_id=webhook_bodies.new_report_id(),
        mobile_number="+31612345678",
        status=status,
        error_code=code if failure else None,
        part=part,
        parts=parts,
        at_ms=at_ms,
    )
    (report,) = parse_reports(json.dumps(body).encode())
    assert report == DeliveryReport(
        Delivery(status),
        code if failure else None,
        part,
        parts,
        datetime.fromtimestamp(at_ms / 1000, tz=UTC),
        "b4e905d4-774c-4c83-8360-01427e17a33a",
    )
    assert report.error_meaning == (webhook_bodies.error_meaning(code) if failure else None)
