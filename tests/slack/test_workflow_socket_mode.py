"""The "Send SMS" step in Socket Mode, the manifest's default: `function_executed` arrives over
the websocket in an Events API envelope, is acked bare at once, and the step is ended with its
own token once KPN has the SMS."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from smsbot.cli.serve_cmd import SlackMode, running_bot
from smsbot.settings import Settings
from tests.fakes import slack_requests as sr
from tests.fakes.slack_api import APP_TOKEN, BOT_TOKEN, FakeSlackApi
from tests.fakes.slack_socket_mode import FakeSocketMode
from tests.fixtures.waiting import WITHIN_SECONDS
from tests.slack.test_workflow_step import ending_of, function_event, outputs_of


@pytest.fixture
async def fake_socket(fake_slack: FakeSlackApi) -> AsyncIterator[FakeSocketMode]:
    async with FakeSocketMode() as socket:
        fake_slack.socket_url = socket.url
        yield socket


async def test_function_executed_over_the_socket_ends_the_step(
    sandbox, fake_slack, fake_socket, tmp_path
) -> None:
    settings = Settings(
        _env_file=None,
        database_url=f"sqlite:///{tmp_path / 'bot.db'}",
        slack={"bot_token": BOT_TOKEN, "app_token": APP_TOKEN, "api_url": fake_slack.api_url},
        allow={"users": ["U0ALICE"]},  # start-up limits the step to alice's workflows
    ).with_sandbox(sandbox.url)
    fake_slack.add_user("U0ALICE", "alice")
    async with running_bot(settings, host="127.0.0.1", port=0, mode=SlackMode.SOCKET) as bot:
        async with asyncio.timeout(WITHIN_SECONDS):
            await bot.socket.wait_connected()
        event = function_event(fake_slack, {"recipient": "0612345678", "message": "socket"})
        envelope_id = await fake_socket.send_envelope("events_api", sr.event_callback(event))
        ack = await fake_socket.wait_ack(envelope_id)
        # Slack's Events API envelopes do not accept a response payload: the ack is bare.
        assert ack == {"envelope_id": envelope_id}
        ending = await ending_of(fake_slack, event["function_execution_id"])
    assert ending.method == "functions.completeSuccess"
    assert ending.token == event["bot_access_token"]
    [sms] = sandbox.messages()
    assert sms["content"] == "socket"
    assert outputs_of(ending)["document_id"] == sms["document_id"]
