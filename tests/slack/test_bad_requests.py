"""`POST /slack/events` under careless and hostile input, through the real app over loopback:
never a 500, the signature checked before the body is read, nothing personal in any log."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import time
from dataclasses import dataclass, field
from urllib.parse import urlencode

import pytest

from tests.fakes import slack_requests as sr
from tests.slack.conftest import SlackBot

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
# What the bodies below carry, and what no log line may show.
NUMBER, OTHER_NUMBER = "0612345678", "+31687654321"
SECRET_TEXT = "Vault code is 4471 for the server room"


def sign(body: bytes, timestamp: str, secret: str = sr.SIGNING_SECRET) -> str:
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Case:
    name: str
    body: bytes
    content_type: str = FORM
    timestamp: str | None = None  # None: now
    signed: bool = True  # signed with the app's secret; False: with another secret
    headers: dict[str, str] = field(default_factory=dict)

    def request_headers(self) -> dict[str, str]:
        timestamp = str(int(time.time())) if self.timestamp is None else self.timestamp
        secret = sr.SIGNING_SECRET if self.signed else "not-the-signing-secret"
        return {
            "Content-Type": self.content_type,
            "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": sign(self.body, timestamp, secret),
            **self.headers,
        }


def command_body(text: str = f"{NUMBER} {SECRET_TEXT}", **fields: str) -> bytes:
    form = sr.slash_command_form(
        text, user_id="U0ALICE", channel_id="C0GENERAL", response_url="http://127.0.0.1:9/r"
    )
    return urlencode({**form, **fields}).encode()


def payload_body(payload: object) -> bytes:
    return urlencode({"payload": json.dumps(payload)}).encode()


def view_as_string() -> bytes:
    payload = sr.view_submission_payload(user_id="U0ALICE", view={"id": "V1"}, values={})
    return payload_body({**payload, "view": f"{NUMBER} {SECRET_TEXT}"})


UNAUTHENTICATED = [
    Case("forged signature", command_body(), signed=False),
    Case("forged, JSON type with a form body", command_body(), JSON, signed=False),
    Case("forged, payload not JSON", b"payload=" + NUMBER.encode(), signed=False),
    Case("stale timestamp", command_body(), timestamp=str(int(time.time()) - 3600)),
    Case("timestamp abc", command_body(), timestamp="abc"),
    Case("timestamp empty", command_body(), timestamp=""),
    Case("timestamp 1e9", command_body(), timestamp="1e9"),
    Case("timestamp 12a", command_body(), timestamp="12a"),
    Case("timestamp with spaces", command_body(), timestamp=f" {int(time.time())} "),
    Case("no signature", command_body(), headers={"X-Slack-Signature": ""}),
    Case("signature not hex", command_body(), headers={"X-Slack-Signature": "v0=" + "z" * 64}),
]

MALFORMED = [
    Case("JSON type with a form body", command_body(), JSON),
    Case("JSON not an object", json.dumps([NUMBER, SECRET_TEXT]).encode(), JSON),
    Case(
        "JSON cut short", b'{"type": "event_callback", "event": {"text": "' + NUMBER.encode(), JSON
    ),
    # Slack signs text: a body that is not UTF-8 is refused before any signature is computed.
    Case("non-UTF-8 form body", b"text=\xff\xfe" + NUMBER.encode()),
    Case("non-UTF-8 form body, forged", b"text=\xff\xfe" + NUMBER.encode(), signed=False),
    Case("non-UTF-8 JSON body", b'{"text": "\xff' + NUMBER.encode() + b'"}', JSON),
    Case("payload not JSON", b"payload=" + NUMBER.encode()),
    Case("payload a JSON list", payload_body([NUMBER, SECRET_TEXT])),
    Case("payload a JSON string", payload_body(f"{NUMBER} {SECRET_TEXT}")),
    Case("view_submission whose view is a string", view_as_string()),
    Case("event a string", json.dumps({**sr.event_callback({}), "event": NUMBER}).encode(), JSON),
    Case("actions not a list", payload_body({"type": "block_actions", "actions": NUMBER})),
    Case("nested 100,000 deep", b"[" * 100_000 + b"]" * 100_000, JSON),
]


async def post(bot: SlackBot, case: Case) -> tuple[int, str]:
    session = bot.slack.session
    headers = case.request_headers()
    async with session.post(bot.slack.url, data=case.body, headers=headers) as resp:
        return resp.status, await resp.text()


@pytest.mark.parametrize("case", UNAUTHENTICATED, ids=lambda case: case.name)
async def test_unauthenticated_requests_get_401(slack_bot: SlackBot, case: Case) -> None:
    status, _ = await post(slack_bot, case)
    assert status == 401
    assert await slack_bot.service.recent() == []


@pytest.mark.parametrize("case", MALFORMED, ids=lambda case: case.name)
async def test_signed_but_malformed_requests_get_400(slack_bot: SlackBot, case: Case) -> None:
    status, body = await post(slack_bot, case)
    assert status == 400, body
    assert "Traceback" not in body and NUMBER not in body
    assert await slack_bot.service.recent() == []


@pytest.mark.parametrize(
    "fields",
    [
        {"text": f"{NUMBER} the payload is stuck"},
        {"channel_name": "payload-team"},
        {"user_name": "payloads"},
    ],
    ids=["in the text", "in the channel name", "in the user name"],
)
async def test_a_command_mentioning_payload_is_still_a_command(
    slack_bot: SlackBot, fields: dict[str, str]
) -> None:
    # slack_bolt's parse_body took any form body containing "payload" for an interaction.
    form, _ = slack_bot.command_form(f"{NUMBER} hello")
    form.update(fields)
    status, body = await slack_bot.slack.command(form)
    assert status == 200 and sr.is_sending_ack(body)
    await slack_bot.wait_for(lambda: slack_bot.sandbox.messages())
    [sms] = slack_bot.sandbox.messages()
    assert sms["content"] == form["text"].split(" ", 1)[1]


DIGITS = re.compile(r"\d[\d ()+\-./]*\d")


def digit_runs(text: str) -> set[str]:
    return {re.sub(r"\D", "", run) for run in DIGITS.findall(text)}


async def test_no_log_record_shows_a_number_or_a_text_and_each_refusal_logs_little(
    slack_bot: SlackBot, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, every level
    big = Case("forged, 500 kB of numbers", command_body(f"{NUMBER} " * 45_000), signed=False)
    cases = [*UNAUTHENTICATED, *MALFORMED, big]
    for case in cases:
        await post(slack_bot, case)
    # Formatted as a handler writes them: messages, arguments, tracebacks.
    text = caplog.text
    personal = {re.sub(r"\D", "", NUMBER), re.sub(r"\D", "", OTHER_NUMBER)[2:]}
    assert not {run for run in digit_runs(text) if any(p[-9:] in run for p in personal)}
    assert "Vault code" not in text and "4471" not in text
    # Bounded: a short line or so per refused request, whatever the body's size.
    assert len(text) <= 300 * len(cases), text[-2000:]
