"""A `sunset` header other than `n/a` is logged once per client.

The sandbox always answers `sunset: n/a`, so this runs a tiny KPN look-alike on loopback that
announces a sunset.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from smsbot.kpn.client import SEND_PATH, TOKEN_PATH, KpnClient
from smsbot.sandbox.testing import SandboxHandle
from tests.kpn.helpers import FAST_RETRIES, TO, sandbox_settings

SUNSET = "Sat, 31 Jul 2027 00:00:00 GMT"


@pytest.fixture
async def retiring_kpn() -> AsyncIterator[str]:
    headers = {"sunset": SUNSET, "api-version": "v1.0.6"}

    async def token(request: web.Request) -> web.Response:
        return web.json_response({"access_token": "t", "expires_in": "3599"}, headers=headers)

    async def send(request: web.Request) -> web.Response:
        return web.json_response({"document_id": "d", "status": "OK"}, headers=headers)

    app = web.Application()
    app.add_routes([web.post(TOKEN_PATH, token), web.post(SEND_PATH, send)])
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()


async def test_sunset_is_warned_about_once(
    retiring_kpn: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="smsbot.kpn")
    async with KpnClient(sandbox_settings(retiring_kpn), retry=FAST_RETRIES) as kpn:
        for _ in range(3):
            await kpn.send(TO, "x", "SMSBot")

    warnings = [r for r in caplog.records if "sunset" in r.getMessage()]
    assert len(warnings) == 1
    assert SUNSET in warnings[0].getMessage()
    assert "v1.0.6" in warnings[0].getMessage()


async def test_sunset_n_a_is_silent(
    sandbox: SandboxHandle, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="smsbot.kpn")
    async with KpnClient(sandbox_settings(sandbox.url), retry=FAST_RETRIES) as kpn:
        await kpn.send(TO, "x", "SMSBot")
    assert not [r for r in caplog.records if "sunset" in r.getMessage()]
