"""A workflow step never hangs: one whose SMS gets its outcome after a restart is still ended.

The first process records the step's request (with what ending it needs) and stops before its
outbox sends it; a second process, on the same database, sends it and ends the step, with the
step's own token while it lasts (15 minutes) and the bot token after that.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

from slack_bolt.request.async_request import AsyncBoltRequest

from smsbot.bootstrap import SlackMode, open_bot
from smsbot.settings import Settings
from smsbot.slack.step_permissions import sync_step_permissions
from tests.fakes import slack_requests as sr
from tests.fakes.slack_api import BOT_TOKEN, FakeSlackApi
from tests.fixtures.waiting import until
from tests.slack.conftest import serving_bot
from tests.slack.test_workflow_step import (
    ending_of,
    endings,
    function_event,
    outputs_of,
    step_settings,
)


async def record_without_sending(settings: Settings, event: dict[str, Any]) -> None:
    """A process that takes the step's event and stops before its outbox sends anything."""
    async with open_bot(settings, mode=SlackMode.HTTP, run_outbox=False) as bot:
        assert bot.slack_app is not None
        assert await sync_step_permissions(bot.service)
        body = json.dumps(sr.event_callback(event))
        headers = {"content-type": "application/json", **sr.signature_headers(body)}
        answer = await bot.slack_app.async_dispatch(AsyncBoltRequest(body=body, headers=headers))
        assert answer.status == 200
        # The listener records it after the ack.
        await until(bot.service.recent, "the step's request recorded")


async def test_a_step_queued_before_a_restart_is_ended_after_it(sandbox, tmp_path: Path) -> None:
    async with FakeSlackApi() as fake:
        settings = step_settings(fake, sandbox, tmp_path)
        event = function_event(fake, {"recipient": "0612345678", "message": "after restart"})
        await record_without_sending(settings, event)
        assert sandbox.messages() == [] and endings(fake, event["function_execution_id"]) == []

        async with serving_bot(settings):
            ending = await ending_of(fake, event["function_execution_id"])
        assert ending.method == "functions.completeSuccess"
        assert ending.token == event["bot_access_token"]  # the step's own, stored with it
        [sms] = sandbox.messages()
        assert outputs_of(ending)["document_id"] == sms["document_id"]


async def test_after_the_steps_token_expired_the_bot_token_ends_it(sandbox, tmp_path: Path) -> None:
    async with FakeSlackApi() as fake:
        settings = step_settings(fake, sandbox, tmp_path)
        # Slack ran the step 16 minutes ago (say the bot was down): its token is gone.
        ran_at = time.time() - 16 * 60
        event = function_event(fake, {"recipient": "0612345678", "message": "late"}, ran_at=ran_at)
        fake.executions[event["function_execution_id"]].issued_at = ran_at
        await record_without_sending(settings, event)

        async with serving_bot(settings):
            ending = await ending_of(fake, event["function_execution_id"])
        assert ending.method == "functions.completeSuccess"
        assert ending.token == BOT_TOKEN
        assert fake.executions[event["function_execution_id"]].state == "completed"


async def test_a_step_slack_will_not_let_end_is_logged_clearly(
    sandbox, tmp_path: Path, caplog
) -> None:
    async with FakeSlackApi() as fake:
        settings = step_settings(fake, sandbox, tmp_path)
        event = function_event(fake, {"recipient": "0612345678", "message": "x"})
        fake.advance(16 * 60)  # Slack's clock: the step's token has expired there
        fake.script("functions.completeSuccess", {"ok": False, "error": "invalid_auth"})
        with caplog.at_level(logging.ERROR, logger="smsbot.slack.step_completion"):
            async with serving_bot(settings) as (service, _metrics, slack):
                assert await sync_step_permissions(service)
                await slack.event(sr.event_callback(event))
                await fake.wait_for(lambda: len(fake.calls_to("functions.completeSuccess")) == 2)
                await fake.wait_for(lambda: caplog.records)
        [line] = caplog.records
        assert event["function_execution_id"] in line.getMessage()
        assert "could not be ended" in line.getMessage() and "sent" in line.getMessage()
        assert "0612345678" not in line.getMessage() and "xwfp" not in line.getMessage()
