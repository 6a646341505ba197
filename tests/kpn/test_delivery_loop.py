"""The whole loop as `smsbot serve` runs it: an SMS sent through the pipeline carries its signed
delivery-report URL, the sandbox posts the reports to the bot, and the audit and metrics show
the delivery. Both engines."""

from __future__ import annotations

import asyncio
import json
import os
import re
from urllib.parse import urlsplit

import aiohttp
import pytest

from smsbot.cli.main import main
from smsbot.cli.serve_cmd import running_bot
from smsbot.kpn.delivery import DeliveryUrls
from smsbot.sandbox.testing import running_sandbox
from smsbot.settings import Settings
from smsbot.sms.request import Outcome, SendRequest, Surface
from smsbot.store import Delivery
from tests.fixtures.waiting import until


@pytest.fixture
def bot_settings(database_url: str, unused_tcp_port: int):
    def build(sandbox_url: str, **overrides: object) -> Settings:
        return Settings(
            _env_file=None,
            database_url=database_url,
            public_url=f"http://127.0.0.1:{unused_tcp_port}",
            **overrides,
        ).with_sandbox(sandbox_url)

    return build


async def test_a_send_comes_back_delivered_in_the_audit_and_metrics(
    bot_settings, unused_tcp_port: int
):
    async with running_sandbox(delivery_delay_ms=0) as sandbox:
        settings = bot_settings(sandbox.url)
        async with running_bot(settings, host="127.0.0.1", port=unused_tcp_port, mode=None) as bot:
            request = SendRequest(
                actor="cli:test", surface=Surface.CLI, to="0612345678", text="x" * 200
            )
            result = await bot.service.submit(request)
            assert result.outcome is Outcome.SENT and result.parts == 2

            (message,) = sandbox.messages()
            url = urlsplit(message["webhook_url"])
            assert url.netloc == f"127.0.0.1:{unused_tcp_port}"
            assert url.path == f"/kpn/delivery/{result.request_id}"
            assert DeliveryUrls.from_settings(settings).verify(  # type: ignore[union-attr]
                result.request_id, url.query.removeprefix("sig=")
            )

            async def delivered():
                record = await bot.service.store.get(result.request_id)
                return record if record and record.delivery is Delivery.DELIVERED else None

            record = await until(delivered, "the SMS delivered")
            as_json = record.to_json()
            assert as_json["delivery"] == "delivered" and as_json["delivered_at"]

            async with aiohttp.ClientSession() as http:
                async with http.get(f"{bot.url}/metrics") as response:
                    text = await response.text()
            assert 'smsbot_deliveries_total{status="delivered"} 1.0' in text
            assert "smsbot_delivery_seconds_count 1.0" in text


async def test_without_a_public_url_no_report_is_asked_for(database_url: str, unused_tcp_port):
    async with running_sandbox(delivery_delay_ms=0) as sandbox:
        settings = Settings(_env_file=None, database_url=database_url).with_sandbox(sandbox.url)
        async with running_bot(settings, host="127.0.0.1", port=unused_tcp_port, mode=None) as bot:
            request = SendRequest(actor="cli:test", surface=Surface.CLI, to="0612345678", text="hi")
            assert (await bot.service.submit(request)).outcome is Outcome.SENT
            async with aiohttp.ClientSession() as http:
                async with http.post(f"{bot.url}/kpn/delivery/abc?sig=x", data=b"{}") as answer:
                    assert answer.status == 404  # no route: no URL was ever given out
    (message,) = sandbox.messages()
    assert message["webhook_url"] is None


@pytest.fixture
def cli_environment(monkeypatch: pytest.MonkeyPatch, tmp_path, database_url: str):
    """`smsbot send` as from a shell beside the bot: the bot's database and public URL."""
    for name in list(os.environ):
        if name.startswith("SMSBOT_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SMSBOT_DATABASE_URL", database_url)

    def point_at(bot_url: str) -> None:
        monkeypatch.setenv("SMSBOT_PUBLIC_URL", bot_url)

    return point_at


@pytest.mark.parametrize(
    ("script", "code", "delivery"),
    [(None, 0, ("delivered", None, None)),
     ("failed", 1, ("failed", "007", "Recipient is temporarily unreachable or out of coverage"))],
    ids=["delivered", "failed"],
)  # fmt: skip
async def test_send_wait_prints_the_delivery(
    bot_settings, cli_environment, unused_tcp_port: int, capsys, script, code, delivery
):
    async with running_sandbox(delivery_delay_ms=0) as sandbox:
        if script:
            sandbox.script_delivery(script, error_code="007")
        async with running_bot(
            bot_settings(sandbox.url), host="127.0.0.1", port=unused_tcp_port, mode=None
        ) as bot:
            cli_environment(bot.url)
            argv = ["send", "0612345678", "hi", "--sandbox", sandbox.url, "--wait", "--json"]
            assert await asyncio.to_thread(main, argv) == code
    printed = json.loads(capsys.readouterr().out)
    assert printed["document_id"] == sandbox.messages()[0]["document_id"]
    assert (printed["delivery"], printed["delivery_code"], printed["delivery_meaning"]) == delivery
    assert printed["delivered_at"]


async def test_send_wait_needs_a_public_url(cli_environment, sandbox, capsys):
    argv = ["send", "0612345678", "hi", "--sandbox", sandbox.url, "--wait"]
    assert await asyncio.to_thread(main, argv) == 2
    assert "SMSBOT_PUBLIC_URL" in capsys.readouterr().err
    assert sandbox.messages() == []  # refused before anything was sent


async def test_send_wait_says_when_in_the_configured_zone(
    bot_settings, cli_environment, unused_tcp_port: int, capsys, monkeypatch
):
    monkeypatch.setenv("SMSBOT_TIMEZONE", "UTC")
    async with running_sandbox(delivery_delay_ms=0) as sandbox:
        async with running_bot(
            bot_settings(sandbox.url), host="127.0.0.1", port=unused_tcp_port, mode=None
        ) as bot:
            cli_environment(bot.url)
            argv = ["send", "0612345678", "hi", "--sandbox", sandbox.url, "--wait"]
            assert await asyncio.to_thread(main, argv) == 0
    document_id, delivered = capsys.readouterr().out.splitlines()
    assert document_id == sandbox.messages()[0]["document_id"]
    assert re.fullmatch(r"delivered \d\d:\d\d:\d\d UTC \(\d+ s after sending\)", delivered)
