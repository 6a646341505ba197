"""Schemathesis against the sandbox's own OpenAPI description (GET /sandbox/openapi.json): for
generated requests to every route, valid and not, no 5xx, and every answer as described
(status, content type, headers, body schema).

Schemathesis calls synchronously, so the sandbox (and a webhook receiver standing in for the
bot) runs on an event loop of its own in a thread. Before each call the sandbox is reset, so a
fault one generated request scripted (a 503, a dropped connection) cannot spoil the next."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from smsbot.sandbox.config import SandboxConfig
from smsbot.sandbox.kpn_api import SEND_PATH
from smsbot.sandbox.openapi import OPENAPI_PATH, openapi_document
from smsbot.sandbox.testing import running_sandbox
from tests.sandbox.helpers import SANDBOX_CREDENTIALS, TOKEN_PATH
from tests.sandbox.receiver import running_receiver

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@dataclass
class Served:
    url: str
    webhook: str
    token: str = ""


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    ready: list[Served] = []
    started = threading.Event()
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()

    async def serve() -> None:
        async with running_receiver() as receiver:
            # Reports and replies go to the receiver: a generated webhook_url is replaced by
            # its URL, so nothing is posted beyond loopback.
            config = SandboxConfig(post_timeout=2.0)
            async with running_sandbox(
                config=config, inbound_webhook=receiver.url, delivery_delay_ms=0, retry_delays=()
            ) as sandbox:
                ready.append(Served(sandbox.url, receiver.url))
                started.set()
                await stop.wait()

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    assert started.wait(20), "the sandbox did not start"
    served = ready[0]
    answer = requests.post(served.url + TOKEN_PATH, data=SANDBOX_CREDENTIALS, timeout=10)
    served.token = answer.json()["access_token"]
    try:
        yield served
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(10)


# The description as the sandbox builds it; the first test checks that it serves the same.
# (Loaded here rather than from a fixture: schemathesis' fixture loader fails on pytest 9.)
schema = schemathesis.openapi.from_dict(openapi_document())


def test_the_sandbox_serves_its_description(served: Served) -> None:
    answer = requests.get(served.url + OPENAPI_PATH, timeout=10)
    assert answer.status_code == 200
    assert answer.json() == openapi_document()


@schema.parametrize()
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_the_sandbox_answers_as_its_openapi_description_says(case: Any, served: Served) -> None:
    requests.post(served.url + "/sandbox/reset", json={}, timeout=10).raise_for_status()
    if case.operation.path == SEND_PATH:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {served.token}"}
    if isinstance(case.body, dict) and "webhook_url" in case.body:
        case.body["webhook_url"] = served.webhook
    case.call_and_validate(base_url=served.url, checks=CHECKS, timeout=10)
