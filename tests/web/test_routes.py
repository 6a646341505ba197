"""The bot's own routes: /healthz, /readyz, /metrics, served over loopback HTTP.

Readiness is asked of the service (`ready()`); `StoreProbe` stands in for a service whose store
is reachable, unreachable, failing or hanging, which a real store cannot be made to do on cue.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families

from smsbot import web as web_module
from smsbot.metrics import Metrics, ScrapeReadings
from smsbot.settings import Settings
from smsbot.slack.socket_mode import SocketModeConnection
from smsbot.web import create_app
from tests.fakes.slack_api import APP_TOKEN
from tests.fixtures.waiting import WITHIN_SECONDS, until
from tests.web.test_socket_mode_connection import acking_app


class StoreProbe:
    def __init__(self, answer: bool | Exception | None = True) -> None:
        self.answer = answer  # None: never answers
        self.calls = 0

    async def ready(self) -> bool:
        self.calls += 1
        if self.answer is None:
            await asyncio.Event().wait()
        if isinstance(self.answer, Exception):
            raise self.answer
        return bool(self.answer)


@pytest.fixture
def settings() -> Settings:
    return Settings(_env_file=None)


async def serve(app) -> TestClient:
    client = TestClient(TestServer(app))
    await client.start_server()
    return client


@pytest.fixture
async def client_for() -> AsyncIterator:
    clients: list[TestClient] = []

    async def make(app) -> TestClient:
        clients.append(await serve(app))
        return clients[-1]

    yield make
    for client in clients:
        await client.close()


async def test_healthz_answers_even_when_the_store_is_down(settings, client_for):
    store = StoreProbe(False)
    client = await client_for(create_app(settings, store, metrics=Metrics()))
    resp = await client.get("/healthz")
    assert resp.status == 200
    assert await resp.json() == {"status": "ok"}
    assert store.calls == 0  # liveness never waits for the database


async def test_readyz_200_when_store_reachable(settings, client_for):
    client = await client_for(create_app(settings, StoreProbe(True), metrics=Metrics()))
    resp = await client.get("/readyz")
    assert resp.status == 200
    assert await resp.json() == {"status": "ready", "checks": {"store": "ok"}}


@pytest.mark.parametrize(
    ("answer", "state"),
    [(False, "unreachable"), (OSError("database is locked"), "unreachable"), (None, "timeout")],
)
async def test_readyz_503_names_the_store(settings, client_for, monkeypatch, answer, state):
    monkeypatch.setattr(web_module, "READY_CHECK_TIMEOUT_SECONDS", 0.1)
    client = await client_for(create_app(settings, StoreProbe(answer), metrics=Metrics()))
    resp = await client.get("/readyz")
    assert resp.status == 503
    assert await resp.json() == {
        "status": "not ready",
        "not_ready": ["store"],
        "checks": {"store": state},
    }


async def test_readyz_ignores_slack_but_shows_it_when_verbose(
    settings, client_for, fake_slack, fake_socket
):
    """A Slack outage must not take the alert intake out of service: readiness is the
    process's (store, HTTP); Slack's state is shown with `?verbose` and in /metrics."""
    metrics = Metrics()
    socket = SocketModeConnection(
        acking_app(fake_slack), app_token=APP_TOKEN, api_url=fake_slack.api_url
    )
    readings = ScrapeReadings(metrics, slack=socket)
    try:
        app = create_app(
            settings, StoreProbe(True), metrics=metrics, readings=readings, socket=socket
        )
        client = await client_for(app)

        resp = await client.get("/readyz")
        assert resp.status == 200
        assert await resp.json() == {"status": "ready", "checks": {"store": "ok"}}
        resp = await client.get("/readyz?verbose")
        assert resp.status == 200
        assert (await resp.json())["slack"] == "disconnected"
        assert await slack_gauge(client) == 0

        await socket.start()
        async with asyncio.timeout(WITHIN_SECONDS):
            await socket.wait_connected()
        resp = await client.get("/readyz?verbose")
        assert resp.status == 200
        assert await resp.json() == {
            "status": "ready",
            "checks": {"store": "ok"},
            "slack": "connected",
        }
        assert await slack_gauge(client) == 1
    finally:
        await socket.close()
    resp = await client.get("/readyz?verbose")
    assert resp.status == 200
    assert (await resp.json())["slack"] == "disconnected"


async def slack_gauge(client) -> float:
    resp = await client.get("/metrics")
    families = {f.name: f for f in text_string_to_metric_families(await resp.text())}
    (sample,) = families["smsbot_slack_connected"].samples
    return sample.value


async def test_unanswered_pings_count_as_disconnected(
    settings, client_for, fake_slack, fake_socket
):
    fake_socket.answer_pings = False
    socket = SocketModeConnection(
        acking_app(fake_slack),
        app_token=APP_TOKEN,
        api_url=fake_slack.api_url,
        ping_interval=0.1,
    )
    client = await client_for(
        create_app(settings, StoreProbe(True), metrics=Metrics(), socket=socket)
    )
    try:
        await socket.start()
        async with asyncio.timeout(WITHIN_SECONDS):
            await socket.wait_connected()
            # Greeted, but the socket stopped answering pings: disconnected, before slack-sdk
            # gives up on it.
            await until(lambda: not socket.connected)
        resp = await client.get("/readyz?verbose")
        assert resp.status == 200
        assert (await resp.json())["slack"] == "disconnected"
    finally:
        await socket.close()


@pytest.mark.parametrize(("slack_app", "state"), [(True, "http"), (False, "off")])
async def test_readyz_verbose_without_socket_mode(
    settings, client_for, fake_slack, slack_app, state
):
    app = create_app(
        settings,
        StoreProbe(True),
        metrics=Metrics(),
        slack_app=acking_app(fake_slack) if slack_app else None,
    )
    client = await client_for(app)
    resp = await client.get("/readyz?verbose")
    assert (resp.status, (await resp.json())["slack"]) == (200, state)


async def test_socket_mode_has_no_http_slack_endpoint(
    settings, client_for, fake_slack, fake_socket
):
    socket = SocketModeConnection(
        acking_app(fake_slack), app_token=APP_TOKEN, api_url=fake_slack.api_url
    )
    try:
        app = create_app(
            settings,
            StoreProbe(True),
            metrics=Metrics(),
            slack_app=acking_app(fake_slack),
            socket=socket,
        )
        client = await client_for(app)
        resp = await client.post("/slack/events", data="command=%2Fsms")
        assert resp.status == 404
    finally:
        await socket.close()


async def test_metrics_is_prometheus_text_with_the_bot_metrics(settings, client_for):
    metrics = Metrics()
    metrics.sends.labels(surface="cli", outcome="sent").inc(3)
    client = await client_for(create_app(settings, StoreProbe(True), metrics=metrics))
    resp = await client.get("/metrics")
    assert resp.status == 200
    assert resp.headers["Content-Type"] == metrics.content_type
    assert resp.headers["Content-Type"].startswith("text/plain; version=")
    families = {f.name: f for f in text_string_to_metric_families(await resp.text())}
    assert {"smsbot_sends", "smsbot_slack_ack_seconds", "smsbot_kpn_request_seconds"} <= set(
        families
    )
    sent = [s for s in families["smsbot_sends"].samples if s.name == "smsbot_sends_total"]
    assert [(s.labels, s.value) for s in sent if s.value] == [
        ({"surface": "cli", "outcome": "sent"}, 3.0)
    ]


async def test_route_registrars_add_their_routes(settings, client_for):
    from aiohttp import web

    async def alertmanager(request: web.Request) -> web.Response:
        return web.json_response({"accepted": True})

    def add_alert_routes(app: web.Application) -> None:
        app.router.add_post("/alerts/alertmanager", alertmanager)

    app = create_app(settings, StoreProbe(True), metrics=Metrics(), routes=[add_alert_routes])
    client = await client_for(app)
    resp = await client.post("/alerts/alertmanager", json={})
    assert resp.status == 200
    assert await resp.json() == {"accepted": True}
