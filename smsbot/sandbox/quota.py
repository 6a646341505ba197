"""KPN's quota as a counter of send requests in fixed windows that reset on a UTC boundary."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime

from smsbot.sandbox.config import QuotaRule


class QuotaCounter:
    def __init__(self, rule: QuotaRule, clock: Callable[[], float]) -> None:
        self.rule = rule
        self._clock = clock
        self._window_start = self._current_window_start()
        self._used = 0

    def _current_window_start(self) -> float:
        size = self.rule.window_seconds
        return math.floor(self._clock() / size) * size

    def _roll(self) -> None:
        start = self._current_window_start()
        if start != self._window_start:
            self._window_start, self._used = start, 0

    @property
    def used(self) -> int:
        self._roll()
        return self._used

    @property
    def reset_at(self) -> datetime:
        self._roll()
        return datetime.fromtimestamp(self._window_start + self.rule.window_seconds, UTC)

    def consume(self) -> bool:
        """Count one request; False (and nothing counted) when the quota is used up."""
        self._roll()
        if self._used >= self.rule.limit:
            return False
        self._used += 1
        return True

    def seconds_until_reset(self) -> int:
        """Whole seconds to wait, rounded up so that a client waiting this long is let in."""
        self._roll()
        remaining = self._window_start + self.rule.window_seconds - self._clock()
        return max(1, math.ceil(remaining))

    def reset(self) -> None:
        self._window_start, self._used = self._current_window_start(), 0

    def headers(self) -> dict[str, str]:
        """KPN's five quota headers, with the reset time in ISO 8601 UTC."""
        return {
            "quota-limit": str(self.rule.limit),
            "quota-used": str(self.used),
            "quota-interval": str(self.rule.interval),
            "quota-time-unit": self.rule.time_unit,
            "quota-reset-UTC": self.reset_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }

    def describe(self) -> dict[str, object]:
        return {
            "rule": str(self.rule),
            "limit": self.rule.limit,
            "used": self.used,
            "reset_at": self.reset_at.isoformat().replace("+00:00", "Z"),
        }
