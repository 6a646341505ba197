"""What a sandbox is configured with: credentials, token lifetime, quota, inbox size, clock,
and where it posts what KPN would post (delivery reports, inbound SMS)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

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
    # A send with a webhook_url gets `accepted` reports at once, `delivered` this much later.
    delivery_delay_ms: int = 2000
    # Waits before each retry of a post that failed (KPN's documented policy for delivery
    # reports: 4 attempts, 60/120/240 s apart); tests pass tiny ones.
    retry_delays: tuple[float, ...] = (60.0, 120.0, 240.0)
    post_timeout: float = 10.0  # seconds for one attempt to post to a webhook
    # Where KPN would deliver SMS that phones send to the virtual number (POST /sandbox/inbound).
    inbound_webhook: str | None = None
    # The virtual number a phone replies to when the SMS it answers came from a name.
    virtual_number: str = "+3197000000000"

    def __post_init__(self) -> None:
        if self.inbound_webhook is not None:
            check_webhook_url(self.inbound_webhook, "--inbound-webhook")
        if self.delivery_delay_ms < 0:
            raise ConfigurationError(
                f"--delivery-delay-ms {self.delivery_delay_ms}: use 0 or more milliseconds"
            )


def check_webhook_url(url: str, option: str) -> str:
    try:
        parts = urlsplit(url)
        usable = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:
        usable = False
    if not usable:
        raise ConfigurationError(
            f"{option} {url!r} is not an http(s) URL; give the full address, "
            "e.g. http://127.0.0.1:3000/kpn/inbound/<token>"
        )
    return url
