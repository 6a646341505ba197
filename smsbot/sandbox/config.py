"""What a sandbox is configured with: credentials, token lifetime, quota, inbox size, clock."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from pydantic import SecretStr

from smsbot.errors import ConfigurationError
from smsbot.settings import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET

# KPN's time units for `quota-time-unit`, in seconds. Week and month are left out: a sandbox
# quota is for trying out exhaustion, which nobody waits a week for.
TIME_UNITS = {"minute": 60, "hour": 3600, "day": 86400}

_QUOTA_PATTERN = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*(minute|hour|day)s?\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class QuotaRule:
    """`limit` send requests per `interval` x `time_unit`, counted in windows aligned to UTC."""

    limit: int
    interval: int = 1
    time_unit: str = "hour"

    @property
    def window_seconds(self) -> int:
        return self.interval * TIME_UNITS[self.time_unit]

    @classmethod
    def parse(cls, text: str) -> QuotaRule:
        """Read `100/hour`, `5/minute`, `1000/day` or `50/2hour`."""
        match = _QUOTA_PATTERN.match(text)
        if not match or int(match.group(1)) < 1 or match.group(2) == "0":
            raise ConfigurationError(
                f"quota {text!r} is not understood. Write requests per time unit, "
                "e.g. 100/hour, 5/minute or 1000/day (at least 1 request)."
            )
        limit, interval, unit = match.groups()
        return cls(limit=int(limit), interval=int(interval or 1), time_unit=unit.lower())

    def __str__(self) -> str:
        every = self.time_unit if self.interval == 1 else f"{self.interval}{self.time_unit}"
        return f"{self.limit}/{every}"


# Generous enough that tests and benchmarks never meet it unless they ask for a quota.
DEFAULT_QUOTA = QuotaRule(limit=100_000, interval=1, time_unit="hour")


@dataclass(frozen=True)
class SandboxConfig:
    client_id: str = SANDBOX_CLIENT_ID
    client_secret: SecretStr = field(default_factory=lambda: SecretStr(SANDBOX_CLIENT_SECRET))
    expires_in: int = 3599  # seconds, as KPN issues them
    quota: QuotaRule = DEFAULT_QUOTA
    api_version: str = "v1.0.6"  # KPN's published version of the SMS API
    max_characters: int = 1000  # KPN's documented limit per message
    max_messages: int = 10_000  # the inbox keeps the newest this many
    # Wall-clock seconds; tests pass their own to expire tokens and quotas without waiting.
    clock: Callable[[], float] = time.time
