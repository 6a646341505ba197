"""Fixtures for the sandbox tests: an HTTP session and a fresh access token."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from smsbot.sandbox.testing import SandboxHandle
from tests.sandbox.helpers import fetch_token


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def token(http: aiohttp.ClientSession, sandbox: SandboxHandle) -> str:
    return await fetch_token(http, sandbox)
