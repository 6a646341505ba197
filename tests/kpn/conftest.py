"""Fixtures for the KPN client tests: settings aimed at the loopback sandbox, and a client.

Timeouts and backoff are small so that the failure paths (which really wait) keep the suite fast.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from pydantic import SecretStr

from smsbot.kpn.client import KpnClient
from smsbot.kpn.retry import RetryPolicy
from smsbot.sandbox.testing import SandboxHandle
from smsbot.settings import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, KpnSettings

FAST_RETRIES = RetryPolicy(max_attempts=4, max_seconds=5.0, base_delay=0.01, max_delay=0.05)
TO = "+31612345678"


def sandbox_settings(url: str, **overrides: object) -> KpnSettings:
    values: dict[str, object] = {
        "base_url": url,
        "client_id": SANDBOX_CLIENT_ID,
        "client_secret": SecretStr(SANDBOX_CLIENT_SECRET),
        "connect_timeout": 1.0,
        "read_timeout": 2.0,
    }
    values.update(overrides)
    return KpnSettings(**values)


@pytest.fixture
def kpn_settings(sandbox: SandboxHandle) -> KpnSettings:
    return sandbox_settings(sandbox.url)


@pytest.fixture
async def kpn(kpn_settings: KpnSettings) -> AsyncIterator[KpnClient]:
    async with KpnClient(kpn_settings, retry=FAST_RETRIES) as client:
        yield client
