"""`smsbot serve` at DEBUG, its whole log read after a run of bad requests and real sends: no
phone number, no message text, whichever logger wrote the line, and little per refusal."""

from __future__ import annotations

import re

import aiohttp

from tests.cli.test_serve import ServeProcess, command
from tests.fakes.slack_requests import SlackSender
from tests.slack.test_bad_requests import (
    MALFORMED,
    NUMBER,
    SECRET_TEXT,
    UNAUTHENTICATED,
    Case,
    command_body,
)

TEXT = "Vault code is 4471"  # in the SMS that is sent, so in Slack's and KPN's bodies


async def test_nothing_personal_in_the_log_of_a_run(sandbox, fake_slack, tmp_path):
    fake_slack.add_channel("C1", "ops")
    serve = await ServeProcess.start(sandbox, fake_slack, tmp_path, {"SMSBOT_LOG_LEVEL": "DEBUG"})
    try:
        big = Case("forged, 500 kB of numbers", command_body(f"{NUMBER} " * 45_000), signed=False)
        refused = [*UNAUTHENTICATED, *MALFORMED, big]
        async with aiohttp.ClientSession() as http:
            url = f"{serve.url}/slack/events"
            before_refusals = len(serve.log.read_text())
            for case in refused:
                async with http.post(url, data=case.body, headers=case.request_headers()) as resp:
                    assert resp.status in (400, 401)
            after_refusals = len(serve.log.read_text())
            slack = SlackSender(http, url)
            status, _ = await slack.command(command(fake_slack, f"{NUMBER} {TEXT}", "r1"))
            assert status == 200
            status, _ = await slack.command(command(fake_slack, "0601234567 refused", "r2"))
            assert status == 200
            await fake_slack.wait_for(lambda: fake_slack.messages, within=10)
        code, _ = await serve.stop()
        assert code == 0
    finally:
        serve.kill()
    log = serve.log.read_text()
    assert "DEBUG" in log  # the level asked for is in force for smsbot's own lines
    digits = {re.sub(r"\D", "", run) for run in re.findall(r"\d[\d ()\-]*\d", log)}
    assert not [d for d in digits if "12345678" in d or "1234567" in d[-8:]], log[-3000:]
    assert TEXT not in log and SECRET_TEXT not in log and "4471" not in log
    assert after_refusals - before_refusals <= 300 * len(refused), log[before_refusals:][:3000]
