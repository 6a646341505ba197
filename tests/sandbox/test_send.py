"""The send endpoint: KPN's validation with the seed's rules, its bodies, and what is stored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest

from smsbot.sandbox.testing import SandboxHandle
from tests.sandbox.helpers import SEND_PATH, message, post_send


async def test_accepted_message_is_answered_and_stored(
    http: aiohttp.ClientSession, sandbox: SandboxHandle, token: str
) -> None:
    status, body, _ = await post_send(http, sandbox, token, message("06-1234 5678", "Hi there"))

    assert status == 200
    assert body["status"] == "OK"
    assert set(body) == {"document_id", "status"}
    (stored,) = sandbox.messages()
    assert stored["document_id"] == body["document_id"]
    assert stored["sender"] == "SMSBot"
    assert stored["mobile_number"] == "+31612345678"
    assert stored["content"] == "Hi there"
    assert stored["encoding"] == "GSM-7"
    assert stored["segments"] == 1
    received = datetime.fromisoformat(stored["received_at"])
    assert received.tzinfo is not None
    assert abs(datetime.now(UTC) - received) < timedelta(seconds=5)
    assert sandbox.send_requests == 1


async def test_encoding_and_segments_come_from_the_text_rules(
    http: aiohttp.ClientSession, sandbox: SandboxHandle, token: str
) -> None:
    # One typographic apostrophe turns 80 characters into UCS-2, which needs two parts.
    await post_send(http, sandbox, token, message(content="it’s " + "x" * 75))
    await post_send(http, sandbox, token, message(content="y" * 161))
    ucs2, long_gsm = sandbox.messages()
    assert (ucs2["encoding"], ucs2["segments"]) == ("UCS-2", 2)
    assert ucs2["ucs2_characters"] == ["’"]
    assert (long_gsm["encoding"], long_gsm["segments"]) == ("GSM-7", 2)
    assert long_gsm["ucs2_characters"] == []


async def test_m2m_number_and_optional_fields_are_kept(
    http: aiohttp.ClientSession, sandbox: SandboxHandle, token: str
) -> None:
    body = message("0970 1234 5678", webhook_url="https://example.com/dlr", expirein="3600")
    status, _, _ = await post_send(http, sandbox, token, body)
    assert status == 200
    (stored,) = sandbox.messages()
    assert stored["mobile_number"] == "+3197012345678"
    assert stored["webhook_url"] == "https://example.com/dlr"
    assert stored["expirein"] == "3600"


async def test_sender_defaults_to_kpn_as_kpn_does(
    http: aiohttp.ClientSession, sandbox: SandboxHandle, token: str
) -> None:
    body = message()
    del body["sender"]
    status, _, _ = await post_send(http, sandbox, token, body)
    assert status == 200
    assert sandbox.messages()[0]["sender"] == "KPN"


async def test_messages_are_listed_newest_last(
    http: aiohttp.ClientSession, sandbox: SandboxHandle, token: str
) -> None:
    for text in ("first", "second", "third"):
        await post_send(http, sandbox, token, message(content=text))
    async with http.get(sandbox.url + "/sandbox/messages") as response:
        listed = await response.json()
    assert [item["content"] for item in listed] == ["first", "second", "third"]
    assert listed == sandbox.messages()


def _two_messages() -> dict[str, Any]:
    body = message()
    body["messages"] = body["messages"] * 2
    return body


def _field(name: str, value: Any) -> dict[str, Any]:
    body = message()
    body["messages"][0][name] = value
    return body


def _without(name: str) -> dict[str, Any]:
    body = message()
    del body["messages"][0][name]
    return body


@pytest.mark.parametrize(
    ("body", "info", "says"),
    [
        ([], "body", "JSON object"),
        ("text", "body", "JSON object"),
        (message() | {"sender": "TwelveLetter"}, "sender", "1 to 11 characters, not 12"),
        (message() | {"sender": ""}, "sender", "1 to 11 characters"),
        (message() | {"sender": 42}, "sender", "1 to 11 characters"),
        ({"sender": "SMSBot"}, "messages", "list with one item"),
        (message() | {"messages": []}, "messages", "list with one item"),
        (_two_messages(), "messages", "one message per call"),
        (message() | {"messages": ["0612345678"]}, "messages[0]", "must be an object"),
        (_without("mobile_number"), "messages[0].mobile_number", "required"),
        (message("0612345678,0687654321"), "messages[0].mobile_number", "one recipient per call"),
        (message("0601234567"), "messages[0].mobile_number", "060 numbers cannot receive SMS"),
        (message("0201234567"), "messages[0].mobile_number", "landline"),
        (message("+32470123456"), "messages[0].mobile_number", "not a Dutch number"),
        (message("061234567"), "messages[0].mobile_number", "06 and 8 digits"),
        (message("06-CALL-ME"), "messages[0].mobile_number", "letters"),
        (_without("content"), "messages[0].content", "required"),
        (_field("content", ""), "messages[0].content", "empty"),
        (message(content="x" * 1001), "messages[0].content", "1001 characters; KPN accepts"),
        (message(webhook_url="ftp://example.com"), "webhook_url", "http or https URL"),
        (message(expirein=3600), "expirein", "written as a text"),
        (message(expirein="soon"), "expirein", "written as a text"),
    ],
)
async def test_invalid_bodies_get_a_kpn_error_naming_field_and_fix(
    http: aiohttp.ClientSession,
    sandbox: SandboxHandle,
    token: str,
    body: Any,
    info: str,
    says: str,
) -> None:
    status, answer, _ = await post_send(http, sandbox, token, body)
    assert status == 400
    assert set(answer) == {"errorResponse"}
    error = answer["errorResponse"]
    assert error["code"] == "400"
    assert error["info"] == info
    assert says in error["message"]
    assert sandbox.messages() == []


async def test_blank_content_is_kpns_to_accept(
    http: aiohttp.ClientSession, sandbox: SandboxHandle, token: str
) -> None:
    # Refusing blank text is smsbot's own rule; the sandbox answers as KPN would.
    status, _, _ = await post_send(http, sandbox, token, message(content=" "))
    assert status == 200


async def test_exactly_1000_characters_are_accepted(
    http: aiohttp.ClientSession, sandbox: SandboxHandle, token: str
) -> None:
    status, _, _ = await post_send(http, sandbox, token, message(content="x" * 1000))
    assert status == 200
    assert sandbox.messages()[0]["segments"] == 7


async def test_body_that_is_not_json_is_refused(
    http: aiohttp.ClientSession, sandbox: SandboxHandle, token: str
) -> None:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    async with http.post(sandbox.url + SEND_PATH, data=b"{not json", headers=headers) as response:
        assert response.status == 400
        body = await response.json()
    assert "not valid JSON" in body["errorResponse"]["message"]


@pytest.mark.parametrize(
    ("authorization", "info"),
    [
        (None, "Access token is missing"),
        ("Basic c2FuZGJveDpzYW5kYm94", "Access token is missing"),
        ("Bearer ", "Access token is missing"),
        ("Bearer not-a-token-we-issued", "Invalid access token"),
    ],
)
async def test_send_without_a_valid_bearer_token_is_401(
    http: aiohttp.ClientSession, sandbox: SandboxHandle, authorization: str | None, info: str
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    async with http.post(sandbox.url + SEND_PATH, json=message(), headers=headers) as response:
        assert response.status == 401
        body = await response.json()
    assert body["errorResponse"]["code"] == "401"
    assert body["errorResponse"]["message"] == "Unauthorized"
    assert body["errorResponse"]["info"].startswith(info)
    assert sandbox.messages() == []
    assert sandbox.send_requests == 1


async def test_bearer_scheme_is_case_insensitive(
    http: aiohttp.ClientSession, sandbox: SandboxHandle, token: str
) -> None:
    headers = {"Authorization": f"bearer {token}"}
    async with http.post(sandbox.url + SEND_PATH, json=message(), headers=headers) as response:
        assert response.status == 200


async def test_wrong_url_gets_apigees_application_not_found(
    http: aiohttp.ClientSession, sandbox: SandboxHandle, token: str
) -> None:
    # E.g. a base URL configured with the path already in it.
    url = sandbox.url + "/communication/kpn/sms" + SEND_PATH
    async with http.post(url, json=message(), headers={"Authorization": f"Bearer {token}"}) as r:
        assert r.status == 404
        body = await r.json()
    assert body["fault"]["detail"]["errorcode"].endswith(".ApplicationNotFound")
    assert f"url: /communication/kpn/sms{SEND_PATH}" in body["fault"]["faultstring"]
    assert sandbox.messages() == []
