"""PostgreSQL's send path runs on asyncpg directly (`smsbot.store.postgres_raw`), on connections
checked out of SQLAlchemy's pool: a connection that breaks must leave the pool, or every later
write would fail on it."""

from __future__ import annotations

import asyncpg
import pytest
from sqlalchemy import text

from smsbot.store import Store
from tests.fixtures.database import _plain_url
from tests.store.test_store import cap, queued

pytestmark = pytest.mark.postgres


async def test_a_connection_the_server_dropped_is_replaced(postgres_url: str) -> None:
    store = await Store.open(postgres_url, pool_size=1)
    admin = await asyncpg.connect(_plain_url(postgres_url.split("?")[0]))
    try:
        assert not (await store.admit(queued("before"), [cap(10)])).duplicate
        async with store.engine.connect() as conn:  # the one pooled connection
            pid = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", pid)
        failures = 0
        for attempt in range(3):
            try:
                admission = await store.admit(queued(f"after{attempt}"), [cap(10)])
            except Exception:
                failures += 1  # the write that found the connection dead
            else:
                assert not admission.duplicate
                break
        else:
            pytest.fail("no write succeeded after the connection was dropped")
        assert failures <= 1
        assert (await store.by_key(f"after{attempt}")) is not None
    finally:
        await admin.close()
        await store.close()


async def test_admit_and_finish_read_back_as_sqlalchemy_reads_them(postgres_url: str) -> None:
    store = await Store.open(postgres_url)
    try:
        admitted = await store.admit(queued("k1"), [cap(10)])
        # Written and returned by asyncpg; read by SQLAlchemy.
        assert await store.get(admitted.record.request_id) == admitted.record
        assert admitted.record.reply == {"response_url": "https://hooks.example/1"}
        assert admitted.record.time.utcoffset() is not None
    finally:
        await store.close()
