"""Fixtures for the sandbox tests: an HTTP session, a fresh access token, and loopback webhook
receivers standing in for the bot (`receiver` for delivery reports, `inbound` for replies)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from smsbot.sandbox.testing import SandboxHandle
from tests.sandbox.helpers import fetch_token
from tests.sandbox.receiver import Receiver, running_receiver


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def token(http: aiohttp.ClientSession, sandbox: SandboxHandle) -> str:
    return await fetch_token(http, sandbox)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with running_receiver(path="/kpn/delivery/1") as receiver:
        yield receiver


@pytest.fixture
async def inbound() -> AsyncIterator[Receiver]:
    async with running_receiver(path="/kpn/inbound/t0ken") as receiver:
        yield receiver
