"""SQLite's writer runs the send path's statements on the driver itself: what it writes must be
byte for byte what SQLAlchemy writes, since reads (and `WHERE created_at >= ...` comparisons of
the stored text) go through SQLAlchemy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select, text

from smsbot.sms.request import Outcome
from smsbot.store import Store, utcnow
from smsbot.store.schema import claims, sends
from tests.store.test_store import cap, queued


async def stored_text(store: Store, column: str, key: str) -> str:
    async with store.engine.connect() as conn:
        query = text(f"SELECT {column} FROM smsbot_sends WHERE idempotency_key = :key")
        return (await conn.execute(query, {"key": key})).scalar_one()


async def test_rows_from_the_driver_match_rows_from_sqlalchemy(sqlite_url: str) -> None:
    store = await Store.open(sqlite_url)
    try:
        fast = await store.admit(queued("fast"), [cap(5)])  # the writer's own statement
        assert not fast.duplicate
        # The same row written by SQLAlchemy, at a whole second (microsecond 0).
        values: dict = {column.name: None for column in sends.c}
        whole = datetime(2026, 11, 25, 3, 10, 0, tzinfo=UTC)
        values |= {
            "id": "b" * 32,
            "created_at": whole,
            "updated_at": whole,
            "actor": "U1",
            "surface": "cli",
            "text_length": 5,
            "outcome": "queued",
            "idempotency_key": "slow",
            "attempts": 0,
            "reply": {"response_url": "https://hooks.example/1"},
        }
        async with store.engine.begin() as conn:
            await conn.execute(insert(sends).values(values))
        for key in ("fast", "slow"):
            created = await stored_text(store, "created_at", key)
            # SQLAlchemy's SQLite DATETIME text: always six digits of microseconds.
            assert len(created) == len("2026-11-25 03:10:00.000000") and created[10] == " "
        assert await stored_text(store, "created_at", "slow") == "2026-11-25 03:10:00.000000"
        assert await stored_text(store, "reply", "fast") == await stored_text(
            store, "reply", "slow"
        )
        # What the driver returned is what SQLAlchemy reads back.
        assert await store.get(fast.record.request_id) == fast.record
        assert fast.record.time.tzinfo is not None
    finally:
        await store.close()


async def test_caps_compare_the_driver_s_timestamps_with_sqlalchemy_s(sqlite_url: str) -> None:
    store = await Store.open(sqlite_url)
    try:
        first = await store.admit(queued("a1"), [cap(1)])
        assert first.record.outcome is Outcome.QUEUED
        second = await store.admit(queued("a2"), [cap(1)])
        assert second.record.outcome is Outcome.REFUSED
        assert second.record.retry_at == first.record.time + timedelta(hours=1)
        # Finished by the driver, counted by SQLAlchemy's query.
        claimed = await store.claim_queued(5)
        await store.finish(claimed[0].request_id, Outcome.SENT, document_id="doc-1")
        count = await store.count_recent(
            since=utcnow() - timedelta(minutes=1), to=first.record.recipient
        )
        assert count == 2  # the sent one and the refused one
    finally:
        await store.close()


async def test_an_expired_claim_written_by_the_driver_can_be_taken_over(sqlite_url: str) -> None:
    store = await Store.open(sqlite_url)
    try:
        assert await store.claim("alert:x", 3600)
        assert not await store.claim("alert:x", 3600)
        async with store.engine.begin() as conn:
            expires = (await conn.execute(select(claims.c.expires_at))).scalar_one()
            assert expires > utcnow() + timedelta(minutes=59)
            await conn.execute(claims.update().values(expires_at=utcnow() - timedelta(seconds=1)))
        assert await store.claim("alert:x", 3600)
    finally:
        await store.close()
