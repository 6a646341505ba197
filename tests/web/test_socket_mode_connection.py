"""SocketModeConnection against the fake Socket Mode endpoint, with a real Bolt app.

The app here only acks, so these tests pin down the connection itself: readiness follows
Slack's `hello` and the socket's life, acks reach Slack with the envelope id, ack latency is
measured. The whole bot over Socket Mode is in test_socket_mode_bot.py.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import pytest
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from smsbot.errors import ConfigurationError
from smsbot.metrics import Metrics
from smsbot.slack.socket_mode import SocketModeConnection
from tests.fakes.slack_api import APP_TOKEN, BOT_TOKEN, FakeSlackApi
from tests.fakes.slack_requests import slash_command_form
from tests.fakes.slack_socket_mode import FakeSocketMode
from tests.fixtures.waiting import WITHIN_SECONDS, until


def acking_app(fake_slack: FakeSlackApi) -> AsyncApp:
    app = AsyncApp(
        client=AsyncWebClient(token=BOT_TOKEN, base_url=fake_slack.api_url),
        signing_secret="unused-in-socket-mode",
    )

    @app.command("/sms")
    async def answer(ack, command):
        await ack(f"got {command['text']}")

    return app


@pytest.fixture
async def connection(
    fake_slack: FakeSlackApi, fake_socket: FakeSocketMode
) -> AsyncIterator[tuple[SocketModeConnection, Metrics]]:
    metrics = Metrics()
    conn = SocketModeConnection(
        acking_app(fake_slack),
        app_token=APP_TOKEN,
        api_url=fake_slack.api_url,
        metrics=metrics,
        ping_interval=0.2,  # reconnects in tests happen within a fraction of a second
    )
    try:
        yield conn, metrics
    finally:
        await conn.close()


async def test_connected_only_after_hello(connection, fake_slack, fake_socket):
    conn, _ = connection
    assert not conn.connected
    await conn.start()
    async with asyncio.timeout(WITHIN_SECONDS):
        await conn.wait_connected()
    assert conn.connected
    # the URL came from apps.connections.open, asked with the app token, not the bot token
    opens = fake_slack.calls_to("apps.connections.open")
    assert [call.token for call in opens] == [APP_TOKEN]
    assert fake_socket.connections_opened == 1


async def test_socket_without_hello_is_not_connected(fake_slack, connection):
    conn, _ = connection
    async with FakeSocketMode(greet=False) as silent:
        fake_slack.socket_url = silent.url
        await conn.start()
        await silent.wait_for(lambda: silent.open_sockets == 1)
        # The client reads the socket (its first ping came back): a hello would have been seen.
        await until(
            lambda: conn.client.last_ping_pong_time is not None, "the first ping's pong read"
        )
        assert not conn.connected


async def test_slash_command_envelope_is_acked_with_the_response(
    connection, fake_slack, fake_socket
):
    conn, metrics = connection
    await conn.start()
    async with asyncio.timeout(WITHIN_SECONDS):
        await conn.wait_connected()
    form = slash_command_form(
        "0612345678 hi",
        user_id="U1",
        channel_id="C1",
        response_url=fake_slack.response_url("r1"),
    )
    envelope_id = await fake_socket.send_envelope("slash_commands", form)
    ack = await fake_socket.wait_ack(envelope_id)
    assert ack == {"envelope_id": envelope_id, "payload": {"text": "got 0612345678 hi"}}
    assert metrics.registry.get_sample_value("smsbot_slack_ack_seconds_count") == 1.0


async def test_dropped_socket_is_not_ready_until_reconnected_and_greeted(connection, fake_socket):
    conn, _ = connection
    await conn.start()
    async with asyncio.timeout(WITHIN_SECONDS):
        await conn.wait_connected()
    await fake_socket.drop()
    await fake_socket.wait_for(lambda: not conn.connected)
    # slack-sdk notices the closed socket and opens a new one through apps.connections.open
    async with asyncio.timeout(WITHIN_SECONDS):
        await conn.wait_connected()
    assert fake_socket.connections_opened == 2


async def test_disconnect_message_moves_to_a_new_socket(connection, fake_socket):
    conn, _ = connection
    await conn.start()
    async with asyncio.timeout(WITHIN_SECONDS):
        await conn.wait_connected()
    await fake_socket.disconnect()
    await fake_socket.wait_for(lambda: fake_socket.connections_opened == 2)
    async with asyncio.timeout(WITHIN_SECONDS):
        await conn.wait_connected()
    assert fake_socket.open_sockets == 1


async def test_close_leaves_no_socket_open(connection, fake_socket):
    conn, _ = connection
    await conn.start()
    async with asyncio.timeout(WITHIN_SECONDS):
        await conn.wait_connected()
    await conn.close()
    await fake_socket.wait_for(lambda: fake_socket.open_sockets == 0)
    assert not conn.connected


async def test_refused_app_token_stops_the_start_with_what_to_do(fake_slack, fake_socket):
    conn = SocketModeConnection(
        acking_app(fake_slack), app_token="xapp-revoked", api_url=fake_slack.api_url
    )
    try:
        with pytest.raises(ConfigurationError) as refused:
            await conn.start()
        assert "SMSBOT_SLACK__APP_TOKEN" in str(refused.value)
        assert "invalid_auth" in str(refused.value)
        assert "xapp-revoked" not in str(refused.value)
        assert fake_socket.connections_opened == 0
    finally:
        await conn.close()


async def test_slack_unreachable_at_start_keeps_trying_in_the_background(
    fake_slack, fake_socket, unused_tcp_port, caplog
):
    conn = SocketModeConnection(
        acking_app(fake_slack),
        app_token=APP_TOKEN,
        api_url=f"http://127.0.0.1:{unused_tcp_port}/api/",
        ping_interval=0.1,
    )
    try:
        with caplog.at_level(logging.ERROR, logger=conn.client.logger.name):
            await conn.start()  # does not raise: Slack may come back
            # slack-sdk's own retry in the background failed: it had its chance to connect.
            await until(
                lambda: any("Failed to connect" in m for m in caplog.messages),
                "a failed connection attempt in the background",
            )
        assert not conn.connected
        assert fake_socket.connections_opened == 0
        # Slack is back (here: its API answers at another address)
        conn.client.web_client.base_url = fake_slack.api_url
        async with asyncio.timeout(WITHIN_SECONDS):
            await conn.wait_connected()
    finally:
        await conn.close()
