"""KPN's quota, as this process last heard it: once KPN said it is used up, hold back until the
reset instead of hammering KPN with requests that can only get 429.

Learned from the `quota-*` headers of each receipt (remaining 0 with a reset time) and from a
429 (`KpnQuotaExhausted`, with its reset time or Retry-After). Each replica learns on its own;
the first 429 a replica gets closes its gate.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from smsbot.errors import KpnQuotaExhausted
from smsbot.kpn.models import Quota
from smsbot.policy.refusal import Refusal, at
from smsbot.settings import DEFAULT_TIMEZONE
from smsbot.sms.reasons import Reason
from smsbot.store import utcnow

log = logging.getLogger(__name__)

# When a 429 says neither when the quota resets nor when to retry.
DEFAULT_HOLD = timedelta(minutes=1)


def used_up_until(until: datetime, timezone: str) -> Reason:
    """Why an SMS failed or waits: KPN's quota is used up until `until` (shown in `timezone`)."""
    return Reason("refusal.kpn_quota", {"until": at(until, timezone)})


class QuotaGate:
    def __init__(
        self, *, clock: Callable[[], datetime] = utcnow, timezone: str = DEFAULT_TIMEZONE
    ) -> None:
        self._clock = clock
        self.timezone = timezone  # of the times in its refusals
        self._closed_until: datetime | None = None

    @property
    def reopens_at(self) -> datetime | None:
        """When sending may resume; None while the gate is open."""
        if self._closed_until is not None and self._clock() >= self._closed_until:
            self._closed_until = None
        return self._closed_until

    def check(self) -> Refusal | None:
        until = self.reopens_at
        if until is None:
            return None
        return Refusal.of("kpn_quota", "refusal.kpn_quota", until, until=at(until, self.timezone))

    def saw_quota(self, quota: Quota | None) -> None:
        if quota is not None and quota.remaining == 0 and quota.reset_at is not None:
            self._close(quota.reset_at)

    def saw_exhausted(self, exc: KpnQuotaExhausted) -> datetime:
        now = self._clock()
        # Retry-After is KPN's own answer to "when?" for this refusal; the quota reset time
        # is the fallback (a spike arrest resets long before the quota interval does).
        if exc.retry_after is not None:
            until = now + timedelta(seconds=exc.retry_after)
        elif exc.reset_at is not None and exc.reset_at > now:
            until = exc.reset_at
        else:
            until = now + DEFAULT_HOLD
        self._close(until)
        return until

    def _close(self, until: datetime) -> None:
        if until <= self._clock():
            return
        if self._closed_until is None or until > self._closed_until:
            log.warning("KPN quota used up; holding sends until %s", until.isoformat())
            self._closed_until = until
