"""Fixtures for the KPN client tests: settings aimed at the `sandbox` fixture, and a client."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from smsbot.kpn.client import KpnClient
from smsbot.sandbox.testing import SandboxHandle
from smsbot.settings import KpnSettings
from tests.kpn.helpers import FAST_RETRIES, sandbox_settings


@pytest.fixture
def kpn_settings(sandbox: SandboxHandle) -> KpnSettings:
    return sandbox_settings(sandbox.url)


@pytest.fixture
async def kpn(kpn_settings: KpnSettings) -> AsyncIterator[KpnClient]:
    async with KpnClient(kpn_settings, retry=FAST_RETRIES) as client:
        yield client
