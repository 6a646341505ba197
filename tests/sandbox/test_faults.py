"""Scripted faults: statuses with realistic bodies, late answers, dropped connections."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import pytest

from smsbot.sandbox.testing import SandboxHandle
from tests.fixtures.waiting import until
from tests.sandbox.helpers import (
    SANDBOX_CREDENTIALS,
    SEND_PATH,
    TOKEN_PATH,
    fetch_token,
    message,
    post_send,
)


async def script(http: aiohttp.ClientSession, sandbox: SandboxHandle, spec: Any) -> Any:
    async with http.post(sandbox.url + "/sandbox/faults", json=spec) as response:
        assert response.status == 200, await response.text()
        return await response.json()


async def test_status_fault_hits_the_next_count_sends_then_stops(
    http: aiohttp.ClientSession, sandbox: SandboxHandle, token: str
) -> None:
    answer = await script(http, sandbox, {"status": 503, "count": 2})
    assert answer == {"pending": [{"status": 503, "target": "send", "count": 2}]}

    statuses = [(await post_send(http, sandbox, token, message()))[0] for _ in range(3)]

    assert statuses == [503, 503, 200]
    # A refused request is not an accepted SMS: only the third one is in the inbox.
    assert len(sandbox.messages()) == 1
    assert sandbox.send_requests == 3


@pytest.mark.parametrize("status", [502, 503, 504])
async def test_gateway_statuses_answer_with_apigee_fault_json(
    http: aiohttp.ClientSession, sandbox: SandboxHandle, token: str, status: int
) -> None:
    sandbox.add_fault(status=status)
    answered, body, headers = await post_send(http, sandbox, token, message())
    assert answered == status
    assert headers["Content-Type"].startswith("application/json")
    assert set(body) == {"fault"}
    assert body["fault"]["faultstring"]
    assert body["fault"]["detail"]["errorcode"].startswith("messaging.adaptors.http.flow.")


async def test_other_statuses_answer_with_kpn_error_response(
    http: aiohttp.ClientSession, sandbox: SandboxHandle, token: str
) -> None:
    sandbox.add_fault(status=500)
    status, body, _ = await post_send(http, sandbox, token, message())
    assert status == 500
    assert body["errorResponse"]["code"] == "500"
    assert body["errorResponse"]["message"] == "Internal Server Error"


async def test_html_body_looks_like_a_load_balancer_page(
    http: aiohttp.ClientSession, sandbox: SandboxHandle, token: str
) -> None:
    sandbox.add_fault(status=502, body="html")
    status, body, headers = await post_send(http, sandbox, token, message())
    assert status == 502
    assert headers["Content-Type"].startswith("text/html")
    assert "<title>502 Bad Gateway</title>" in body


async def test_empty_body_has_no_content(
    http: aiohttp.ClientSession, sandbox: SandboxHandle, token: str
) -> None:
    sandbox.add_fault(status=503, body="empty")
    status, body, headers = await post_send(http, sandbox, token, message())
    assert (status, body, headers["Content-Length"]) == (503, None, "0")


async def test_error_body_can_be_chosen_for_a_gateway_status(
    http: aiohttp.ClientSession, sandbox: SandboxHandle, token: str
) -> None:
    sandbox.add_fault(status=503, body="error")
    _, body, _ = await post_send(http, sandbox, token, message())
    assert body["errorResponse"]["code"] == "503"


async def test_429_fault_carries_retry_after(
    http: aiohttp.ClientSession, sandbox: SandboxHandle, token: str
) -> None:
    await script(http, sandbox, {"status": 429, "retry_after": 1.2})
    status, body, headers = await post_send(http, sandbox, token, message())
    assert status == 429
    assert headers["Retry-After"] == "2"  # rounded up: never invite a retry too early
    assert body["errorResponse"]["code"] == "429"
    assert sandbox.messages() == []


async def test_delayed_answer_still_accepts_and_records_the_message(
    http: aiohttp.ClientSession, sandbox: SandboxHandle, token: str
) -> None:
    await script(http, sandbox, {"delay_ms": 150})
    started = time.monotonic()
    status, body, _ = await post_send(http, sandbox, token, message())
    assert time.monotonic() - started >= 0.15
    assert status == 200
    assert sandbox.messages()[0]["document_id"] == body["document_id"]


async def test_client_giving_up_on_a_slow_answer_leaves_the_message_accepted(
    http: aiohttp.ClientSession, sandbox: SandboxHandle, token: str
) -> None:
    # What a client must call "outcome unknown": it timed out, but KPN did accept the SMS.
    sandbox.add_fault(delay_ms=2000)
    with pytest.raises(asyncio.TimeoutError):
        await post_send_with_timeout(http, sandbox, token, 0.1)
    assert len(sandbox.messages()) == 1


async def test_a_held_answer_comes_when_released_and_the_sms_is_in_already(
    http: aiohttp.ClientSession, sandbox: SandboxHandle, token: str
) -> None:
    sandbox.hold_answers()
    send = asyncio.ensure_future(post_send(http, sandbox, token, message()))
    await until(lambda: sandbox.answers_held == 1, "the send's answer held")
    assert not send.done()
    assert len(sandbox.messages()) == 1  # taken in; only the answer waits
    sandbox.release_answers()
    status, body, _ = await send
    assert status == 200
    assert sandbox.messages()[0]["document_id"] == body["document_id"]
    assert sandbox.answers_held == 0
    # Released for good: the next send is answered at once.
    assert (await post_send(http, sandbox, token, message()))[0] == 200


async def post_send_with_timeout(
    http: aiohttp.ClientSession, sandbox: SandboxHandle, token: str, seconds: float
) -> None:
    timeout = aiohttp.ClientTimeout(total=seconds)
    headers = {"Authorization": f"Bearer {token}"}
    async with http.post(
        sandbox.url + SEND_PATH, json=message(), headers=headers, timeout=timeout
    ) as response:
        await response.read()


async def test_dropped_connection_gives_no_answer_but_the_message_is_recorded(
    http: aiohttp.ClientSession, sandbox: SandboxHandle, token: str
) -> None:
    await script(http, sandbox, {"drop": True})
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await post_send(http, sandbox, token, message())
    (stored,) = sandbox.messages()
    assert stored["mobile_number"] == "+31612345678"
    # The next request is answered normally.
    status, _, _ = await post_send(http, sandbox, token, message())
    assert status == 200
    assert len(sandbox.messages()) == 2


async def test_token_faults_leave_sends_alone(
    http: aiohttp.ClientSession, sandbox: SandboxHandle, token: str
) -> None:
    await script(http, sandbox, {"status": 503, "target": "token", "body": "html"})
    async with http.post(sandbox.url + TOKEN_PATH, data=SANDBOX_CREDENTIALS) as response:
        assert response.status == 503
        assert response.content_type == "text/html"
    status, _, _ = await post_send(http, sandbox, token, message())
    assert status == 200
    assert await fetch_token(http, sandbox)
    assert sandbox.token_requests == 3  # the fixture's, the faulted one, the last one


async def test_dropped_token_request(http: aiohttp.ClientSession, sandbox: SandboxHandle) -> None:
    sandbox.add_fault(drop=True, target="token")
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await fetch_token(http, sandbox)
    assert await fetch_token(http, sandbox)


async def test_faults_apply_in_the_order_scripted(
    http: aiohttp.ClientSession, sandbox: SandboxHandle, token: str
) -> None:
    await script(http, sandbox, [{"status": 502}, {"status": 429, "retry_after": 1}])
    await script(http, sandbox, {"status": 504})
    statuses = [(await post_send(http, sandbox, token, message()))[0] for _ in range(4)]
    assert statuses == [502, 429, 504, 200]


async def test_faults_are_listed_and_cleared(
    http: aiohttp.ClientSession, sandbox: SandboxHandle, token: str
) -> None:
    await script(http, sandbox, {"status": 503, "count": 5})
    async with http.get(sandbox.url + "/sandbox/faults") as response:
        assert (await response.json())["pending"][0]["count"] == 5
    async with http.delete(sandbox.url + "/sandbox/faults") as response:
        assert (await response.json()) == {"pending": []}
    status, _, _ = await post_send(http, sandbox, token, message())
    assert status == 200


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ({}, "needs a status, a delay_ms or drop"),
        ({"status": 200}, "status must be a whole number from 400 to 599"),
        ({"status": "503"}, "status must be a whole number"),
        ({"status": 503, "count": 0}, "count must be a whole number from 1"),
        ({"delay_ms": -1}, "delay_ms must be a whole number from 0"),
        ({"drop": "yes"}, "drop must be true or false"),
        ({"drop": True, "status": 503}, "cannot have a status"),
        ({"status": 503, "body": "xml"}, "body must be one of error, fault, html, empty"),
        ({"status": 503, "target": "inbox"}, "target must be one of send, token"),
        ({"delay_ms": 10, "retry_after": 1}, "add a status"),
        ({"status": 429, "retry_after": -1}, "retry_after must be a number of seconds"),
        ({"stauts": 503}, "unknown fault field(s) stauts"),
        ("503", "a fault is a JSON object"),
    ],
)
async def test_bad_fault_scripts_are_refused_with_how_to_fix(
    http: aiohttp.ClientSession, sandbox: SandboxHandle, spec: Any, says: str
) -> None:
    async with http.post(sandbox.url + "/sandbox/faults", json=spec) as response:
        assert response.status == 400
        assert says in (await response.json())["error"]
    assert sandbox.messages() == []


async def test_a_list_with_one_bad_fault_scripts_none(
    http: aiohttp.ClientSession, sandbox: SandboxHandle
) -> None:
    async with http.post(
        sandbox.url + "/sandbox/faults", json=[{"status": 503}, {"status": 99}]
    ) as response:
        assert response.status == 400
    async with http.get(sandbox.url + "/sandbox/faults") as response:
        assert (await response.json()) == {"pending": []}


async def test_fault_body_that_is_not_json_is_refused(
    http: aiohttp.ClientSession, sandbox: SandboxHandle
) -> None:
    headers = {"Content-Type": "application/json"}
    async with http.post(
        sandbox.url + "/sandbox/faults", data=b"status=503", headers=headers
    ) as response:
        assert response.status == 400
        assert "not valid JSON" in (await response.json())["error"]
    assert sandbox.messages() == []


async def test_faults_are_kept_as_runs_and_bounded(
    http: aiohttp.ClientSession, sandbox: SandboxHandle, token: str
) -> None:
    # The count costs no memory: 10,000 hits of one fault are one entry.
    await script(http, sandbox, {"status": 503, "count": 10_000})
    await script(http, sandbox, {"status": 503, "count": 5})
    assert (await script(http, sandbox, []))["pending"] == [
        {"status": 503, "target": "send", "count": 10_005}
    ]
    async with http.delete(sandbox.url + "/sandbox/faults"):
        pass
    too_many = [{"status": 500 + n % 2} for n in range(1001)]
    async with http.post(sandbox.url + "/sandbox/faults", json=too_many) as response:
        assert response.status == 400
        assert "at most 1000" in (await response.json())["error"]
    await script(http, sandbox, [{"status": 500 + n % 2} for n in range(1000)])
    async with http.post(sandbox.url + "/sandbox/faults", json={"status": 502}) as response:
        assert response.status == 400
        assert "1000 are waiting" in (await response.json())["error"]
    async with http.get(sandbox.url + "/sandbox/faults") as response:
        assert len((await response.json())["pending"]) == 1000
