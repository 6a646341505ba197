"""`check_response` and the header parsers on their own: KPN's answer shapes, byte for byte.

These are pure functions over (status, headers, body); the sandbox tests exercise the same
mapping end to end, these pin down the shapes the sandbox does not produce.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smsbot.errors import (
    KpnAuthError,
    KpnError,
    KpnOutcomeUnknown,
    KpnQuotaExhausted,
    KpnRejected,
    KpnUnavailable,
)
from smsbot.kpn.models import Quota, parse_reset_time
from smsbot.kpn.responses import check_response, read_send, read_token, retry_after_seconds

KPN_ERROR = json.dumps(
    {"errorResponse": {"code": "400", "message": "Invalid sender", "info": "sender"}}
).encode()
APIGEE_FAULT = json.dumps(
    {
        "fault": {
            "faultstring": "Invalid Access Token",
            "detail": {"errorcode": "keymanagement.service.invalid_access_token"},
        }
    }
).encode()


def test_success_returns_the_decoded_body() -> None:
    body = b'{"document_id": "d-1", "status": "OK"}'
    assert check_response(200, {}, body, endpoint="send") == {"document_id": "d-1", "status": "OK"}


def test_token_answer_values_are_strings_on_the_wire() -> None:
    body = json.dumps(
        {"access_token": "abc", "token_type": "Bearer", "expires_in": "3599", "status": "approved"}
    ).encode()
    token = read_token(200, {}, body)
    assert (token.access_token, token.expires_in) == ("abc", 3599.0)


def test_token_answer_without_a_token_is_a_broken_endpoint_not_bad_credentials() -> None:
    with pytest.raises(KpnUnavailable, match="access_token"):
        read_token(200, {}, b'{"token_type": "Bearer", "expires_in": "3599"}')


def test_errorresponse_message_code_and_info_are_kept() -> None:
    with pytest.raises(KpnRejected) as caught:
        check_response(400, {}, KPN_ERROR, endpoint="send")
    assert str(caught.value) == "KPN rejected the SMS (HTTP 400): Invalid sender."
    response = caught.value.response
    assert (response.status, response.code, response.message, response.info) == (
        400,
        "400",
        "Invalid sender",
        "sender",
    )


def test_apigee_fault_shape_is_read() -> None:
    with pytest.raises(KpnAuthError) as caught:
        check_response(401, {}, APIGEE_FAULT, endpoint="send")
    assert "Invalid Access Token" in str(caught.value)
    assert caught.value.response.code == "keymanagement.service.invalid_access_token"


def test_apigee_token_error_shape_is_read() -> None:
    body = b'{"ErrorCode": "invalid_client", "Error": "ClientId is Invalid"}'
    with pytest.raises(KpnAuthError, match="invalid_client: ClientId is Invalid"):
        check_response(401, {}, body, endpoint="token")


def test_a_400_from_the_token_endpoint_is_about_the_credentials_request() -> None:
    body = b'{"ErrorCode": "invalid_request", "Error": "Required param : grant_type"}'
    with pytest.raises(KpnAuthError, match="Required param : grant_type"):
        check_response(400, {}, body, endpoint="token")


def test_a_long_html_page_is_shortened_to_readable_text() -> None:
    page = b"<html><body><h1>Oops</h1>" + b"<p>word </p>" * 200 + b"</body></html>"
    with pytest.raises(KpnUnavailable) as caught:
        check_response(502, {}, page, endpoint="send")
    message = str(caught.value)
    assert message.startswith("KPN is unavailable (HTTP 502 Bad Gateway: Oops word word")
    assert len(message) < 300 and "<" not in message


def test_a_status_outside_the_standard_set_still_shows_its_number() -> None:
    with pytest.raises(KpnError, match="HTTP 599"):
        check_response(599, {}, b"", endpoint="send")


def test_2xx_that_is_not_json_is_unknown_for_a_send() -> None:
    with pytest.raises(KpnOutcomeUnknown, match="not with JSON"):
        check_response(200, {}, b"<html>ok</html>", endpoint="send")


def test_2xx_without_document_id_was_not_accepted() -> None:
    with pytest.raises(KpnRejected, match="status FAILED"):
        read_send(200, {}, b'{"status": "FAILED"}')


def test_429_reads_retry_after_and_the_quota_reset() -> None:
    headers = {"Retry-After": "120", "quota-reset-UTC": "2026-11-25T11:00:00Z", "quota-limit": "5"}
    with pytest.raises(KpnQuotaExhausted) as caught:
        check_response(429, headers, b"", endpoint="send")
    assert caught.value.retry_after == 120
    assert caught.value.reset_at == datetime(2026, 11, 25, 11, 0, tzinfo=UTC)
    assert "resets at 2026-11-25 11:00 UTC" in str(caught.value)


def test_retry_after_as_an_http_date() -> None:
    now = datetime(2026, 11, 25, 10, 0, 0, tzinfo=UTC)
    headers = {"Retry-After": "Wed, 25 Nov 2026 10:00:30 GMT"}
    assert retry_after_seconds(headers, now=now) == 30
    assert retry_after_seconds({"Retry-After": "soon"}) is None
    assert retry_after_seconds({}) is None


@pytest.mark.parametrize(
    "value",
    [
        "2026-11-25T11:00:00Z",
        "2026-11-25 11:00:00",
        "2026-11-25 11:00:00 UTC",
        "1795604400",
        "1795604400000",
        "Wed, 25 Nov 2026 11:00:00 GMT",
    ],
)
def test_quota_reset_in_the_formats_kpns_stack_uses(value: str) -> None:
    assert parse_reset_time(value) == datetime(2026, 11, 25, 11, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "n/a",
        "tomorrow",
        None,
        "253402300800000",
        "99999999999999999999",
        "9" * 400,
        "9999-12-31 23:59:59-01:00",
        "Fri, 31 Dec 9999 23:59:59 -0100",
    ],
)
def test_quota_reset_that_cannot_be_read_is_none(value: str | None) -> None:
    assert parse_reset_time(value) is None


def test_quota_remaining_never_goes_below_zero() -> None:
    quota = Quota.from_headers({"quota-limit": "10", "quota-used": "12"})
    assert quota is not None and quota.remaining == 0


def test_a_redirect_is_reported_with_where_it_points_not_followed() -> None:
    headers = {"Location": "https://api-prd.kpn.com/communication/kpn/sms/send"}
    with pytest.raises(KpnUnavailable) as caught:
        check_response(301, headers, b"", endpoint="send")
    message = str(caught.value)
    assert "HTTP 301 Moved Permanently" in message
    assert "to https://api-prd.kpn.com/communication/kpn/sms/send" in message
    assert "SMSBOT_KPN__BASE_URL" in message


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=15), inner, max_size=3)
    ),
    max_leaves=10,
)
texts = st.none() | st.text(max_size=30)
kpn_errors = st.fixed_dictionaries(
    {
        "errorResponse": st.fixed_dictionaries(
            {"message": st.text(min_size=1, max_size=30)}, optional={"code": texts, "info": texts}
        )
    }
)
apigee_faults = st.fixed_dictionaries(
    {
        "fault": st.fixed_dictionaries(
            {"faultstring": texts, "detail": st.fixed_dictionaries({"errorcode": texts})}
        )
    }
)
token_errors = st.fixed_dictionaries({"ErrorCode": texts, "Error": texts})
malformed = st.fixed_dictionaries(
    {}, optional={"errorResponse": json_values, "fault": json_values, "Error": json_values}
)
error_like = st.one_of(kpn_errors, apigee_faults, token_errors, malformed, json_values).map(
    lambda d: json.dumps(d).encode()
)


@settings(max_examples=300, deadline=None)
@given(
    status=st.sampled_from([302, 400, 401, 403, 404, 429, 500, 502, 503, 504])
    | st.integers(min_value=300, max_value=599),
    body=st.binary(max_size=200) | error_like,
    endpoint=st.sampled_from(["token", "send"]),
)
def test_any_error_answer_becomes_a_kpn_error_that_names_its_status(
    status: int, body: bytes, endpoint: str
) -> None:
    with pytest.raises(KpnError) as caught:
        check_response(status, {"Retry-After": "x"}, body, endpoint=endpoint)  # type: ignore[arg-type]
    assert f"HTTP {status}" in str(caught.value)
    assert caught.value.status == status
