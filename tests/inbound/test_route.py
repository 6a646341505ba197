"""`POST /kpn/inbound/{token}` over loopback HTTP into a real store (both engines): the token,
basic auth, the size limit, bad bodies, duplicates, storing failures, the rate limit, and the
reply handlers' order."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from smsbot.inbound import Disposition, InboundMessage, InboundService
from smsbot.kpn.inbound import MAX_INBOUND_BYTES, example_payload
from smsbot.kpn.inbound_route import add_inbound_routes
from smsbot.metrics import Metrics
from smsbot.settings import KpnSettings
from smsbot.store import InboundOutcome, ManualClock, NewInbound, Store

TOKEN = "s3cret-inbound-token"
PHONE = "31612345678"


class Recorder:
    """A reply handler that remembers what it was offered and takes it when told to."""

    def __init__(self, name: str, takes: bool | Disposition) -> None:
        self.name = name
        self.takes = takes
        self.seen: list[InboundMessage] = []

    async def handle(self, message: InboundMessage) -> bool | Disposition:
        self.seen.append(message)
        return self.takes


async def serve(service: InboundService, kpn: KpnSettings) -> TestClient:
    app = web.Application()
    add_inbound_routes(app, kpn, service)
    client = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    return client


@pytest.fixture
async def last() -> Recorder:
    return Recorder("last", Disposition(InboundOutcome.THREADED, conversation="abc"))


@pytest.fixture
async def service(store: Store, last: Recorder) -> InboundService:
    return InboundService(store, [last])


@pytest.fixture
async def client(service: InboundService) -> AsyncIterator[TestClient]:
    client = await serve(service, KpnSettings(inbound_token=SecretStr(TOKEN)))
    try:
        yield client
    finally:
        await client.close()


def body(**overrides: object) -> bytes:
    return json.dumps(example_payload(**{"sender": PHONE, **overrides})).encode()


def basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


async def post(client: TestClient, data: bytes, token: str = TOKEN, **kwargs: object):
    async with client.post(f"/kpn/inbound/{token}", data=data, **kwargs) as response:
        return response.status, await response.json()


async def test_an_inbound_sms_is_stored_masked_in_the_audit_and_handed_on(
    client: TestClient, store: Store, last: Recorder
) -> None:
    status, answer = await post(client, body(content="Yes, on my way"))
    assert status == 200 and answer["status"] == "stored"
    [record] = await store.recent_inbound()
    assert record.request_id == answer["id"]
    assert record.outcome is InboundOutcome.THREADED and record.handler == "last"
    assert record.conversation == "abc"
    assert record.sender == "+31612345678" and record.recipient == "+3197000000000"
    assert record.text is None  # inbound text is kept only under SMSBOT_AUDIT__STORE_TEXT
    assert record.text_length == len("Yes, on my way")
    shown = record.to_json()
    assert shown["direction"] == "inbound"
    assert shown["from"] == "+31 6 ****5678" and "+31612345678" not in json.dumps(shown)
    [message] = last.seen
    assert message.text == "Yes, on my way" and message.sender == "+31612345678"


async def test_a_wrong_or_missing_token_gets_401_and_nothing_is_stored(
    client: TestClient, store: Store, last: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    for token in ("wrong", TOKEN + "x", TOKEN[:-1]):
        status, answer = await post(client, body(), token=token)
        assert status == 401 and "wrong token" in answer["error"]
    assert await store.recent_inbound() == [] and last.seen == []
    assert TOKEN not in caplog.text  # the route's pattern is logged, never a guessed token
    assert (
        "inbound SMS webhook /kpn/inbound/{token}" in caplog.text and "wrong_token" in caplog.text
    )
    for n in range(20):  # a flood of guesses: the log stays bounded
        assert (await post(client, body(), token=f"guess-{n}"))[0] == 401
    refusals = [r for r in caplog.records if "refused with 401" in r.getMessage()]
    assert len(refusals) == 10 and "guess-" not in caplog.text


async def test_without_a_configured_token_every_post_is_refused(
    service: InboundService, store: Store
) -> None:
    client = await serve(service, KpnSettings())
    try:
        status, answer = await post(client, body(), token="anything")
    finally:
        await client.close()
    assert status == 401 and "SMSBOT_KPN__INBOUND_TOKEN" in answer["error"]
    assert await store.recent_inbound() == []


async def test_basic_auth_when_configured(service: InboundService, store: Store) -> None:
    kpn = KpnSettings(
        inbound_token=SecretStr(TOKEN), inbound_user="kpn", inbound_password=SecretStr("pw")
    )
    client = await serve(service, kpn)
    try:
        assert (await post(client, body()))[0] == 401
        assert (await post(client, body(), headers=basic("kpn", "nope")))[0] == 401
        assert (await post(client, body(), headers={"Authorization": "Basic %%%"}))[0] == 401
        assert await store.recent_inbound() == []
        status, _ = await post(client, body(), headers=basic("kpn", "pw"))
    finally:
        await client.close()
    assert status == 200 and len(await store.recent_inbound()) == 1


async def test_a_repeated_message_id_is_stored_once_and_handled_once(
    client: TestClient, store: Store, last: Recorder
) -> None:
    first = await post(client, body(message_id="m-1"))
    again = await post(client, body(message_id="m-1"))
    assert first[0] == again[0] == 200
    assert again[1] == {"status": "duplicate", "id": first[1]["id"]}
    assert len(await store.recent_inbound()) == 1 and len(last.seen) == 1


async def test_a_message_left_unhandled_by_a_dead_process_is_handled_when_kpn_posts_it_again(
    client: TestClient, store: Store, clock: ManualClock, last: Recorder
) -> None:
    # What a process that died while handling leaves: the SMS stored, no handler finished,
    # no answer to KPN, which therefore posts it again later.
    new = NewInbound(message_id="m-dead", sender="+31612345678", recipient="+3197000000000",
                     text="on my way", sent_at=None)  # fmt: skip
    stored = (await store.admit_inbound(new, limit=20, window=timedelta(minutes=1))).record
    assert stored.outcome is InboundOutcome.RECEIVED
    # Soon after, the same post may be a handler still at work elsewhere: nothing is done.
    soon = await post(client, body(message_id="m-dead", content="on my way"))
    assert soon == (200, {"status": "duplicate", "id": stored.request_id}) and last.seen == []
    clock.advance(timedelta(minutes=3))
    status, answer = await post(client, body(message_id="m-dead", content="on my way"))
    assert (status, answer["id"]) == (200, stored.request_id) and answer["status"] == "stored"
    [message] = last.seen
    assert message.text == "on my way"  # the text comes from KPN's retry, not the store
    [record] = await store.recent_inbound()
    assert record.outcome is InboundOutcome.THREADED and record.handler == "last"
    # Once finished, a later post is a duplicate again.
    clock.advance(timedelta(minutes=3))
    assert (await post(client, body(message_id="m-dead")))[1]["status"] == "duplicate"
    assert len(last.seen) == 1


async def test_bad_bodies_get_400_naming_what_is_wrong_never_the_values(
    client: TestClient, store: Store
) -> None:
    status, answer = await post(client, b"{not json")
    assert status == 400 and "not valid JSON" in answer["error"]
    payload = example_payload(sender=PHONE, content="private words")
    del payload["message_id"]
    status, answer = await post(client, json.dumps(payload).encode())
    assert status == 400 and "message_id" in answer["error"]
    assert "private words" not in answer["error"] and PHONE not in answer["error"]
    too_big = body(content="x" * (MAX_INBOUND_BYTES + 1))
    status, answer = await post(client, too_big)
    assert status == 413 and str(MAX_INBOUND_BYTES) in answer["error"]
    assert await store.recent_inbound() == []


async def test_a_storing_failure_gets_503_and_the_retry_is_stored(
    database_url: str, clock: ManualClock, last: Recorder
) -> None:
    store = await Store.open(database_url, clock=clock)
    service = InboundService(store, [last])
    client = await serve(service, KpnSettings(inbound_token=SecretStr(TOKEN)))
    try:
        await store.close()  # the database is gone
        status, answer = await post(client, body())
        assert status == 503 and "retry" in answer["error"]
        assert last.seen == []
        service.store = store = await Store.open(database_url, clock=clock)
        status, _ = await post(client, body())
        assert status == 200 and len(await store.recent_inbound()) == 1
    finally:
        await client.close()
        await store.close()


async def test_handlers_are_offered_in_order_and_the_first_taker_wins(store: Store) -> None:
    passes, takes, never = (
        Recorder("passes", False),
        Recorder("commands", True),
        Recorder("x", True),
    )
    service = InboundService(store, [passes, takes, never])
    client = await serve(service, KpnSettings(inbound_token=SecretStr(TOKEN)))
    try:
        assert (await post(client, body()))[0] == 200
    finally:
        await client.close()
    [record] = await store.recent_inbound()
    assert record.outcome is InboundOutcome.HANDLED and record.handler == "commands"
    assert len(takes.seen) == 1 and never.seen == []


async def test_a_failing_handler_is_recorded_and_the_post_still_succeeds(store: Store) -> None:
    class Broken:
        name = "broken"

        async def handle(self, message: InboundMessage) -> bool:
            raise RuntimeError("boom")

    after = Recorder("after", True)
    client = await serve(
        InboundService(store, [Broken(), after]), KpnSettings(inbound_token=SecretStr(TOKEN))
    )
    try:
        assert (await post(client, body()))[0] == 200
    finally:
        await client.close()
    [record] = await store.recent_inbound()
    assert record.outcome is InboundOutcome.FAILED and record.handler == "broken"
    assert after.seen == []


async def test_no_handler_taking_it_leaves_it_dropped(store: Store) -> None:
    client = await serve(InboundService(store, []), KpnSettings(inbound_token=SecretStr(TOKEN)))
    try:
        assert (await post(client, body()))[0] == 200
    finally:
        await client.close()
    [record] = await store.recent_inbound()
    assert record.outcome is InboundOutcome.DROPPED


async def test_a_flood_from_one_number_is_rate_limited_on_the_clock(
    store: Store, clock: ManualClock, last: Recorder
) -> None:
    metrics = Metrics()
    service = InboundService(store, [last], limit=3, window=timedelta(minutes=1), metrics=metrics)
    client = await serve(service, KpnSettings(inbound_token=SecretStr(TOKEN)))
    try:
        for n in range(5):
            assert (await post(client, body(message_id=f"flood-{n}")))[0] == 200
        # Another phone is not held back by this one's flood.
        assert (await post(client, body(message_id="other", sender="31687654321")))[0] == 200
        clock.advance(timedelta(seconds=61))
        assert (await post(client, body(message_id="later")))[0] == 200
    finally:
        await client.close()
    outcomes = [r.outcome for r in reversed(await store.recent_inbound())]
    limited = InboundOutcome.LIMITED
    assert outcomes == [
        *[InboundOutcome.THREADED] * 3,
        limited,
        limited,
        *[InboundOutcome.THREADED] * 2,
    ]
    assert len(last.seen) == 5

    def counted(outcome: str) -> float | None:
        return metrics.registry.get_sample_value("smsbot_inbound_total", {"outcome": outcome})

    assert (counted("threaded"), counted("limited"), counted("dropped")) == (5.0, 2.0, 0.0)
