"""A phone replies: POST /sandbox/inbound posts KPN's inbound SMS payload to the webhook."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import jsonschema_rs
import pytest
import yaml

from smsbot.sandbox.testing import SandboxHandle, running_sandbox
from smsbot.sandbox.webhook_bodies import INBOUND_SMS_SCHEMA
from tests.fixtures.waiting import until
from tests.sandbox.helpers import fetch_token, message, post_send
from tests.sandbox.receiver import Receiver

# KPN's published schema of the inbound SMS webhook (kpn-sms-inbound-openapi.yml, "Inbound
# SMS - KPN" 1.0.0, components.schemas.InboundSms), as published.
PUBLISHED = """
type: object
required: [sender, recipient, message_id, content, timestamp_utc, type]
properties:
  sender: {type: string, example: "31600000000"}
  recipient: {type: string, example: "3197000000000"}
  message_id: {type: string, example: "6W0000001G7BB999.3197000000000"}
  content: {type: string, example: "Hey this is an inbound response."}
  timestamp_utc: {type: string, format: date-time, example: "2024-04-30T14:37:42.218159"}
  type: {type: string, example: "text/unicode/*"}
"""


@pytest.fixture
async def sandbox(inbound: Receiver) -> AsyncIterator[SandboxHandle]:
    async with running_sandbox(inbound_webhook=inbound.url, retry_delays=(0.01,) * 3) as box:
        yield box


async def reply(http: aiohttp.ClientSession, sandbox: SandboxHandle, body: Any) -> tuple[int, Any]:
    async with http.post(sandbox.url + "/sandbox/inbound", json=body) as response:
        return response.status, await response.json()


async def test_reply_posts_kpns_inbound_payload(
    http: aiohttp.ClientSession, sandbox: SandboxHandle, inbound: Receiver
) -> None:
    status, answer = await reply(
        http, sandbox, {"from": "06 1234 5678", "content": "On my way", "to": "097000000001"}
    )
    assert status == 200, answer
    (payload,) = await inbound.wait_for(1)
    assert payload == answer["payload"]
    assert set(payload) == {"sender", "recipient", "message_id", "content", "timestamp_utc", "type"}
    assert payload["sender"] == "31612345678"
    assert payload["recipient"] == "3197000000001"
    assert payload["content"] == "On my way"
    assert payload["type"] == "text/unicode/*"
    assert re.fullmatch(r"[0-9A-Z]{16}\.3197000000001", payload["message_id"])
    sent = datetime.fromisoformat(payload["timestamp_utc"]).replace(tzinfo=UTC)
    assert abs(datetime.now(UTC) - sent) < timedelta(seconds=5)
    assert answer["webhook"] == {"state": "posted", "attempts": 1, "status": 200, "error": None}
    assert sandbox.replies() == [answer]


async def test_payload_matches_kpns_published_schema(
    http: aiohttp.ClientSession, sandbox: SandboxHandle, inbound: Receiver
) -> None:
    await reply(http, sandbox, {"from": "+31612345678", "content": "Ack"})
    (payload,) = await inbound.wait_for(1)
    published = yaml.safe_load(PUBLISHED)
    jsonschema_rs.validate(published, payload)
    jsonschema_rs.validate(INBOUND_SMS_SCHEMA, payload)
    example = {name: spec["example"] for name, spec in published["properties"].items()}
    assert set(payload) == set(example)
    assert payload["type"] == example["type"]
    # The same formats as KPN's example: digits without "+", a zone-less microsecond time.
    assert payload["timestamp_utc"][10] == "T" and len(payload["timestamp_utc"]) == len(
        example["timestamp_utc"]
    )


async def test_reply_goes_to_the_number_that_sent_the_sms(
    http: aiohttp.ClientSession, sandbox: SandboxHandle, inbound: Receiver
) -> None:
    token = await fetch_token(http, sandbox)
    await post_send(http, sandbox, token, message(sender="3197012345678"))
    await reply(http, sandbox, {"from": "+31612345678", "content": "1a"})
    # A name cannot be answered: the reply goes to the sandbox's virtual number.
    await post_send(http, sandbox, token, message("0687654321", sender="SMSBot"))
    await reply(http, sandbox, {"from": "+31687654321", "content": "hi"})
    first, second = await inbound.wait_for(2)
    assert first["recipient"] == "3197012345678"
    assert second["recipient"] == "3197000000000"


async def test_a_failing_webhook_is_retried_and_the_answer_says_so(
    http: aiohttp.ClientSession, sandbox: SandboxHandle, inbound: Receiver
) -> None:
    inbound.answer_next(503)
    status, answer = await reply(http, sandbox, {"from": "0612345678", "content": "Retry me"})
    assert status == 202
    assert answer["webhook"]["state"] == "retrying"
    first, second = await inbound.wait_for(2)
    assert first == second  # the same message again, not a new one
    await until(lambda: sandbox.replies()[0]["webhook"]["state"] == "posted", "posted")


async def test_reply_without_an_inbound_webhook_is_409(http: aiohttp.ClientSession) -> None:
    async with running_sandbox() as sandbox:
        status, answer = await reply(http, sandbox, {"from": "0612345678", "content": "Hi"})
        assert sandbox.replies() == []
    assert status == 409
    assert "--inbound-webhook" in answer["error"]


async def test_the_webhook_can_be_set_while_serving(
    http: aiohttp.ClientSession, inbound: Receiver
) -> None:
    async with running_sandbox() as sandbox:
        sandbox.set_inbound_webhook(inbound.url)
        status, _ = await reply(http, sandbox, {"from": "0612345678", "content": "Hi"})
    assert status == 200
    assert len(inbound.posts) == 1


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ([], "a reply is a JSON object"),
        ({"content": "Hi"}, "from must be a phone number"),
        ({"from": "0201234567", "content": "Hi"}, "from: "),
        ({"from": "0612345678"}, "content is required"),
        ({"from": "0612345678", "content": ""}, "content is required"),
        ({"from": "0612345678", "content": "x" * 1001}, "at most 1000"),
        ({"from": "0612345678", "content": "Hi", "to": 97}, "to must be a phone number"),
        ({"from": "0612345678", "content": "Hi", "text": "x"}, "unknown field(s) text"),
    ],
)
async def test_bad_replies_say_how_to_fix_them(
    http: aiohttp.ClientSession, sandbox: SandboxHandle, body: Any, says: str
) -> None:
    status, answer = await reply(http, sandbox, body)
    assert status == 400
    assert says in answer["error"]
    assert sandbox.replies() == []


async def test_clearing_the_inbox_clears_replies_and_reset_zeroes_their_count(
    http: aiohttp.ClientSession, sandbox: SandboxHandle, inbound: Receiver
) -> None:
    await reply(http, sandbox, {"from": "0612345678", "content": "Hi"})
    async with http.get(sandbox.url + "/sandbox/inbound") as response:
        assert len(await response.json()) == 1
    async with http.delete(sandbox.url + "/sandbox/messages") as response:
        assert response.status == 200
    assert sandbox.replies() == []
    async with http.post(sandbox.url + "/sandbox/reset", json={}) as response:
        stats = await response.json()
    assert stats["replies_sent"] == stats["webhook_posts_taken"] == 0
