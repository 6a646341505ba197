"""What the sandbox never answers: a `sunset` announcement, and a redirect.

A tiny KPN look-alike on loopback serves those answers, so the client still meets them over
real HTTP.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiohttp import web

from smsbot.errors import KpnUnavailable
from smsbot.kpn.client import SEND_PATH, TOKEN_PATH, KpnClient
from smsbot.sandbox.testing import SandboxHandle
from tests.kpn.helpers import FAST_RETRIES, TO, sandbox_settings

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
SUNSET = "Sat, 31 Jul 2027 00:00:00 GMT"


class Lookalike:
    def __init__(self) -> None:
        self.url = ""
        self.requests: list[tuple[str, str]] = []  # (method, path) in arrival order


@pytest.fixture
async def lookalike() -> AsyncIterator[Lookalike]:
    served = Lookalike()
    headers = {"sunset": SUNSET, "api-version": "v1.0.6"}

    @web.middleware
    async def record(request: web.Request, handler: Handler) -> web.StreamResponse:
        served.requests.append((request.method, request.path))
        return await handler(request)

    async def token(request: web.Request) -> web.Response:
        return web.json_response({"access_token": "t", "expires_in": "3599"}, headers=headers)

    async def send(request: web.Request) -> web.Response:
        return web.json_response({"document_id": "d", "status": "OK"}, headers=headers)

    async def moved(request: web.Request) -> web.Response:
        raise web.HTTPMovedPermanently(location=served.url + SEND_PATH)

    app = web.Application(middlewares=[record])
    app.add_routes(
        [
            web.post(TOKEN_PATH, token),
            web.post(SEND_PATH, send),
            web.post("/old" + TOKEN_PATH, token),
            web.post("/old" + SEND_PATH, moved),
        ]
    )
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    served.url = f"http://{host}:{port}"
    try:
        yield served
    finally:
        await runner.cleanup()


async def test_sunset_is_warned_about_once(
    lookalike: Lookalike, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="smsbot.kpn")
    async with KpnClient(sandbox_settings(lookalike.url), retry=FAST_RETRIES) as kpn:
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


async def test_a_redirect_is_not_followed(lookalike: Lookalike) -> None:
    async with KpnClient(sandbox_settings(lookalike.url + "/old"), retry=FAST_RETRIES) as kpn:
        with pytest.raises(KpnUnavailable, match="redirect") as caught:
            await kpn.send(TO, "x", "SMSBot")

    assert caught.value.status == 301
    # Following it would have repeated the send elsewhere (and as a GET).
    assert lookalike.requests == [("POST", "/old" + TOKEN_PATH), ("POST", "/old" + SEND_PATH)]
