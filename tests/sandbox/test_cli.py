"""`smsbot sandbox` as an operator runs it: a real process that serves until it is stopped."""

from __future__ import annotations

import asyncio
import signal
import sys

import aiohttp
import pytest

from smsbot.cli.main import main
from tests.sandbox.helpers import SANDBOX_CREDENTIALS, TOKEN_PATH, message
from tests.sandbox.receiver import running_receiver


async def start(*options: str) -> tuple[asyncio.subprocess.Process, str]:
    """`smsbot sandbox --port 0 OPTIONS` in a process of its own, and its first line."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "smsbot", "sandbox", "--port", "0", *options,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stdout is not None
    first_line = (await asyncio.wait_for(process.stdout.readline(), 20)).decode()
    return process, first_line


def base_url(first_line: str) -> str:
    return first_line.split(" at ", 1)[1].strip().rstrip("/")


async def test_sandbox_command_serves_until_terminated(http: aiohttp.ClientSession) -> None:
    process, first_line = await start(
        "--quota", "3/minute", "--client-id", "ops", "--client-secret", "hunter2"
    )
    assert process.stdout is not None
    try:
        assert first_line.startswith("smsbot sandbox: inbox at http://127.0.0.1:")
        url = base_url(first_line)

        async with http.get(url + "/") as response:
            assert response.status == 200
            assert "smsbot sandbox" in await response.text()
        async with http.post(url + TOKEN_PATH, data=SANDBOX_CREDENTIALS) as response:
            assert response.status == 401  # the configured credentials replace the defaults
        form = {"client_id": "ops", "client_secret": "hunter2"}
        async with http.post(url + TOKEN_PATH, data=form) as response:
            assert response.status == 200
            assert response.headers["quota-limit"] == "3"
            assert response.headers["quota-time-unit"] == "minute"
    finally:
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), 10)
    output = (await process.stdout.read()).decode() + (await process.stderr.read()).decode()
    assert process.returncode == 0, output
    assert "hunter2" not in first_line + output


def test_unreadable_quota_exits_2_saying_how_to_write_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["sandbox", "--quota", "lots"]) == 2
    assert "e.g. 100/hour" in capsys.readouterr().err


async def test_port_in_use_exits_2_naming_the_option(capsys: pytest.CaptureFixture[str]) -> None:
    from smsbot.sandbox.testing import running_sandbox

    async with running_sandbox() as sandbox:
        port = sandbox.url.rsplit(":", 1)[1]
        # main() runs its own event loop, so it goes in a thread of its own.
        code = await asyncio.to_thread(main, ["sandbox", "--port", port])
    assert code == 2
    assert "--port" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--port", "70000"], "use 1-65535"),
        (["--expires-in", "0"], "1 s or more"),
        (["--delivery-delay-ms", "-1"], "0 or more milliseconds"),
        (["--inbound-webhook", "127.0.0.1:3000/kpn/inbound/x"], "is not an http(s) URL"),
    ],
)
def test_impossible_options_exit_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], says: str
) -> None:
    assert main(["sandbox", *argv]) == 2
    assert says in capsys.readouterr().err


async def test_sandbox_command_posts_reports_and_replies_where_told(
    http: aiohttp.ClientSession,
) -> None:
    async with running_receiver(path="/kpn/inbound/s3cr3t-inbound-t0ken") as receiver:
        process, first_line = await start(
            "--delivery-delay-ms", "0", "--inbound-webhook", receiver.url
        )
        try:
            url = base_url(first_line)
            async with http.post(url + TOKEN_PATH, data=SANDBOX_CREDENTIALS) as response:
                token = (await response.json())["access_token"]
            body = message(webhook_url=receiver.url)
            headers = {"Authorization": f"Bearer {token}"}
            async with http.post(
                url + "/communication/kpn/sms/send", json=body, headers=headers
            ) as response:
                assert response.status == 200
            accepted, delivered = await receiver.wait_for(2)
            assert (accepted["status"], delivered["status"]) == ("Accepted", "Delivered")
            reply = {"from": "0612345678", "content": "Got it"}
            async with http.post(url + "/sandbox/inbound", json=reply) as response:
                assert response.status == 200
            inbound = (await receiver.wait_for(3))[2]
            assert (inbound["sender"], inbound["content"]) == ("31612345678", "Got it")
        finally:
            process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(process.wait(), 10)
    assert process.returncode == 0
    assert process.stdout is not None
    banner = first_line + (await process.stdout.read()).decode()
    assert "inbound SMS (replies) to http://127.0.0.1:" in banner
    assert "s3cr3t-inbound-t0ken" not in banner  # the bot's secret path segment
