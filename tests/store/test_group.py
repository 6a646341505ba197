"""Group commit: writes arriving together share a transaction, each waiter gets its own result,
and one failing write fails only its own waiter."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import asyncpg
import pytest

from smsbot.sms.request import Outcome
from smsbot.store import Store, utcnow
from smsbot.store.group import GroupCommit
from smsbot.store.schema import sends
from tests.store.test_store import cap, queued


class FakeDatabase:
    """Runs a group like a transaction: all of its ops' effects, or none of them."""

    def __init__(self) -> None:
        self.committed: list[Any] = []
        self.transactions: list[int] = []

    async def run_together(self, writes: Sequence[Any]) -> list[Any]:
        await asyncio.sleep(0)  # a round trip: more writes may queue meanwhile
        pending: list[Any] = []
        results = [await write(pending) for write in writes]
        self.committed.extend(pending)
        self.transactions.append(len(writes))
        return results


def writing(value: Any):
    async def op(pending: list[Any]) -> Any:
        if value == "bad":
            raise ValueError("bad row")
        pending.append(value)
        return f"stored {value}"

    return op


async def test_writes_of_one_turn_share_one_transaction_and_each_gets_its_own_result() -> None:
    database = FakeDatabase()
    group = GroupCommit(database)
    results = await asyncio.gather(*(group.run(writing(n)) for n in range(20)))
    assert results == [f"stored {n}" for n in range(20)]
    assert database.transactions == [20]
    assert sorted(database.committed) == list(range(20))


async def test_writes_arriving_during_a_group_form_the_next_group() -> None:
    database = FakeDatabase()
    group = GroupCommit(database, max_batch=8)
    first = asyncio.gather(*(group.run(writing(n)) for n in range(3)))
    await asyncio.sleep(0)  # the first group has started
    second = asyncio.gather(*(group.run(writing(n)) for n in range(3, 13)))
    assert await first == [f"stored {n}" for n in range(3)]
    assert await second == [f"stored {n}" for n in range(3, 13)]
    assert database.transactions == [3, 8, 2]


async def test_a_failing_write_fails_only_its_own_waiter() -> None:
    database = FakeDatabase()
    group = GroupCommit(database)
    values: list[Any] = [0, 1, "bad", 3]
    results = await asyncio.gather(*(group.run(writing(v)) for v in values), return_exceptions=True)
    assert results[:2] == ["stored 0", "stored 1"] and results[3] == "stored 3"
    assert isinstance(results[2], ValueError)
    # The group rolled back as a whole; each write then ran alone, the good ones committed once.
    assert sorted(database.committed) == [0, 1, 3]
    assert database.transactions == [1, 1, 1]


async def test_a_waiter_cancelled_before_its_group_starts_is_not_written() -> None:
    database = FakeDatabase()
    group = GroupCommit(database)
    kept = asyncio.ensure_future(group.run(writing("kept")))
    dropped = asyncio.ensure_future(group.run(writing("dropped")))
    await asyncio.sleep(0)
    dropped.cancel()
    assert await kept == "stored kept"
    with pytest.raises(asyncio.CancelledError):
        await dropped
    assert database.committed == ["kept"]


async def test_concurrent_admits_share_transactions_and_get_their_own_records(store: Store):
    before = store._writes.batches
    admissions = await asyncio.gather(
        *(store.admit(queued(f"k{n}", actor=f"U{n % 3}"), [cap(100)]) for n in range(30)),
        store.admit(queued("k0")),  # the same key as the first: a duplicate of it
    )
    assert store._writes.batches - before < 31
    fresh = admissions[:30]
    assert [a.record.idempotency_key for a in fresh] == [f"k{n}" for n in range(30)]
    assert not any(a.duplicate for a in fresh)
    assert len({a.record.request_id for a in fresh}) == 30
    assert admissions[30].duplicate
    assert admissions[30].record.request_id == fresh[0].record.request_id
    assert await store.count_recent(since=utcnow().replace(year=2000)) == 30


async def test_a_cap_holds_within_one_group(store: Store) -> None:
    admissions = await asyncio.gather(*(store.admit(queued(f"c{n}"), [cap(3)]) for n in range(8)))
    outcomes = [a.record.outcome for a in admissions]
    assert outcomes.count(Outcome.QUEUED) == 3
    assert outcomes.count(Outcome.REFUSED) == 5


async def test_a_row_the_database_refuses_fails_only_its_own_admit(store: Store) -> None:
    bad = queued("bad")
    bad = type(bad)(**{**bad.__dict__, "reply": {"not json": object()}})
    results = await asyncio.gather(
        store.admit(queued("good1")),
        store.admit(bad),
        store.admit(queued("good2")),
        store.admit(queued("claimed"), claim=("alert:x", 60)),
        return_exceptions=True,
    )
    good1, failed, good2, claimed = results
    assert not isinstance(good1, BaseException) and not isinstance(good2, BaseException)
    assert isinstance(failed, Exception)
    assert claimed is not None and not isinstance(claimed, BaseException)
    assert await store.by_key("good1") is not None and await store.by_key("good2") is not None
    assert await store.by_key("bad") is None
    # The claim was committed once.
    assert await store.admit(queued("again"), claim=("alert:x", 60)) is None


async def test_finishes_arriving_together_each_get_their_own_row(store: Store) -> None:
    sending = [
        (await store.admit(type(q)(**{**q.__dict__, "outcome": Outcome.SENDING}))).record
        for q in (queued(f"f{n}") for n in range(6))
    ]
    queued_only = (await store.admit(queued("not-sending"))).record
    results = await asyncio.gather(
        *(
            store.finish(r.request_id, Outcome.SENT, document_id=f"doc{n}", extra_attempts=n)
            for n, r in enumerate(sending[:5])
        ),
        store.finish(sending[5].request_id, Outcome.FAILED, error="no"),
        store.finish(queued_only.request_id, Outcome.SENT, document_id="never"),
        return_exceptions=True,
    )
    for n, record in enumerate(results[:5]):
        assert not isinstance(record, BaseException)
        assert (record.request_id, record.outcome) == (sending[n].request_id, Outcome.SENT)
        assert (record.document_id, record.attempts, record.text) == (f"doc{n}", 1 + n, None)
    failed = results[5]
    assert not isinstance(failed, BaseException)
    assert (failed.outcome, failed.error, failed.document_id) == (Outcome.FAILED, "no", None)
    assert isinstance(results[6], LookupError)
    stored = await store.get(queued_only.request_id)
    assert stored is not None and stored.outcome == Outcome.QUEUED


async def test_admit_with_a_claim_records_only_for_the_claimer(store: Store) -> None:
    results = await asyncio.gather(
        *(store.admit(queued(f"a{n}"), claim=("alert:same", 60)) for n in range(5)),
        store.admit(queued("other"), claim=("alert:other", 60)),
    )
    won = [r for r in results[:5] if r is not None]
    assert len(won) == 1 and not won[0].duplicate
    assert results[5] is not None
    assert await store.count_recent(since=utcnow().replace(year=2000)) == 2
    # The claim was taken with the record: a later copy loses it.
    assert await store.admit(queued("late"), claim=("alert:same", 60)) is None
    assert await store.by_key("late") is None


async def test_admits_merged_into_one_statement_keep_caps_and_keys(store: Store) -> None:
    def person(key: str, n: int):
        return queued(key, actor=f"P{n}", to=f"+3161000{n:04d}")

    for n in range(3):  # three people have used up their allowance of one already
        assert (await store.admit(person(f"old{n}", n), [cap(1, value=f"P{n}")])).record
    known = (await store.admit(person("known", 9))).record
    admissions = await asyncio.gather(
        *(store.admit(person(f"new{n}", n), [cap(1, value=f"P{n}")]) for n in [*range(8), 9]),
        store.admit(person("known", 20), [cap(5, value="P20")]),
    )
    outcomes = [a.record.outcome for a in admissions[:8]]
    assert outcomes == [Outcome.REFUSED] * 3 + [Outcome.QUEUED] * 5
    assert all("limit reached" in (a.record.error or "") for a in admissions[:3])
    assert admissions[8].record.outcome == Outcome.REFUSED  # P9 sent "known" already
    assert admissions[9].duplicate and admissions[9].record.request_id == known.request_id
    for n, admission in enumerate(admissions[:8]):
        stored = await store.by_key(f"new{n}")
        assert stored == admission.record
        assert (stored.actor, stored.reply) == (
            f"P{n}",
            {"response_url": "https://hooks.example/1"},
        )


async def test_a_document_id_longer_than_its_column_is_kept_fitted_alone_and_batched(
    store: Store,
) -> None:
    # KPN's ids are UUIDs, but nothing bounds them; KPN has the SMS by then, so the outcome
    # must be recorded whatever the id's length, on a single finish and on a batched one.
    sending = [
        (await store.admit(type(q)(**{**q.__dict__, "outcome": Outcome.SENDING}))).record
        for q in (queued(f"long{n}") for n in range(7))
    ]
    ids = [f"{n}-" + "d" * 100 for n in range(7)]
    alone = await store.finish(sending[0].request_id, Outcome.SENT, document_id=ids[0])
    together = await asyncio.gather(
        *(
            store.finish(r.request_id, Outcome.SENT, document_id=ids[n])
            for n, r in enumerate(sending[1:], start=1)
        )
    )
    for n, record in enumerate([alone, *together]):
        assert record.outcome is Outcome.SENT
        assert record.document_id == sends.c.document_id.fitted(ids[n])
        assert len(record.document_id) == 64 and record.document_id.startswith(f"{n}-ddd")
    assert len({r.document_id for r in [alone, *together]}) == 7


@pytest.mark.postgres
async def test_postgresql_refuses_an_over_long_value_in_batched_and_capped_admits(
    postgres_url: str,
) -> None:
    # An explicit cast to varchar(N) would cut it to N characters without a word: the batched
    # and capped statements cast their parameters, so they cast to varchar without a length.
    store = await Store.open(postgres_url)
    try:
        long_actor = "U" * 250  # the column keeps 200
        admits = [store.admit(queued(f"plain{n}", actor=long_actor)) for n in range(3)]
        capped = [store.admit(queued(f"cap{n}", actor=long_actor), [cap(5)]) for n in range(3)]
        for together in admits, capped:
            results = await asyncio.gather(*together, return_exceptions=True)
            assert all(isinstance(r, asyncpg.StringDataRightTruncationError) for r in results)
        keys = [f"{kind}{n}" for kind in ("plain", "cap") for n in range(3)]
        assert [await store.by_key(key) for key in keys] == [None] * 6
    finally:
        await store.close()
