"""PostgreSQL's backend (`smsbot.store.backends.postgres`) runs on asyncpg's own pool: what a
broken or half-used connection needs is done there."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import asyncpg
import pytest

from smsbot.store import Store
from smsbot.store.backends.postgres import PostgresBackend
from tests.fixtures.database import _plain_url
from tests.store.test_store import cap, queued

pytestmark = pytest.mark.postgres


def pool_of(store: Store) -> asyncpg.Pool:
    backend = store._backend
    assert isinstance(backend, PostgresBackend)
    return backend._pool


async def backend_pids(store: Store, count: int) -> set[int]:
    """The server processes behind `count` connections of the pool, held at once."""
    pids: set[int] = set()
    release = asyncio.Event()

    async def hold() -> None:
        async with pool_of(store).acquire() as conn:
            pids.add(await conn.fetchval("SELECT pg_backend_pid()"))
            if len(pids) == count:
                release.set()
            await release.wait()

    await asyncio.wait_for(asyncio.gather(*(hold() for _ in range(count))), 10)
    return pids


async def test_when_the_server_drops_the_connections_one_write_fails_not_one_each(
    postgres_url: str,
) -> None:
    store = await Store.open(postgres_url, pool_size=1)
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
        with pytest.raises(RuntimeError):
            async with pool_of(store).acquire() as conn:
                await conn.execute("BEGIN")  # as a task cancelled mid-transaction leaves it
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
        assert await store.admit(queued("k2"), claim=("alert:k1", 60)) is not None
    finally:
        await store.close()


async def test_rows_read_back_through_sqlalchemy_as_the_store_wrote_them(postgres_url: str):
    store = await Store.open(postgres_url)
    try:
        admitted = await store.admit(queued("k1"), [cap(10)])
        assert admitted.record.reply == {"response_url": "https://hooks.example/1"}
        assert admitted.record.time.utcoffset() is not None
        async with store.engine.connect() as conn:
            from sqlalchemy import select

            from smsbot.store.sqlalchemy_tables import sends

            row = (await conn.execute(select(sends))).mappings().one()
        assert (row["created_at"], row["reply"]) == (admitted.record.time, admitted.record.reply)
    finally:
        await store.close()


async def test_a_failing_locked_group_rolls_back_and_frees_its_locks(postgres_url: str) -> None:
    store = await Store.open(postgres_url, pool_size=1)
    admin = await asyncpg.connect(_plain_url(postgres_url))
    try:
        refused = replace(queued("k1"), text="a\x00b")  # PostgreSQL's text holds no NUL
        with pytest.raises(asyncpg.PostgresError):
            await store.admit(refused, [cap(10)])
        subject = f"smsbot:recipient:{refused.recipient}"
        free = "SELECT pg_try_advisory_xact_lock(hashtextextended($1, 0))"
        assert await admin.fetchval(free, subject)  # no transaction left holding it
        assert not (await store.admit(queued("k2"), [cap(10)])).duplicate
        assert await admin.fetchval("SELECT count(*) FROM smsbot_sends") == 1
    finally:
        await admin.close()
        await store.close()
