"""`smsbot demo` as `make demo` runs it on a fresh machine: a subprocess, no configuration."""

from __future__ import annotations

import asyncio
import json
import re
import signal
from pathlib import Path

import aiohttp

from tests.cli.process import start_smsbot
from tests.fakes.slack_api import APP_TOKEN, BOT_TOKEN
from tests.fakes.slack_requests import slash_command_form
from tests.fakes.slack_socket_mode import FakeSocketMode
from tests.fixtures.waiting import until


async def start_demo(cwd: Path, env: dict[str, str]) -> tuple[asyncio.subprocess.Process, str]:
    """Starts the demo on free ports; returns the process and everything it printed up to
    and including the "listening on" line."""
    log = (cwd / "demo.log").open("wb")
    process = await start_smsbot(
        "demo", "--port", "0", "--sandbox-port", "0", env=env, cwd=cwd, stderr=log
    )
    log.close()
    assert process.stdout is not None
    printed = ""
    while "listening on" not in printed:
        line = await asyncio.wait_for(process.stdout.readline(), 30)
        assert line, (printed, (cwd / "demo.log").read_text())
        printed += line.decode()
    return process, printed


async def stop(process: asyncio.subprocess.Process) -> int:
    process.send_signal(signal.SIGTERM)
    return await asyncio.wait_for(process.wait(), 30)


def urls(printed: str) -> tuple[str, str]:
    inbox = re.search(r"inbox\s+(http://127\.0\.0\.1:\d+)/", printed)
    bot = re.search(r"listening on (http://127\.0\.0\.1:\d+)", printed)
    assert inbox and bot, printed
    return inbox.group(1), bot.group(1)


async def test_demo_runs_with_zero_configuration(tmp_path):
    process, printed = await start_demo(tmp_path, {})
    try:
        sandbox_url, bot_url = urls(printed)
        assert f"smsbot send --sandbox {sandbox_url} 0612345678" in printed
        assert "SMSBOT_ALLOW__USERS" in printed  # how to allow yourself
        assert "SMSBOT_SLACK__BOT_TOKEN" in printed and "manifest.yml" in printed
        assert "SMSBOT_ALERTS__TOKEN" in printed
        assert "(Slack off)" in printed

        async with aiohttp.ClientSession() as http:
            for path in ("/healthz", "/readyz"):
                async with http.get(bot_url + path) as resp:
                    assert resp.status == 200, path
            async with http.get(f"{sandbox_url}/") as resp:
                assert resp.status == 200  # the inbox page

            # the example the banner prints works as printed
            send = await start_smsbot(
                *("send", "--sandbox", sandbox_url, "0612345678", "Hello from smsbot"),
                env={},
                cwd=tmp_path,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL,
            )
            assert await asyncio.wait_for(send.wait(), 60) == 0
            async with http.get(f"{sandbox_url}/sandbox/messages") as resp:
                messages = await resp.json()
            assert [(m["mobile_number"], m["content"]) for m in messages] == [
                ("+31612345678", "Hello from smsbot")
            ]
        assert await stop(process) == 0
        # the demo keeps its own audit file, apart from a real smsbot.db
        assert (tmp_path / "smsbot-demo.db").exists()
    finally:
        if process.returncode is None:
            process.kill()


async def test_demo_with_slack_tokens_connects_over_socket_mode(fake_slack, tmp_path):
    fake_slack.add_channel("C1", "ops")
    async with FakeSocketMode() as fake_socket:
        fake_slack.socket_url = fake_socket.url
        env = dict(
            SLACK_BOT_TOKEN=BOT_TOKEN,
            SLACK_APP_TOKEN=APP_TOKEN,
            SMSBOT_SLACK__API_URL=fake_slack.api_url,
            SMSBOT_ALLOW__USERS="U1",
        )
        process, printed = await start_demo(tmp_path, env)
        try:
            sandbox_url, bot_url = urls(printed)
            assert "connecting over Socket Mode" in printed
            assert "SMSBOT_ALLOW__USERS" not in printed  # an allowlist is configured
            await fake_socket.wait_for(lambda: fake_socket.open_sockets == 1, within=10)

            form = slash_command_form(
                "0612345678 Real Slack, sandbox SMS",
                user_id="U1",
                channel_id="C1",
                response_url=fake_slack.response_url("r1"),
            )
            envelope_id = await fake_socket.send_envelope("slash_commands", form)
            await fake_socket.wait_ack(envelope_id)
            await fake_slack.wait_for(lambda: fake_slack.messages, within=10)
            async with aiohttp.ClientSession() as http:
                async with http.get(f"{bot_url}/readyz?verbose") as resp:
                    assert (await resp.json())["slack"] == "connected"
                async with http.get(f"{sandbox_url}/sandbox/messages") as resp:
                    messages = await resp.json()
            assert [m["content"] for m in messages] == ["Real Slack, sandbox SMS"]
            assert await stop(process) == 0
            # The sandbox posting reports to the stopped bot is not work the stop waits for.
            assert "still running after the grace period" not in (tmp_path / "demo.log").read_text()
        finally:
            if process.returncode is None:
                process.kill()


async def test_demo_runs_the_reply_loop_without_slack(tmp_path):
    """A phone's reply from the sandbox reaches the demo's bot: the log says which SMS it
    answers (never the number or the text) and the audit has it, inbound."""
    process, printed = await start_demo(tmp_path, {})
    try:
        sandbox_url, _bot = urls(printed)
        assert "replies" in printed and "inbox" in printed
        # Sent into the demo's audit, from the sandbox's virtual number: a reply can find it.
        shared = {
            "SMSBOT_DATABASE_URL": "sqlite:///smsbot-demo.db",
            "SMSBOT_KPN__REPLY_NUMBER": "+3197000000000",
        }
        send = await start_smsbot(
            *("send", "--sandbox", sandbox_url, "--json", "0612345678", "Coming to the meeting?"),
            env=shared,
            cwd=tmp_path,
            stderr=asyncio.subprocess.DEVNULL,
        )
        out, _ = await asyncio.wait_for(send.communicate(), 60)
        assert send.returncode == 0, out
        request_id = json.loads(out)["request_id"]
        async with aiohttp.ClientSession() as http:
            body = {"from": "+31612345678", "content": "Yes, on my way"}
            async with http.post(f"{sandbox_url}/sandbox/inbound", json=body) as resp:
                assert resp.status == 200, await resp.text()
        log = tmp_path / "demo.log"
        await until(lambda: f"it answers SMS {request_id}" in log.read_text(), "the reply logged")
        logged = log.read_text()
        assert "612345678" not in logged and "on my way" not in logged
        audit = await start_smsbot(
            "audit", "--json", env=shared, cwd=tmp_path, stderr=asyncio.subprocess.DEVNULL
        )
        out, _ = await asyncio.wait_for(audit.communicate(), 60)
        [inbound] = [r for r in json.loads(out) if r["direction"] == "inbound"]
        assert inbound["outcome"] == "logged" and inbound["conversation"] == request_id
        assert inbound["from"] == "+31 6 ****5678"
    finally:
        assert await stop(process) == 0
