"""PostgreSQL's send path runs on asyncpg directly (`smsbot.store.postgres_raw`), on connections
checked out of SQLAlchemy's pool, outside SQLAlchemy's own transactions: what SQLAlchemy would
have done for a broken or half-used connection is done there."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import asyncpg
import pytest
from sqlalchemy import text

from smsbot.store import Store
from tests.fixtures.database import _plain_url
from tests.store.test_store import cap, queued

pytestmark = pytest.mark.postgres


async def backend_pids(store: Store, count: int) -> set[int]:
    """The server processes behind `count` connections of the pool, held at once."""
    pids: set[int] = set()
    release = asyncio.Event()

    async def hold() -> None:
        async with store.engine.connect() as conn:
            pids.add((await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one())
            if len(pids) == count:
                release.set()
            await release.wait()

    await asyncio.wait_for(asyncio.gather(*(hold() for _ in range(count))), 10)
    return pids


async def test_when_the_server_drops_the_connections_one_write_fails_not_one_each(
    postgres_url: str,
) -> None:
    store = await Store.open(postgres_url, pool_size=3)
    admin = await asyncpg.connect(_plain_url(postgres_url.split("?")[0]))
    try:
        assert not (await store.admit(queued("before"), [cap(10)])).duplicate
        for pid in await backend_pids(store, 3):  # a restart or failover of the server
            assert await admin.fetchval("SELECT pg_terminate_backend($1)", pid)
        outcomes = []
        for n in range(4):
            try:
                await store.admit(queued(f"after{n}"), [cap(10)])
            except Exception:
                outcomes.append("failed")
            else:
                outcomes.append("stored")
        assert outcomes.count("failed") <= 1 and outcomes[-2:] == ["stored", "stored"]
    finally:
        await admin.close()
        await store.close()


async def test_a_connection_left_inside_a_transaction_is_not_reused(postgres_url: str) -> None:
    store = await Store.open(postgres_url, pool_size=1)
    admin = await asyncpg.connect(_plain_url(postgres_url))
    try:
        raw = store._postgres_statements
        assert raw is not None
        with pytest.raises(RuntimeError):
            async with raw.connection(store.engine) as driver:
                await driver.execute("BEGIN")  # as a task cancelled mid-transaction leaves it
                raise RuntimeError("cancelled half-way")
        admitted = await store.admit(queued("next"), [cap(10)])
        # Committed: another session sees it (on the half-used connection it would not be).
        seen = await admin.fetchval(
            "SELECT count(*) FROM smsbot_sends WHERE id = $1", admitted.record.request_id
        )
        assert seen == 1
    finally:
        await admin.close()
        await store.close()


async def test_a_claim_never_stands_without_its_row(postgres_url: str) -> None:
    store = await Store.open(postgres_url)
    try:
        too_long = replace(queued("k1"), recipient="+31" + "6" * 30)  # the column holds 20
        with pytest.raises(Exception, match="too long"):
            await store.admit(too_long, claim=("alert:k1", 60))
        # The row failed, so the claim was rolled back with it: the next copy can take it.
        assert await store.claim("alert:k1", 60)
    finally:
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
