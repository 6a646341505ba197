"""The whole bot in Socket Mode: a slash command over the websocket becomes an SMS.

Real parts throughout: `running_bot` (store on SQLite, KPN client, outbox, Bolt app, the web
routes) with the fake Socket Mode endpoint, the fake Slack Web API and the KPN sandbox.
"""

from __future__ import annotations

import asyncio

import aiohttp

from smsbot.cli.serve_cmd import SlackMode, running_bot
from smsbot.settings import Settings
from tests.fakes.slack_api import APP_TOKEN, BOT_TOKEN
from tests.fakes.slack_requests import slash_command_form
from tests.fixtures.waiting import WITHIN_SECONDS


def socket_settings(sandbox, fake_slack, tmp_path, **extra) -> Settings:
    return Settings(
        _env_file=None,
        database_url=f"sqlite:///{tmp_path / 'bot.db'}",
        slack={"bot_token": BOT_TOKEN, "app_token": APP_TOKEN, "api_url": fake_slack.api_url},
        allow={"users": ["U1"]},
        **extra,
    ).with_sandbox(sandbox.url)


async def test_slash_command_over_the_socket_reaches_the_inbox(
    sandbox, fake_slack, fake_socket, tmp_path
):
    fake_slack.add_channel("C1", "ops")
    settings = socket_settings(sandbox, fake_slack, tmp_path)
    async with (
        running_bot(settings, host="127.0.0.1", port=0, mode=SlackMode.SOCKET) as bot,
        aiohttp.ClientSession() as http,
    ):
        async with asyncio.timeout(WITHIN_SECONDS):
            await bot.socket.wait_connected()
        async with http.get(f"{bot.url}/readyz?verbose") as resp:
            assert resp.status == 200
            assert (await resp.json())["slack"] == "connected"
        # Socket Mode serves no Slack HTTP endpoint
        async with http.post(f"{bot.url}/slack/events", data="x") as resp:
            assert resp.status == 404

        form = slash_command_form(
            "0612345678 Server room door is open",
            user_id="U1",
            channel_id="C1",
            response_url=fake_slack.response_url("r1"),
        )
        envelope_id = await fake_socket.send_envelope("slash_commands", form)
        ack = await fake_socket.wait_ack(envelope_id)
        assert ack["envelope_id"] == envelope_id

        await fake_slack.wait_for(lambda: fake_slack.messages)
        [sms] = sandbox.messages()
        assert sms["mobile_number"] == "+31612345678"
        assert sms["content"] == "Server room door is open"
        [confirmation] = fake_slack.messages
        assert confirmation["channel"] == "C1"
        assert "5678" in str(confirmation) and "+31612345678" not in str(confirmation)

        async with http.get(f"{bot.url}/metrics") as resp:
            text = await resp.text()
        assert "smsbot_slack_ack_seconds_count 1.0" in text

        # Slack goes quiet: the socket drops and the new one is never greeted
        fake_socket.greet = False
        await fake_socket.drop()
        await fake_socket.wait_for(lambda: fake_socket.connections_opened == 2)
        # The bot stays ready (its alert intake still works); Slack's state says what is wrong.
        async with http.get(f"{bot.url}/readyz?verbose") as resp:
            assert resp.status == 200
            assert (await resp.json())["slack"] == "disconnected"
        async with http.get(f"{bot.url}/metrics") as resp:
            assert "smsbot_slack_connected 0.0" in await resp.text()


async def test_refused_sender_gets_told_and_nothing_is_sent(
    sandbox, fake_slack, fake_socket, tmp_path
):
    fake_slack.add_channel("C1", "ops")
    settings = socket_settings(sandbox, fake_slack, tmp_path)
    async with running_bot(settings, host="127.0.0.1", port=0, mode=SlackMode.SOCKET) as bot:
        async with asyncio.timeout(WITHIN_SECONDS):
            await bot.socket.wait_connected()
        form = slash_command_form(
            "0612345678 hello",
            user_id="USTRANGER",
            channel_id="C1",
            response_url=fake_slack.response_url("r2"),
        )
        envelope_id = await fake_socket.send_envelope("slash_commands", form)
        await fake_socket.wait_ack(envelope_id)
        await fake_slack.wait_for(lambda: fake_slack.posts_to("r2"))
    assert sandbox.messages() == []
    assert fake_slack.messages == []
