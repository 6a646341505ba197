"""The time the store stamps rows with and measures windows against.

A clock is any callable returning an aware UTC datetime. `Store.open(url, clock=...)` takes one;
the default is the real clock. Tests hand in a `ManualClock` and move it by hand, so windows of
an hour or a day pass without waiting.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


class ManualClock:
    """A clock that stands still until moved: `clock.advance(timedelta(minutes=5))`. With a
    `tick`, each reading also moves it on by that much, so rows stamped one after the other
    still have distinct, ordered times (as on a real clock)."""

    def __init__(self, start: datetime | None = None, *, tick: timedelta = timedelta(0)) -> None:
        self.now = start or utcnow()
        if self.now.tzinfo is None:
            raise ValueError("a clock tells aware UTC time (use datetime.now(UTC))")
        self.tick = tick

    def __call__(self) -> datetime:
        now = self.now
        self.now += self.tick
        return now

    def advance(self, by: timedelta) -> datetime:
        self.now += by
        return self.now
