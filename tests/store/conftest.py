"""The store tests run on a clock they move by hand (`clock.advance(...)`), started at the real
time so that windows given as `utcnow() - ...` still hold, and ticking a microsecond per reading
so that rows keep the order they were written in."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from smsbot.store import ManualClock, Store


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(tick=timedelta(microseconds=1))


@pytest.fixture
async def store(database_url: str, clock: ManualClock) -> AsyncIterator[Store]:
    store = await Store.open(database_url, clock=clock)
    try:
        yield store
    finally:
        await store.close()
