"""Talking to the sandbox the way a KPN client does, over a plain aiohttp session."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aiohttp

from smsbot.sandbox.testing import SandboxHandle

TOKEN_PATH = "/oauth/client_credential/accesstoken?grant_type=client_credentials"
SEND_PATH = "/communication/kpn/sms/send"
SANDBOX_CREDENTIALS = {"client_id": "sandbox", "client_secret": "sandbox"}


class FakeClock:
    """Wall-clock seconds that only move when a test says so."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def message(
    mobile_number: str = "0612345678", content: str = "Hello from the sandbox", **extra: Any
) -> dict[str, Any]:
    body = {"sender": "SMSBot", "messages": [{"mobile_number": mobile_number, "content": content}]}
    return body | extra


async def fetch_token(http: aiohttp.ClientSession, sandbox: SandboxHandle) -> str:
    async with http.post(sandbox.url + TOKEN_PATH, data=SANDBOX_CREDENTIALS) as response:
        assert response.status == 200, await response.text()
        return (await response.json())["access_token"]


async def post_send(
    http: aiohttp.ClientSession, sandbox: SandboxHandle, token: str | None, body: Any
) -> tuple[int, Any, Mapping[str, str]]:
    """POST a send body; returns status, JSON body (or text) and headers."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with http.post(sandbox.url + SEND_PATH, json=body, headers=headers) as response:
        text = await response.text()
        try:
            payload = await response.json(content_type=None) if text else None
        except ValueError:
            payload = text
        return response.status, payload, response.headers
