"""When to try a KPN call again, and how long to wait first.

A retry is safe only when KPN certainly did not accept the SMS:

- no connection could be made (refused, DNS, TLS, connect timeout): nothing was sent;
- 502 Bad Gateway and 503 Service Unavailable: the gateway did not hand the request on;
- 429 Too Many Requests: refused by the quota, tried again after `Retry-After`.

Never retried: every `KpnOutcomeUnknown` (the request may have been accepted: a retry could send
the SMS twice), which includes a 500 or 504 from the send endpoint (`smsbot.kpn.responses`); every
4xx but 429 (the same request would be refused again); and a 500 or 504 from the token endpoint
(a `KpnUnavailable`: no SMS was involved, but a token service that fails is not merely busy).

Waits use exponential backoff with full jitter (a random wait between 0 and the exponential
cap, so that many clients do not retry in lockstep), or the server's `Retry-After` when it
gives one. Both the number of attempts and the total time are bounded: a wait that would end
after the time budget is not started; the last error is raised instead.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from smsbot.errors import KpnError, KpnQuotaExhausted, KpnUnavailable
from smsbot.kpn.responses import retry_after_seconds
from smsbot.settings import KpnSettings

log = logging.getLogger(__name__)

T = TypeVar("T")

RETRYABLE_STATUSES = frozenset({502, 503})


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 4
    max_seconds: float = 30.0
    base_delay: float = 0.5  # the cap of the first wait; doubles each retry
    max_delay: float = 8.0

    @classmethod
    def from_settings(cls, settings: KpnSettings, **overrides: float) -> RetryPolicy:
        values: dict[str, float] = {
            "max_attempts": settings.max_attempts,
            "max_seconds": settings.max_retry_seconds,
        }
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]

    def backoff(self, retry_number: int) -> float:
        """Full jitter: uniform in [0, min(max_delay, base_delay * 2**retry_number)]."""
        cap = min(self.max_delay, self.base_delay * (2**retry_number))
        return random.uniform(0.0, cap)


def is_retryable(exc: KpnError) -> bool:
    if isinstance(exc, KpnQuotaExhausted):
        return True
    # KpnUnavailable without a status means no connection was made at all.
    return isinstance(exc, KpnUnavailable) and (
        exc.status is None or exc.status in RETRYABLE_STATUSES
    )


def server_delay(exc: KpnError) -> float | None:
    """How long KPN asked us to wait (`Retry-After`), if it said."""
    if isinstance(exc, KpnQuotaExhausted) and exc.retry_after is not None:
        return exc.retry_after
    return retry_after_seconds(exc.response.headers)


async def call_with_retries(
    policy: RetryPolicy,
    attempt: Callable[[], Awaitable[T]],
    *,
    what: str,
    clock: Callable[[], float] = time.monotonic,
) -> T:
    """Run `attempt` until it succeeds, or raise its last error when that error is not safe to
    retry, or when the attempts or the time budget are used up."""
    started = clock()
    retry_number = 0
    while True:
        try:
            return await attempt()
        except KpnError as exc:
            attempts = retry_number + 1
            if not is_retryable(exc) or attempts >= policy.max_attempts:
                raise
            asked = server_delay(exc)
            delay = asked if asked is not None else policy.backoff(retry_number)
            left = policy.max_seconds - (clock() - started)
            if delay > left:
                exc.add_note(
                    f"not retried: the next try would start in {delay:.1f} s, after the "
                    f"{policy.max_seconds:.0f} s retry budget (SMSBOT_KPN__MAX_RETRY_SECONDS)"
                )
                raise
            log.warning(
                "%s: attempt %d failed (%s); retrying in %.2f s", what, attempts, exc, delay
            )
            await asyncio.sleep(delay)
            retry_number += 1
