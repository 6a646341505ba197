"""`smsbot serve` as operators start it: a real subprocess, a clean environment."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
from pathlib import Path

import aiohttp
import pytest

from smsbot.cli.main import main
from tests.cli.process import ROOT, start_smsbot
from tests.fakes.slack_api import BOT_TOKEN
from tests.fakes.slack_requests import SIGNING_SECRET, SlackSender, slash_command_form
from tests.fixtures.waiting import WITHIN_SECONDS, until


async def start_serve(env: dict[str, str], cwd: Path, *args: str) -> asyncio.subprocess.Process:
    return await start_smsbot("serve", *args, env=env, cwd=cwd)


async def refused(env: dict[str, str], cwd: Path, *args: str) -> str:
    process = await start_serve(env, cwd, *args)
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 2, (out, err)
    return err.decode()


KPN = {"SMSBOT_KPN__CLIENT_ID": "app-id", "SMSBOT_KPN__CLIENT_SECRET": "app-secret"}


async def test_nothing_configured_exits_2_naming_every_missing_setting(tmp_path):
    message = await refused({}, tmp_path)
    assert message.startswith("smsbot: cannot start:")
    for name in (
        "SMSBOT_SLACK__BOT_TOKEN",
        "SLACK_BOT_TOKEN",
        "SMSBOT_SLACK__APP_TOKEN",
        "SMSBOT_SLACK__SIGNING_SECRET",
        "SLACK_SIGNING_SECRET",
        "SMSBOT_KPN__CLIENT_ID",
        "SMSBOT_KPN__CLIENT_SECRET",
    ):
        assert name in message


@pytest.fixture
def environment(monkeypatch, tmp_path):
    """In-process runs of `main(["serve"])` with exactly the variables a test sets."""
    for name in list(os.environ):
        if name.startswith(("SMSBOT_", "SLACK_")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no stray .env

    def set_env(env: dict[str, str]) -> None:
        for name, value in env.items():
            monkeypatch.setenv(name, value)

    return set_env


def refused_in_process(environment, capsys, env: dict[str, str]) -> str:
    environment(env)
    assert main(["serve"]) == 2
    return capsys.readouterr().err


def test_http_mode_without_signing_secret_is_refused(environment, capsys):
    message = refused_in_process(environment, capsys, {**KPN, "SLACK_BOT_TOKEN": "xoxb-1"})
    assert "SMSBOT_SLACK__SIGNING_SECRET" in message
    assert "KPN" not in message  # only what is really missing
    assert "xoxb-1" not in message


def test_missing_kpn_credentials_are_refused(environment, capsys):
    env = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s3cret"}
    message = refused_in_process(environment, capsys, {**env, "SMSBOT_KPN__CLIENT_ID": "app-id"})
    assert "no KPN credentials" in message
    assert "SMSBOT_KPN__CLIENT_SECRET" in message
    assert "s3cret" not in message


@pytest.mark.parametrize(
    ("env", "hint"),
    [
        ({"SLACK_BOT_TOKEN": "xoxp-user-token", "SLACK_APP_TOKEN": "xapp-1"}, "start with xoxb-"),
        ({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xoxb-1"}, "start with xapp-"),
    ],
)
def test_wrong_kind_of_token_is_refused(environment, capsys, env, hint):
    message = refused_in_process(environment, capsys, {**KPN, **env})
    assert hint in message


def test_unreadable_settings_file_is_refused(environment, capsys, tmp_path):
    message = refused_in_process(
        environment, capsys, {"SMSBOT_CONFIG": str(tmp_path / "missing.toml")}
    )
    assert "SMSBOT_CONFIG" in message and "missing.toml" in message


def test_port_in_use_is_refused_with_what_to_do(
    environment, capsys, tmp_path, fake_slack_in_a_thread
):
    env = {
        **KPN,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": "s3cret",
        # Slack answers at once (slack.com is not reached from tests: each call would wait out
        # slack-sdk's retries of a failed connection first).
        "SMSBOT_SLACK__API_URL": fake_slack_in_a_thread.api_url,
        "SMSBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}",
    }
    environment(env)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["serve", "--host", "127.0.0.1", "--port", str(port)]) == 2
    message = capsys.readouterr().err
    assert f"cannot listen on 127.0.0.1:{port}" in message
    assert "--port" in message


class ServeProcess:
    """`smsbot serve` in HTTP mode on a free port, against the sandbox and the fake Slack."""

    def __init__(self, process: asyncio.subprocess.Process, url: str, log: Path) -> None:
        self.process = process
        self.url = url
        self.log = log

    @classmethod
    async def start(
        cls, sandbox, fake_slack, tmp_path: Path, extra_env: dict[str, str] | None = None
    ) -> ServeProcess:
        env = {
            "SMSBOT_KPN__BASE_URL": sandbox.url,
            "SMSBOT_KPN__CLIENT_ID": "sandbox",
            "SMSBOT_KPN__CLIENT_SECRET": "sandbox",
            "SMSBOT_SLACK__API_URL": fake_slack.api_url,
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SMSBOT_ALLOW__USERS": "U1",
            "SMSBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}",
            **(extra_env or {}),
        }
        log = tmp_path / "serve.log"
        with log.open("wb") as stderr:
            process = await start_smsbot(
                "serve", "--host", "127.0.0.1", "--port", "0", env=env, cwd=tmp_path, stderr=stderr
            )
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
        match = re.match(r"smsbot: listening on (http://\S+) \(Slack at \S+/slack/events\)", line)
        assert match, (line, log.read_text())
        return cls(process, match.group(1), log)

    async def stop(self) -> tuple[int, str]:
        """SIGTERM, as `docker stop` or Kubernetes sends it; returns exit code and stdout."""
        self.process.send_signal(signal.SIGTERM)
        assert self.process.stdout is not None
        out = await asyncio.wait_for(self.process.stdout.read(), 30)
        return await self.process.wait(), out.decode()

    def kill(self) -> None:
        if self.process.returncode is None:
            self.process.kill()


def command(fake_slack, text: str, response_id: str) -> dict[str, str]:
    return slash_command_form(
        text, user_id="U1", channel_id="C1", response_url=fake_slack.response_url(response_id)
    )


async def test_http_mode_serves_health_and_a_signed_slash_command(sandbox, fake_slack, tmp_path):
    fake_slack.add_channel("C1", "ops")
    serve = await ServeProcess.start(sandbox, fake_slack, tmp_path)
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{serve.url}/healthz") as resp:
                assert resp.status == 200
            async with http.get(f"{serve.url}/readyz") as resp:
                assert resp.status == 200
                assert await resp.json() == {"status": "ready", "checks": {"store": "ok"}}

            slack = SlackSender(http, f"{serve.url}/slack/events")
            status, _ = await slack.command(command(fake_slack, "0612345678 Door open", "r1"))
            assert status == 200
            status, _ = await slack.command(
                command(fake_slack, "0612345678 forged", "r2"), secret="not-the-secret"
            )
            assert status == 401

            await fake_slack.wait_for(lambda: fake_slack.messages, within=10)
            assert [(m["mobile_number"], m["content"]) for m in sandbox.messages()] == [
                ("+31612345678", "Door open")
            ]
            async with http.get(f"{serve.url}/metrics") as resp:
                metrics = await resp.text()
            assert "smsbot_slack_ack_seconds_count 2.0" in metrics
            assert 'smsbot_sends_total{outcome="sent",surface="slack_command"} 1.0' in metrics
        code, out = await serve.stop()
        assert code == 0, serve.log.read_text()
        assert "stopping" in out
        assert "+31612345678" not in serve.log.read_text()  # numbers never logged in full
    finally:
        serve.kill()


async def test_sigterm_finishes_the_send_under_way(sandbox, fake_slack, tmp_path):
    fake_slack.add_channel("C1", "ops")
    serve = await ServeProcess.start(sandbox, fake_slack, tmp_path)
    try:
        sandbox.hold_answers()  # KPN answers this one only once serve is stopping
        async with aiohttp.ClientSession() as http:
            slack = SlackSender(http, f"{serve.url}/slack/events")
            status, _ = await slack.command(command(fake_slack, "0612345678 Still sent", "r1"))
            assert status == 200
        # stop while the send is at KPN
        await until(lambda: sandbox.answers_held == 1, "the send at KPN")
        serve.process.send_signal(signal.SIGTERM)
        assert serve.process.stdout is not None
        line = await asyncio.wait_for(serve.process.stdout.readline(), 10)
        assert line.startswith(b"smsbot: stopping")
        sandbox.release_answers()
        code = await asyncio.wait_for(serve.process.wait(), 30)
        assert code == 0, serve.log.read_text()
        assert [m["content"] for m in sandbox.messages()] == ["Still sent"]
        # the person still heard back before the process ended
        assert len(fake_slack.messages) == 1
    finally:
        serve.kill()


async def test_a_second_sigterm_quits_without_waiting(sandbox, fake_slack, tmp_path):
    fake_slack.add_channel("C1", "ops")
    serve = await ServeProcess.start(sandbox, fake_slack, tmp_path)
    try:
        sandbox.add_fault(delay_ms=20_000)  # a send that would hold the first stop for long
        async with aiohttp.ClientSession() as http:
            slack = SlackSender(http, f"{serve.url}/slack/events")
            await slack.command(command(fake_slack, "0612345678 Slow", "r1"))
        await fake_slack.wait_for(lambda: sandbox.send_requests > 0)
        serve.process.send_signal(signal.SIGTERM)
        assert serve.process.stdout is not None
        line = await asyncio.wait_for(serve.process.stdout.readline(), 10)
        assert line.startswith(b"smsbot: stopping")
        serve.process.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(serve.process.wait(), WITHIN_SECONDS)
        assert code == -signal.SIGTERM
    finally:
        serve.kill()


async def test_serve_takes_alertmanager_webhooks_to_the_routed_phone(sandbox, fake_slack, tmp_path):
    config = tmp_path / "smsbot.toml"
    config.write_text(
        '[[alerts.routes]]\nname = "oncall"\nmatchers = [\'severity="critical"\']\n'
        'recipients = ["0612345678"]\n'
    )
    env = {"SMSBOT_CONFIG": str(config), "SMSBOT_ALERTS__TOKEN": "alert-token"}
    payload = (ROOT / "tests/alerts/payloads/alertmanager_firing.json").read_bytes()
    serve = await ServeProcess.start(sandbox, fake_slack, tmp_path, env)
    try:
        async with aiohttp.ClientSession() as http:
            url = f"{serve.url}/alerts/alertmanager"
            headers = {"Content-Type": "application/json"}
            async with http.post(url, data=payload, headers=headers) as resp:
                assert resp.status == 401  # no token, no intake
            headers["Authorization"] = "Bearer alert-token"
            async with http.post(url, data=payload, headers=headers) as resp:
                assert resp.status == 200, await resp.text()
            await until(sandbox.messages, "the alert's SMS at the sandbox")
        [message] = sandbox.messages()
        assert message["mobile_number"] == "+31612345678"
        assert message["content"].startswith("FIRING")
        code, _ = await serve.stop()
        assert code == 0, serve.log.read_text()
    finally:
        serve.kill()
