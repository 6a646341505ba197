"""Settings for a client aimed at a loopback KPN (the sandbox, or a test's own server).

Timeouts and backoff are small so that the failure paths, which really wait, stay fast.
"""

from __future__ import annotations

from pydantic import SecretStr

from smsbot.kpn.retry import RetryPolicy
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
