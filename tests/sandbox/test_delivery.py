"""Delivery reports: a send with a webhook_url gets KPN-style reports posted to it, per part,
retried on 5xx, and scripted through POST /sandbox/faults."""

from __future__ import annotations

import socket
import time
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import jsonschema_rs
import pytest

from smsbot.sandbox.testing import SandboxHandle, running_sandbox
from smsbot.sandbox.webhook_bodies import DELIVERY_REPORT_SCHEMA
from tests.fixtures.waiting import until
from tests.sandbox.helpers import fetch_token, message, post_send
from tests.sandbox.receiver import Receiver, running_receiver

DELAY_MS = 20
RETRIES = (0.01, 0.01, 0.01)


@pytest.fixture
async def sandbox() -> AsyncIterator[SandboxHandle]:
    async with running_sandbox(delivery_delay_ms=DELAY_MS, retry_delays=RETRIES) as handle:
        yield handle


async def send(
    http: aiohttp.ClientSession,
    sandbox: SandboxHandle,
    token: str,
    receiver: Receiver,
    content: str = "Hello",
) -> str:
    status, body, _ = await post_send(
        http, sandbox, token, message(content=content, webhook_url=receiver.url)
    )
    assert status == 200, body
    return body["document_id"]


async def script(http: aiohttp.ClientSession, sandbox: SandboxHandle, spec: Any) -> Any:
    async with http.post(sandbox.url + "/sandbox/faults", json=spec) as response:
        assert response.status == 200, await response.text()
        return await response.json()


def statuses(reports: list[dict[str, Any]]) -> list[tuple[int, str]]:
    return [(report["part"], report["status"]) for report in reports]


async def test_accepted_then_delivered_after_the_delay(
    http: aiohttp.ClientSession, sandbox: SandboxHandle, token: str, receiver: Receiver
) -> None:
    started = time.monotonic()
    document_id = await send(http, sandbox, token, receiver)
    accepted, delivered = await receiver.wait_for(2)
    assert time.monotonic() - started >= DELAY_MS / 1000

    for report in (accepted, delivered):
        jsonschema_rs.validate(DELIVERY_REPORT_SCHEMA, report)
        assert report["document_id"] == document_id
        assert report["mobile_number"] == "31612345678"
        assert (report["part"], report["parts"]) == (1, 1)
        assert "error_code" not in report
    assert (accepted["status"], accepted["status_code"]) == ("Accepted", 3)
    assert (delivered["status"], delivered["status_code"]) == ("Delivered", 1)
    assert accepted["report_id"] != delivered["report_id"]
    assert accepted["StatusDateTime"] <= delivered["StatusDateTime"]
    assert abs(delivered["StatusDateTime"] / 1000 - time.time()) < 60  # epoch milliseconds

    await until(lambda: sandbox.messages()[0]["delivery"] == "delivered", "delivered")
    (stored,) = sandbox.messages()
    assert stored["delivered_at"] is not None
    assert stored["delivery_error"] is None
    assert [r["webhook"]["state"] for r in stored["reports"]] == ["posted", "posted"]


async def test_one_report_per_part_of_a_long_message(
    http: aiohttp.ClientSession, sandbox: SandboxHandle, token: str, receiver: Receiver
) -> None:
    await send(http, sandbox, token, receiver, content="x" * 161)
    reports = await receiver.wait_for(4)
    assert statuses(reports) == [
        (1, "Accepted"),
        (2, "Accepted"),
        (1, "Delivered"),
        (2, "Delivered"),
    ]
    assert {report["parts"] for report in reports} == {2}


async def test_a_send_without_webhook_url_gets_no_reports(
    http: aiohttp.ClientSession, sandbox: SandboxHandle, token: str, receiver: Receiver
) -> None:
    await post_send(http, sandbox, token, message())
    await send(http, sandbox, token, receiver)
    await receiver.wait_for(2)
    first, second = sandbox.messages()
    assert (first["delivery"], first["reports"]) == (None, [])
    assert {report["document_id"] for report in receiver.posts} == {second["document_id"]}


async def test_failed_with_its_code_and_meaning(
    http: aiohttp.ClientSession, sandbox: SandboxHandle, token: str, receiver: Receiver
) -> None:
    answer = await script(http, sandbox, {"delivery": "failed", "error_code": "007", "count": 1})
    assert answer["pending"] == [{"delivery": "failed", "error_code": "007", "count": 1}]
    await send(http, sandbox, token, receiver)
    accepted, failed = await receiver.wait_for(2)
    assert accepted["status"] == "Accepted"
    assert (failed["status"], failed["status_code"], failed["error_code"]) == ("Failed", 4, "007")
    assert failed["error_description"] == "Recipient is temporarily unreachable or out of coverage"
    jsonschema_rs.validate(DELIVERY_REPORT_SCHEMA, failed)
    stored = sandbox.messages()[0]
    assert stored["delivery"] == "failed"
    assert stored["delivery_error"] == {
        "code": "007",
        "meaning": "Recipient is temporarily unreachable or out of coverage",
    }
    # The script hit one SMS only: the next is delivered.
    await send(http, sandbox, token, receiver)
    assert (await receiver.wait_for(4))[3]["status"] == "Delivered"


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"delivery": "expired"}, [(1, "Accepted"), (1, "Expired", "024")]),
        ({"delivery": "failed"}, [(1, "Accepted"), (1, "Failed", "001")]),
        ({"delivery": "rejected", "error_code": "003"}, [(1, "Rejected", "003")]),
    ],
)
async def test_scripted_final_statuses(
    http: aiohttp.ClientSession,
    sandbox: SandboxHandle,
    token: str,
    receiver: Receiver,
    spec: dict[str, Any],
    expected: list[tuple[Any, ...]],
) -> None:
    await script(http, sandbox, spec)
    await send(http, sandbox, token, receiver)
    reports = await receiver.wait_for(len(expected))
    got = [
        (r["part"], r["status"], r["error_code"]) if "error_code" in r else (r["part"], r["status"])
        for r in reports
    ]
    assert got == expected
    final = spec["delivery"]
    await until(lambda: sandbox.messages()[0]["delivery"] == final, final)


async def test_none_sends_no_report_for_that_message(
    http: aiohttp.ClientSession, sandbox: SandboxHandle, token: str, receiver: Receiver
) -> None:
    await script(http, sandbox, {"delivery": "none"})
    silent = await send(http, sandbox, token, receiver)
    reported = await send(http, sandbox, token, receiver)
    await receiver.wait_for(2)
    # The second message's delivered came after the delay; the first had its chance.
    await until(lambda: sandbox.messages()[1]["delivery"] == "delivered", "delivered")
    assert {report["document_id"] for report in receiver.posts} == {reported}
    assert sandbox.messages()[0]["document_id"] == silent
    assert sandbox.messages()[0]["delivery"] is None


async def test_duplicate_posts_each_report_twice(
    http: aiohttp.ClientSession, sandbox: SandboxHandle, token: str, receiver: Receiver
) -> None:
    await script(http, sandbox, {"delivery": "duplicate"})
    await send(http, sandbox, token, receiver)
    reports = await receiver.wait_for(4)
    assert statuses(reports) == [
        (1, "Accepted"),
        (1, "Accepted"),
        (1, "Delivered"),
        (1, "Delivered"),
    ]
    assert reports[0] == reports[1] and reports[2] == reports[3]
    await until(lambda: sandbox.messages()[0]["delivery"] == "delivered", "delivered")


async def test_out_of_order_says_delivered_first_and_never_steps_back(
    http: aiohttp.ClientSession, sandbox: SandboxHandle, token: str, receiver: Receiver
) -> None:
    await script(http, sandbox, {"delivery": "out_of_order"})
    await send(http, sandbox, token, receiver, content="y" * 161)
    reports = await receiver.wait_for(4)
    assert statuses(reports) == [
        (2, "Delivered"),
        (1, "Delivered"),
        (2, "Accepted"),
        (1, "Accepted"),
    ]
    await until(lambda: len(sandbox.messages()[0]["reports"]) == 4, "all four issued")
    assert sandbox.messages()[0]["delivery"] == "delivered"


async def test_a_scripted_delay_holds_the_final_report(
    http: aiohttp.ClientSession, sandbox: SandboxHandle, token: str, receiver: Receiver
) -> None:
    await script(http, sandbox, {"delivery": "delivered", "delay_ms": 300})
    started = time.monotonic()
    await send(http, sandbox, token, receiver)
    await receiver.wait_for(2)
    assert time.monotonic() - started >= 0.3


async def test_a_script_waits_for_a_send_that_asks_for_reports(
    http: aiohttp.ClientSession, sandbox: SandboxHandle, token: str, receiver: Receiver
) -> None:
    sandbox.script_delivery("failed", error_code="005")
    await post_send(http, sandbox, token, message())  # no webhook_url: nothing to script
    await send(http, sandbox, token, receiver)
    assert (await receiver.wait_for(2))[1]["error_code"] == "005"


async def test_an_sms_whose_answer_was_lost_is_still_reported(
    http: aiohttp.ClientSession, sandbox: SandboxHandle, token: str, receiver: Receiver
) -> None:
    # The client cannot know the outcome (no answer), but KPN accepted it: the reports say so.
    sandbox.add_fault(status=503)
    sandbox.add_fault(drop=True)
    status, _, _ = await post_send(http, sandbox, token, message(webhook_url=receiver.url))
    assert status == 503  # refused: no SMS, no report
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await post_send(http, sandbox, token, message(webhook_url=receiver.url))
    accepted, delivered = await receiver.wait_for(2)
    (stored,) = sandbox.messages()
    assert accepted["document_id"] == delivered["document_id"] == stored["document_id"]


async def test_5xx_answers_are_retried_until_taken(
    http: aiohttp.ClientSession, sandbox: SandboxHandle, token: str, receiver: Receiver
) -> None:
    receiver.answer_next(503, 500)
    await send(http, sandbox, token, receiver)
    posts = await receiver.wait_for(4)
    assert [post["status"] for post in posts] == ["Accepted"] * 3 + ["Delivered"]
    assert len({post["report_id"] for post in posts[:3]}) == 1  # the same report, again
    await until(lambda: sandbox.messages()[0]["delivery"] == "delivered", "delivered")
    first = sandbox.messages()[0]["reports"][0]["webhook"]
    assert (first["state"], first["attempts"], first["status"]) == ("posted", 3, 200)


async def test_retries_are_bounded(
    http: aiohttp.ClientSession, sandbox: SandboxHandle, token: str, receiver: Receiver
) -> None:
    attempts = 1 + len(RETRIES)
    receiver.answer_next(*[503] * attempts)
    await send(http, sandbox, token, receiver)
    posts = await receiver.wait_for(attempts + 1)  # the next report comes once it gave up
    tries = Counter(post["status"] for post in posts)
    assert tries == {"Accepted": attempts, "Delivered": 1}
    await until(
        lambda: sandbox.messages()[0]["reports"][1]["webhook"]["state"] == "posted", "posted"
    )
    gave_up = sandbox.messages()[0]["reports"][0]["webhook"]
    assert (gave_up["state"], gave_up["attempts"], gave_up["status"]) == ("gave_up", attempts, 503)
    async with http.get(sandbox.url + "/sandbox/stats") as response:
        stats = await response.json()
    assert (stats["webhook_posts_failed"], stats["webhook_posts_taken"]) == (1, 1)


async def test_a_4xx_answer_is_final(
    http: aiohttp.ClientSession, sandbox: SandboxHandle, token: str, receiver: Receiver
) -> None:
    receiver.answer_next(401)
    await send(http, sandbox, token, receiver)
    posts = await receiver.wait_for(2)
    assert [post["status"] for post in posts] == ["Accepted", "Delivered"]
    refused = sandbox.messages()[0]["reports"][0]["webhook"]
    assert (refused["state"], refused["attempts"], refused["status"]) == ("refused", 1, 401)


async def test_a_receiver_that_is_down_gets_the_report_once_it_is_back(
    http: aiohttp.ClientSession,
) -> None:
    # The bot restarting: nothing listens for a while, then the same URL answers.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/hook"
    async with running_sandbox(delivery_delay_ms=DELAY_MS, retry_delays=(0.05,) * 100) as box:
        token = await fetch_token(http, box)
        status, _, _ = await post_send(http, box, token, message(webhook_url=url))
        assert status == 200
        await until(
            lambda: box.messages()[0]["reports"][0]["webhook"]["state"] == "retrying", "retrying"
        )
        assert box.messages()[0]["reports"][0]["webhook"]["error"]
        async with running_receiver(port=port) as receiver:
            accepted, delivered = await receiver.wait_for(2)
    assert (accepted["status"], delivered["status"]) == ("Accepted", "Delivered")
    assert Counter(post["report_id"] for post in receiver.posts).most_common(1)[0][1] == 1


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ({"delivery": "lost"}, "delivery must be one of delivered, failed, expired"),
        ({"delivery": "failed", "error_code": 7}, "three-digit failure code written as a text"),
        ({"delivery": "failed", "error_code": "7"}, "three-digit failure code"),
        ({"delivery": "delivered", "error_code": "007"}, "goes with delivery failed"),
        ({"delivery": "none", "delay_ms": 10}, "no later report"),
        ({"delivery": "failed", "status": 503}, "unknown field(s) status in a delivery script"),
        ({"delivery": "failed", "count": 0}, "count must be a whole number from 1"),
    ],
)
async def test_bad_delivery_scripts_say_how_to_fix_them(
    http: aiohttp.ClientSession, sandbox: SandboxHandle, spec: dict[str, Any], says: str
) -> None:
    async with http.post(sandbox.url + "/sandbox/faults", json=spec) as response:
        assert response.status == 400
        assert says in (await response.json())["error"]
