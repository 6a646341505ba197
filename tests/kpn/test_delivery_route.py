"""`POST /kpn/delivery/{id}?sig=`: served over loopback HTTP, stored in a real store (both
engines), as KPN (or the sandbox) would post reports."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from smsbot.deliveries import DeliveryRecorder
from smsbot.errors import ConfigurationError
from smsbot.kpn.client import KpnClient
from smsbot.kpn.delivery import MAX_REPORT_BYTES, DeliveryReport, DeliveryUrls
from smsbot.kpn.delivery.route import LOG_EVERY_SECONDS, SignatureRefusals, add_delivery_routes
from smsbot.metrics import Metrics
from smsbot.sandbox.testing import running_sandbox
from smsbot.settings import KpnSettings, Settings
from smsbot.sms.request import Outcome
from smsbot.store import AuditRecord, Delivery, DeliveryApplied, ManualClock, Store
from tests.fixtures.waiting import until
from tests.kpn.helpers import TO, sandbox_settings
from tests.store.test_delivery import sent_sms

START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
URLS = DeliveryUrls("https://smsbot.example.com", b"delivery-secret")


def report(status: str, code: int, *, part: int = 1, parts: int = 1, **extra: object) -> bytes:
    """A report in the body shape the sandbox posts (its documented assumption of KPN's)."""
    body = {
        "document_id": "b4e905d4-774c-4c83-8360-01427e17a33a",
        "report_id": "0b6c4a0e-5f7e-4d0a-9a57-3f8c2a1d9e41",
        "mobile_number": "31612345678",
        "status": status,
        "status_code": code,
        "part": part,
        "parts": parts,
        "StatusDateTime": int((START + timedelta(seconds=4)).timestamp() * 1000),
        **extra,
    }
    return json.dumps(body).encode()


def path_of(sms_id: str) -> str:
    url = urlsplit(URLS.url_for(sms_id))
    return f"{url.path}?{url.query}"


class Bot:
    def __init__(self, client: TestClient, store: Store, metrics: Metrics) -> None:
        self.client, self.store, self.metrics = client, store, metrics
        self.watched: list[AuditRecord] = []

    async def post(self, path: str, body: bytes, **headers: str):
        async with self.client.post(path, data=body, headers=headers) as response:
            return response.status, await response.json()

    def delivered_count(self, status: str) -> float:
        return (
            self.metrics.registry.get_sample_value("smsbot_deliveries_total", {"status": status})
            or 0.0
        )


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    store = await Store.open(database_url, clock=ManualClock(START))
    try:
        yield store
    finally:
        await store.close()


@pytest.fixture
async def bot(store: Store) -> AsyncIterator[Bot]:
    metrics = Metrics()
    watched: list[AuditRecord] = []

    async def watch(applied: DeliveryApplied) -> None:
        watched.append(applied.record)

    app = web.Application()
    add_delivery_routes(app, URLS, DeliveryRecorder(store, metrics=metrics, watchers=[watch]))
    client = TestClient(TestServer(app))
    await client.start_server()
    bot = Bot(client, store, metrics)
    bot.watched = watched
    try:
        yield bot
    finally:
        await client.close()


async def test_a_signed_report_is_stored_with_its_time_and_counted(bot: Bot):
    sms = await sent_sms(bot.store, "k")
    status, answer = await bot.post(path_of(sms), report("Delivered", 1))
    assert (status, answer) == (200, {"status": "recorded", "reports": 1})
    record = await bot.store.get(sms)
    assert record is not None and record.delivery is Delivery.DELIVERED
    assert record.delivered_at == START + timedelta(seconds=4)
    assert record.to_json()["delivery"] == "delivered"
    assert bot.delivered_count("delivered") == 1
    assert bot.metrics.registry.get_sample_value("smsbot_delivery_seconds_count") == 1
    assert bot.metrics.registry.get_sample_value("smsbot_delivery_seconds_sum") == 4.0
    assert [r.delivery for r in bot.watched] == [Delivery.DELIVERED]


@pytest.mark.parametrize(
    "path",
    [
        "/kpn/delivery/{sms}",
        "/kpn/delivery/{sms}?sig=",
        "/kpn/delivery/{sms}?sig=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "/kpn/delivery/{sms}?sig=" + URLS.signature("someone-else"),
    ],
    ids=["missing", "empty", "wrong", "another-sms"],
)
async def test_a_wrong_or_missing_signature_is_401_and_nothing_is_recorded(bot: Bot, path):
    sms = await sent_sms(bot.store, "k")
    status, answer = await bot.post(path.format(sms=sms), report("Failed", 4, error_code="007"))
    assert status == 401 and "signature" in answer["error"]
    record = await bot.store.get(sms)
    assert record is not None and record.delivery is None
    assert bot.watched == [] and bot.delivered_count("failed") == 0


async def test_a_failure_keeps_kpns_code(bot: Bot):
    sms = await sent_sms(bot.store, "k")
    status, _ = await bot.post(path_of(sms), report("Failed", 4, error_code="007"))
    assert status == 200
    record = await bot.store.get(sms)
    assert record is not None
    assert (record.delivery, record.delivery_code) == (Delivery.FAILED, "007")
    assert bot.delivered_count("failed") == 1


async def test_a_duplicate_is_answered_200_and_changes_and_counts_nothing(bot: Bot):
    sms = await sent_sms(bot.store, "k")
    for _ in range(2):
        status, _ = await bot.post(path_of(sms), report("Delivered", 1))
        assert status == 200
    assert bot.delivered_count("delivered") == 1
    assert len(bot.watched) == 1


async def test_out_of_order_and_per_part_reports(bot: Bot):
    sms = await sent_sms(bot.store, "long", parts=2)
    for body in (
        report("Delivered", 1, part=2, parts=2),
        report("Accepted", 3, part=2, parts=2),  # late news for part 2: changes nothing
        report("Accepted", 3, part=1, parts=2),
    ):
        assert (await bot.post(path_of(sms), body))[0] == 200
    record = await bot.store.get(sms)
    assert record is not None and record.delivery is Delivery.ACCEPTED
    assert bot.delivered_count("delivered") == 0
    assert (await bot.post(path_of(sms), report("Delivered", 1, part=1, parts=2)))[0] == 200
    record = await bot.store.get(sms)
    assert record is not None and record.delivery is Delivery.DELIVERED
    assert bot.delivered_count("delivered") == 1


async def test_a_report_resolves_an_unknown_send(bot: Bot):
    sms = await sent_sms(bot.store, "k", outcome=Outcome.UNKNOWN)
    assert (await bot.post(path_of(sms), report("Accepted", 3)))[0] == 200
    record = await bot.store.get(sms)
    assert record is not None and record.outcome is Outcome.SENT


async def test_other_body_shapes_are_read_too(bot: Bot):
    sms = await sent_sms(bot.store, "k")
    status, _ = await bot.post(
        path_of(sms),
        b"deliveryStatus=6&errorCode=24",
        **{"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert status == 200
    record = await bot.store.get(sms)
    assert record is not None and record.delivery is Delivery.EXPIRED
    assert record.delivery_code == "024"


async def test_an_unreadable_body_is_400_naming_keys_and_logging_no_values(
    bot: Bot, caplog: pytest.LogCaptureFixture
):
    sms = await sent_sms(bot.store, "k")
    body = json.dumps({"msisdn": "31612345678", "text": "private words"}).encode()
    with caplog.at_level(logging.WARNING, logger="smsbot.kpn.delivery.route"):
        status, answer = await bot.post(path_of(sms), body)
    assert status == 400
    assert "'msisdn', 'text'" in answer["error"]
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert "'msisdn', 'text'" in logged
    for secret in ("612345678", "private"):
        assert secret not in logged and secret not in answer["error"]
    record = await bot.store.get(sms)
    assert record is not None and record.delivery is None


async def test_a_body_over_the_limit_is_413(bot: Bot):
    sms = await sent_sms(bot.store, "k")
    status, answer = await bot.post(path_of(sms), b"x" * (MAX_REPORT_BYTES + 1))
    assert status == 413 and str(MAX_REPORT_BYTES) in answer["error"]

    async def chunked():
        for _ in range(MAX_REPORT_BYTES // 1024 + 2):
            yield b"y" * 1024

    async with bot.client.post(path_of(sms), data=chunked()) as response:
        assert response.status == 413


async def test_a_report_for_an_sms_no_longer_stored_is_acknowledged(bot: Bot):
    status, answer = await bot.post(path_of("0" * 32), report("Delivered", 1))
    assert (status, answer["status"]) == (200, "ignored")


class FailingFirst:
    """The recorder over a store that fails its first `failures` writes (an outage, a restart):
    a real store cannot be made to fail on cue, as `tests/web/test_routes.py` notes."""

    def __init__(self, recorder: DeliveryRecorder, failures: int) -> None:
        self.recorder, self.failures = recorder, failures

    async def record(self, sms_id: str, report: DeliveryReport):
        if self.failures:
            self.failures -= 1
            raise OSError("database unreachable")
        return await self.recorder.record(sms_id, report)


async def test_a_store_that_fails_is_503_and_the_retry_is_stored_once(store: Store):
    sms = await sent_sms(store, "k")
    metrics = Metrics()
    app = web.Application()
    recorder = FailingFirst(DeliveryRecorder(store, metrics=metrics), failures=1)
    add_delivery_routes(app, URLS, recorder)
    async with TestClient(TestServer(app)) as client:
        async with client.post(path_of(sms), data=report("Delivered", 1)) as response:
            assert response.status == 503
            assert "retry" in (await response.json())["error"]
        record = await store.get(sms)
        assert record is not None and record.delivery is None
        for _ in range(2):  # KPN's retry, and one more
            async with client.post(path_of(sms), data=report("Delivered", 1)) as response:
                assert response.status == 200
    record = await store.get(sms)
    assert record is not None and record.delivery is Delivery.DELIVERED
    assert (
        metrics.registry.get_sample_value("smsbot_deliveries_total", {"status": "delivered"}) == 1
    )


async def test_the_send_carries_the_sms_own_url_to_kpn(sandbox):
    async with KpnClient(sandbox_settings(sandbox.url, webhook_url="https://fixed/")) as kpn:
        await kpn.send(TO, "hello", "SMSBot", webhook_url=URLS.url_for("abc123"))
        await kpn.send(TO, "hello", "SMSBot")
    with_url, fixed = sandbox.messages()
    assert with_url["webhook_url"] == URLS.url_for("abc123")
    assert fixed["webhook_url"] == "https://fixed/"


def test_the_fixed_webhook_url_and_a_public_url_do_not_go_together():
    settings = Settings(
        _env_file=None,
        public_url="https://bot.example.com",
        kpn=KpnSettings(webhook_url="https://elsewhere/dlr", client_secret=SecretStr("s")),
    )
    with pytest.raises(ConfigurationError, match="unset SMSBOT_KPN__WEBHOOK_URL"):
        DeliveryUrls.from_settings(settings)


# --- end to end: the sandbox posts the reports, as KPN would -----------------------------


class Loop:
    """The route served on loopback under its own public URL, and a sandbox posting to it."""

    def __init__(self, store: Store, sandbox, urls: DeliveryUrls, recorder: FailingFirst):
        self.store, self.sandbox, self.urls, self.recorder = store, sandbox, urls, recorder
        self.metrics = recorder.recorder.metrics

    async def send(self, sms_id: str, text: str = "hello", *, url: str | None = None) -> None:
        async with KpnClient(sandbox_settings(self.sandbox.url)) as kpn:
            await kpn.send(TO, text, "SMSBot", webhook_url=url or self.urls.url_for(sms_id))

    async def delivery_of(self, sms_id: str, state: Delivery) -> AuditRecord:
        async def reached() -> AuditRecord | None:
            record = await self.store.get(sms_id)
            return record if record is not None and record.delivery is state else None

        return await until(reached, f"SMS {sms_id} {state}")


@pytest.fixture
async def loop(store: Store, unused_tcp_port: int) -> AsyncIterator[Loop]:
    public_url = f"http://127.0.0.1:{unused_tcp_port}"
    urls = DeliveryUrls(public_url, b"loop-secret")
    recorder = FailingFirst(DeliveryRecorder(store, metrics=Metrics()), failures=0)
    app = web.Application()
    add_delivery_routes(app, urls, recorder)
    server = TestServer(app, host="127.0.0.1", port=unused_tcp_port)
    await server.start_server()
    try:
        async with running_sandbox(delivery_delay_ms=0, retry_delays=(0.05, 0.05, 0.05)) as box:
            yield Loop(store, box, urls, recorder)
    finally:
        await server.close()


async def test_sandbox_reports_reach_the_store(loop: Loop):
    sms = await sent_sms(loop.store, "k")
    await loop.send(sms)
    record = await loop.delivery_of(sms, Delivery.DELIVERED)
    assert record.delivered_at is not None
    (message,) = loop.sandbox.messages()
    assert message["delivery"] == "delivered"


async def test_sandbox_reports_per_part_of_a_long_sms(loop: Loop):
    sms = await sent_sms(loop.store, "long", parts=2)
    await loop.send(sms, "x" * 200)
    await loop.delivery_of(sms, Delivery.DELIVERED)
    assert (
        loop.metrics.registry.get_sample_value("smsbot_deliveries_total", {"status": "delivered"})
        == 1
    )


async def test_a_scripted_failure_arrives_with_its_code(loop: Loop):
    loop.sandbox.script_delivery("failed", error_code="007")
    sms = await sent_sms(loop.store, "k")
    await loop.send(sms)
    record = await loop.delivery_of(sms, Delivery.FAILED)
    assert record.delivery_code == "007"


async def test_a_report_refused_while_storing_fails_is_retried_and_stored(loop: Loop):
    loop.recorder.failures = 1  # the first post finds the database down
    sms = await sent_sms(loop.store, "k")
    await loop.send(sms)
    await loop.delivery_of(sms, Delivery.DELIVERED)
    assert loop.recorder.failures == 0


async def test_a_url_with_a_wrong_signature_gets_nothing_recorded(loop: Loop):
    sms = await sent_sms(loop.store, "k")
    forged = loop.urls.url_for(sms).rsplit("=", 1)[0] + "=" + loop.urls.signature("other")
    await loop.send(sms, url=forged)

    def refused():
        (message,) = loop.sandbox.messages()
        return (
            message["delivery"] is not None
            and all(report["webhook"]["state"] == "refused" for report in message["reports"])
            and message["reports"]
        )

    reports = await until(refused, "the sandbox's reports refused")
    assert {r["webhook"]["status"] for r in reports} == {401}
    record = await loop.store.get(sms)
    assert record is not None and record.delivery is None


async def test_a_report_posted_while_the_bot_restarts_is_retried_and_stored_once(
    store: Store, unused_tcp_port: int
):
    urls = DeliveryUrls(f"http://127.0.0.1:{unused_tcp_port}", b"restart-secret")
    metrics = Metrics()
    sms = await sent_sms(store, "k")
    # KPN's retry spacing, shortened: room to bring the bot back between two attempts.
    async with running_sandbox(delivery_delay_ms=0, retry_delays=(1.0, 2.0, 4.0)) as sandbox:
        async with KpnClient(sandbox_settings(sandbox.url)) as kpn:
            await kpn.send(TO, "hello", "SMSBot", webhook_url=urls.url_for(sms))  # bot is down

        def retrying():
            (message,) = sandbox.messages()
            return any(r["webhook"]["state"] == "retrying" for r in message["reports"])

        await until(retrying, "the sandbox retrying a report the bot could not take")
        app = web.Application()
        add_delivery_routes(app, urls, DeliveryRecorder(store, metrics=metrics))
        server = TestServer(app, host="127.0.0.1", port=unused_tcp_port)
        await server.start_server()  # the bot is back
        try:

            async def delivered():
                record = await store.get(sms)
                return record is not None and record.delivery is Delivery.DELIVERED

            await until(delivered, "the retried report stored")

            def all_posted():
                (message,) = sandbox.messages()
                return all(r["webhook"]["state"] == "posted" for r in message["reports"])

            await until(all_posted, "every report posted")
        finally:
            await server.close()
    assert (
        metrics.registry.get_sample_value("smsbot_deliveries_total", {"status": "delivered"}) == 1
    )


def test_refused_signatures_are_logged_at_most_once_per_interval(caplog):
    now = [0.0]
    refusals = SignatureRefusals(lambda: now[0])
    with caplog.at_level(logging.WARNING, logger="smsbot.kpn.delivery.route"):
        for at in (0.0, 1.0, 2.0, 9.9, LOG_EVERY_SECONDS + 0.5):
            now[0] = at
            refusals.refused("192.0.2.7")
    lines = [record.getMessage() for record in caplog.records]
    assert len(lines) == 2
    assert "192.0.2.7" in lines[0] and "(1 refused" in lines[0]
    assert "(4 refused" in lines[1]
