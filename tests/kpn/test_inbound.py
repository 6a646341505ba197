"""KPN's inbound-SMS payload: the reference spec's shape, tolerant of extra keys, clear refusals."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsbot.kpn.inbound import (
    MAX_INBOUND_BYTES,
    InboundPayloadError,
    example_payload,
    parse_inbound,
    phone_number,
)
from smsbot.sandbox import webhook_bodies
from smsbot.settings import KpnSettings

MOBILE = "31612345678"


def body(**overrides: object) -> bytes:
    return json.dumps(example_payload(**{"sender": MOBILE, **overrides})).encode()


def test_the_reference_example_parses_with_numbers_as_e164_and_time_as_utc():
    sms = parse_inbound(body())
    assert sms.sender == "+31612345678"
    assert sms.recipient == "+3197000000000"
    assert sms.message_id == "6W0000001G7BB999.3197000000000"
    assert sms.content == "Hey this is an inbound response."
    assert sms.timestamp_utc == datetime(2024, 4, 30, 14, 37, 42, 218159, tzinfo=UTC)
    assert sms.type == "text/unicode/*"
    assert sms.from_dutch_mobile


def test_extra_keys_are_ignored_and_type_may_be_missing():
    payload = example_payload(sender=MOBILE, keyword="STOP", operator={"name": "KPN"})
    del payload["type"]
    sms = parse_inbound(json.dumps(payload).encode())
    assert sms.type is None and sms.content == "Hey this is an inbound response."


def test_a_zoned_timestamp_is_converted_to_utc():
    sms = parse_inbound(body(timestamp_utc="2024-04-30T16:37:42+02:00"))
    assert sms.timestamp_utc == datetime(2024, 4, 30, 14, 37, 42, tzinfo=UTC)


@pytest.mark.parametrize(
    ("sender", "e164", "dutch_mobile"),
    [
        ("31612345678", "+31612345678", True),
        ("+31612345678", "+31612345678", True),
        ("0612345678", "+31612345678", True),
        ("0031612345678", "+31612345678", True),
        ("3197012345678", "+3197012345678", True),
        ("32470123456", "+32470123456", False),  # a Belgian phone: recorded, not threaded
        ("KPN", "KPN", False),  # an alphanumeric sender
        ("1200", "1200", False),  # a short code
    ],
)
def test_senders_are_normalised_by_the_number_rules(sender, e164, dutch_mobile):
    sms = parse_inbound(body(sender=sender))
    assert sms.sender == e164
    assert sms.from_dutch_mobile is dutch_mobile


def test_a_numeric_json_sender_is_read_as_digits():
    sms = parse_inbound(body(sender=31612345678))
    assert sms.sender == "+31612345678"


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        (b"not json", "not valid JSON"),
        (b"[]", "Input should be an object"),
        (b"{}", "sender: Field required; recipient: Field required; message_id: Field required"),
        (body(sender="  "), "sender: Value error, is blank"),
        (body(message_id=" "), "message_id: Value error, is blank"),
        (body(timestamp_utc="yesterday"), "timestamp_utc: Input should be a valid datetime"),
        (body(content="x" * 10_001), "content: String should have at most 10000 characters"),
    ],
)
def test_bad_bodies_say_what_is_wrong(payload, problem):
    with pytest.raises(InboundPayloadError) as caught:
        parse_inbound(payload)
    assert problem in str(caught.value)


def test_refusals_never_show_the_number_or_the_text():
    payload = example_payload(sender=MOBILE, content="my secret reply", timestamp_utc="soon")
    with pytest.raises(InboundPayloadError) as caught:
        parse_inbound(json.dumps(payload).encode())
    message = str(caught.value)
    assert "timestamp_utc" in message
    assert "secret" not in message and "612345678" not in message and "soon" not in message


def test_a_body_over_the_limit_is_refused():
    with pytest.raises(InboundPayloadError, match=f"over {MAX_INBOUND_BYTES} bytes"):
        parse_inbound(body(content="x" * MAX_INBOUND_BYTES))


@given(st.from_regex(r"6[1-58][0-9]{7}", fullmatch=True))
def test_every_dutch_mobile_in_kpns_form_becomes_the_e164_smsbot_sends_to(national):
    assert phone_number(f"31{national}") == f"+31{national}"
    assert phone_number(f"+31{national}") == f"+31{national}"


def test_the_reply_number_setting_is_checked_by_the_number_rules():
    assert KpnSettings(reply_number="097012345678").reply_number == "+3197012345678"
    with pytest.raises(ValueError, match="not a mobile number: 060 numbers cannot receive SMS"):
        KpnSettings(reply_number="0601234567")


@given(
    national=st.from_regex(r"6[1-58][0-9]{7}", fullmatch=True),
    content=st.text(max_size=500),
    at=st.datetimes(
        min_value=datetime(2020, 1, 1), max_value=datetime(2040, 1, 1), timezones=st.just(UTC)
    ),
)
def test_every_payload_the_sandbox_phone_posts_is_read_as_it_meant_it(national, content, at):
    recipient = "+3197012345678"
    body = webhook_bodies.inbound_sms(
        sender=f"+31{national}",
        recipient=recipient,
        message_id=webhook_bodies.new_message_id(recipient),
        content=content,
        at=at,
    )
    sms = parse_inbound(json.dumps(body).encode())
    assert (sms.sender, sms.recipient, sms.content) == (f"+31{national}", recipient, content)
    assert sms.timestamp_utc == at and sms.message_id == body["message_id"]
    assert sms.from_dutch_mobile
