"""/metrics as an operator alerts on it: served by the real bot app against the sandbox."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families

from smsbot.bootstrap import open_bot
from smsbot.metrics import Metrics
from smsbot.outbox import OutboxOptions
from smsbot.settings import Settings
from smsbot.sms.request import Outcome, SendRequest, Surface
from smsbot.store import NewRecord, OutboxState
from tests.fixtures.waiting import until


def parse(text: str) -> dict[str, dict[tuple, float]]:
    """name -> {sorted label items: value}, from the text format."""
    samples: dict[str, dict[tuple, float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return samples


def scrape_text(metrics: Metrics) -> dict[str, dict[tuple, float]]:
    return parse(metrics.render().decode())


def test_every_known_label_value_starts_at_zero():
    samples = scrape_text(Metrics())
    sends = samples["smsbot_sends_total"]
    for surface in Surface:
        for outcome in ("sent", "refused", "invalid", "failed", "unknown"):
            assert sends[(("outcome", outcome), ("surface", str(surface)))] == 0
    assert (("outcome", "queued"), ("surface", "cli")) not in sends  # not a final outcome
    alerts = samples["smsbot_alerts_total"]
    for source in ("alertmanager", "grafana"):
        for result in ("queued", "storm", "unauthorized", "not_routed", "error"):
            assert alerts[(("result", result), ("source", source))] == 0


def test_standard_collectors_and_no_created_series():
    samples = scrape_text(Metrics())
    assert "process_resident_memory_bytes" in samples
    assert "process_start_time_seconds" in samples
    assert "python_gc_collections_total" in samples
    assert "python_info" in samples
    assert not [name for name in samples if name.endswith("_created")]


def test_two_instances_do_not_share_a_registry():
    first, second = Metrics(), Metrics()
    first.sends.labels("cli", "sent").inc()
    assert scrape_text(second)["smsbot_sends_total"][(("outcome", "sent"), ("surface", "cli"))] == 0


@pytest.fixture
def settings(sandbox, sqlite_url) -> Settings:
    return Settings(
        _env_file=None,
        database_url=sqlite_url,
        kpn={"read_timeout": 2.0, "connect_timeout": 1.0, "max_retry_seconds": 0.2},
    ).with_sandbox(sandbox.url)


@pytest.fixture
async def bot(settings) -> AsyncIterator[tuple[TestClient, object, Metrics]]:
    later = timedelta(minutes=10)
    # The scrape sees the outbox ten minutes from now: the oldest queued row's age is known.
    metrics = Metrics(clock=lambda: datetime.now(UTC) + later)
    async with open_bot(
        settings, mode=None, metrics=metrics, outbox=OutboxOptions(retry_delays=(0.05, 0.2))
    ) as bot:
        client = TestClient(TestServer(bot.web))
        await client.start_server()
        try:
            yield client, bot.service, metrics
        finally:
            await client.close()


async def scrape(client: TestClient) -> dict[str, dict[tuple, float]]:
    resp = await client.get("/metrics")
    assert resp.status == 200
    return parse(await resp.text())


def value(samples: dict[str, dict[tuple, float]], name: str, **labels: str) -> float:
    return samples[name][tuple(sorted(labels.items()))]


def alert(n: int) -> SendRequest:
    return SendRequest(
        actor="alert:on-call",
        surface=Surface.ALERTMANAGER,
        to="+31612345678",
        text=f"FIRING {n}",
        idempotency_key=f"metrics-test-{n}",
    )


async def test_outbox_and_kpn_state_while_kpn_is_down_and_after(bot, sandbox):
    client, service, _ = bot
    before = await scrape(client)
    assert math.isnan(value(before, "smsbot_kpn_reachable"))
    assert value(before, "smsbot_kpn_last_error_timestamp_seconds") == 0
    assert value(before, "smsbot_outbox_rows", state="queued") == 0
    assert value(before, "smsbot_outbox_oldest_queued_age_seconds") == 0
    assert math.isnan(value(before, "smsbot_kpn_quota_used"))

    sandbox.add_fault(status=503, count=1000)
    result = await service.enqueue(alert(1))
    assert result.outcome is Outcome.QUEUED

    async def back_in_the_queue() -> bool:
        # The outbox tried, KPN failed, and the row is queued again for later.
        samples = await scrape(client)
        return (
            value(samples, "smsbot_kpn_reachable") == 0
            and value(samples, "smsbot_outbox_rows", state="queued") == 1
        )

    await until(back_in_the_queue, "the row back in the queue")
    down = await scrape(client)
    assert value(down, "smsbot_outbox_oldest_queued_age_seconds") >= 600
    failed_at = value(down, "smsbot_kpn_last_error_timestamp_seconds")
    assert abs(failed_at - datetime.now(UTC).timestamp()) < 60

    sandbox.clear()
    await until(lambda: len(sandbox.messages()) == 1)

    async def sent() -> bool:
        samples = await scrape(client)
        return value(samples, "smsbot_sends_total", surface="alertmanager", outcome="sent") == 1

    await until(sent, "the sent SMS counted")
    up = await scrape(client)
    assert value(up, "smsbot_kpn_reachable") == 1
    assert value(up, "smsbot_outbox_rows", state="queued") == 0
    assert value(up, "smsbot_outbox_rows", state="sending") == 0
    assert value(up, "smsbot_outbox_oldest_queued_age_seconds") == 0
    assert value(up, "smsbot_kpn_last_error_timestamp_seconds") == failed_at
    assert value(up, "smsbot_kpn_quota_used") >= 1
    assert value(up, "smsbot_kpn_quota_limit") >= value(up, "smsbot_kpn_quota_used")


async def test_outbox_state_counts_queued_and_sending_rows(store) -> None:
    assert await store.outbox_state() == OutboxState(0, 0, None)
    first = (await store.admit(queued("first"))).record
    await store.admit(queued("second"))
    await store.admit(queued("third"))
    (claimed,) = await store.take_due(1)
    assert claimed.request_id == first.request_id
    state = await store.outbox_state()
    assert (state.queued, state.sending) == (2, 1)
    assert state.oldest_queued is not None and state.oldest_queued >= first.time


def queued(key: str) -> NewRecord:
    return NewRecord(
        actor="alert:on-call",
        surface=Surface.ALERTMANAGER,
        idempotency_key=key,
        outcome=Outcome.QUEUED,
        text_length=5,
        recipient="+31612345678",
        parts=1,
        encoding="GSM-7",
        sender="SMSBot",
        text="hello",
    )
