"""The store's contract, run on SQLite and PostgreSQL alike (tests/fixtures/database.py)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import inspect, select, text, update

from smsbot.sms.request import Outcome, Surface
from smsbot.store import Cap, ManualClock, NewRecord, Store, migrations, utcnow
from smsbot.store.sqlalchemy_tables import schema_version, sends

NUMBER = "+31612345678"


def queued(key: str, *, actor: str = "U1", to: str = NUMBER, surface: Surface = Surface.CLI):
    return NewRecord(
        actor=actor,
        surface=surface,
        idempotency_key=key,
        outcome=Outcome.QUEUED,
        text_length=5,
        recipient=to,
        parts=1,
        encoding="GSM-7",
        sender="SMSBot",
        channel="C1",
        reply={"response_url": "https://hooks.example/1"},
        text="hello",
    )


def cap(maximum: int, *, column: str = "actor", value: str = "U1", surfaces=None) -> Cap:
    return Cap(
        rule="rate_limit",
        column=column,
        value=value,
        maximum=maximum,
        window=timedelta(hours=1),
        describe=lambda at: f"limit reached; next send at {at:%H:%M:%S}" if at else "no sends",
        surfaces=surfaces,
    )


async def backdate(store: Store, request_id: str, by: timedelta, column: str = "created_at"):
    async with store.engine.begin() as conn:
        await conn.execute(
            update(sends).where(sends.c.id == request_id).values({column: utcnow() - by})
        )


async def test_opening_creates_the_schema_at_the_latest_version(database_url: str) -> None:
    first, second = await asyncio.gather(Store.open(database_url), Store.open(database_url))
    try:
        async with first.engine.connect() as conn:
            versions = (await conn.execute(select(schema_version.c.version))).scalars().all()
        assert versions == [migrations.LATEST]
        assert await second.ping()
    finally:
        await first.close()
        await second.close()


async def test_a_newer_schema_is_refused_rather_than_misread(store: Store, database_url: str):
    async with store.engine.begin() as conn:
        await conn.execute(update(schema_version).values(version=migrations.LATEST + 1))
    with pytest.raises(RuntimeError, match="newer than this smsbot knows"):
        await Store.open(database_url)


async def test_admit_stores_every_audit_column(store: Store) -> None:
    admission = await store.admit(queued("k1"))
    assert not admission.duplicate
    stored = await store.get(admission.record.request_id)
    assert stored == admission.record
    assert (stored.actor, stored.surface, stored.channel) == ("U1", Surface.CLI, "C1")
    assert (stored.recipient, stored.parts, stored.encoding) == (NUMBER, 1, "GSM-7")
    assert (stored.outcome, stored.text, stored.text_length) == (Outcome.QUEUED, "hello", 5)
    assert stored.reply == {"response_url": "https://hooks.example/1"}
    assert stored.time.tzinfo is not None and abs(utcnow() - stored.time) < timedelta(minutes=1)


async def test_same_key_returns_the_first_record(store: Store) -> None:
    first = await store.admit(queued("same"))
    again = await store.admit(queued("same", actor="U2", to="+31687654321"))
    assert again.duplicate
    assert again.record.request_id == first.record.request_id
    assert again.record.actor == "U1"


async def test_same_key_at_the_same_moment_from_two_stores_stores_one_row(
    database_url: str,
) -> None:
    one, two = await Store.open(database_url), await Store.open(database_url)
    try:
        admissions = await asyncio.gather(
            *(s.admit(queued("racing")) for _ in range(10) for s in (one, two))
        )
        assert sum(not a.duplicate for a in admissions) == 1
        assert len({a.record.request_id for a in admissions}) == 1
        assert await one.count_recent(since=utcnow() - timedelta(minutes=1)) == 1
    finally:
        await one.close()
        await two.close()


async def test_cap_refuses_with_the_time_the_next_send_is_possible(
    store: Store, clock: ManualClock
) -> None:
    first = (await store.admit(queued("a"), [cap(2)])).record
    await store.admit(queued("b"), [cap(2)])
    third = (await store.admit(queued("c"), [cap(2)])).record
    assert third.outcome == Outcome.REFUSED
    assert third.rule == "rate_limit"
    assert third.retry_at == first.time + timedelta(hours=1)
    assert third.error == f"limit reached; next send at {third.retry_at:%H:%M:%S}"
    assert third.text is None  # nothing to send, so the text is not kept
    # Refusals do not count: another actor, or the same one after the window, may send.
    assert (await store.admit(queued("d", actor="U2"), [cap(2, value="U2")])).record.outcome == (
        Outcome.QUEUED
    )
    clock.advance(timedelta(minutes=61))
    assert (await store.admit(queued("e"), [cap(2)])).record.outcome == Outcome.QUEUED


async def test_a_cap_of_zero_refuses_every_send(store: Store) -> None:
    refused = (await store.admit(queued("z"), [cap(0)])).record
    assert (refused.outcome, refused.rule, refused.retry_at) == (
        Outcome.REFUSED,
        "rate_limit",
        None,
    )


async def test_cap_counts_only_its_surfaces_and_accepted_outcomes(store: Store) -> None:
    alerts = frozenset({Surface.ALERTMANAGER, Surface.GRAFANA})
    storm = cap(1, column="recipient", value=NUMBER, surfaces=alerts)
    await store.admit(queued("slack", surface=Surface.SLACK_COMMAND))
    first_alert = await store.admit(queued("am1", surface=Surface.ALERTMANAGER), [storm])
    assert first_alert.record.outcome == Outcome.QUEUED
    await store.take_due(2)  # the Slack row and the alert
    await store.finish(first_alert.record.request_id, Outcome.FAILED, error="KPN down")
    # The failed alert sent nothing, so it does not use up the storm allowance.
    second = await store.admit(queued("am2", surface=Surface.GRAFANA), [storm])
    assert second.record.outcome == Outcome.QUEUED
    third = await store.admit(queued("am3", surface=Surface.GRAFANA), [storm])
    assert third.record.outcome == Outcome.REFUSED


async def test_cap_holds_across_two_stores_admitting_at_once(database_url: str) -> None:
    one, two = await Store.open(database_url), await Store.open(database_url)
    try:
        admissions = await asyncio.gather(
            *(
                s.admit(queued(f"k{i}-{n}"), [cap(3)])
                for i in range(6)
                for n, s in enumerate((one, two))
            )
        )
        outcomes = [a.record.outcome for a in admissions]
        assert outcomes.count(Outcome.QUEUED) == 3
        assert outcomes.count(Outcome.REFUSED) == 9
    finally:
        await one.close()
        await two.close()


async def test_text_is_erased_when_the_send_finishes(store: Store) -> None:
    record = (await store.admit(queued("t"))).record
    [sending] = await store.take_due(1)
    assert (sending.request_id, sending.text, sending.attempts) == (record.request_id, "hello", 1)
    done = await store.finish(
        record.request_id, Outcome.SENT, document_id="doc-1", extra_attempts=1
    )
    assert (done.outcome, done.document_id, done.text, done.attempts) == (
        Outcome.SENT,
        "doc-1",
        None,
        2,
    )


async def test_text_is_kept_when_the_operator_asks(database_url: str) -> None:
    store = await Store.open(database_url, store_text=True)
    try:
        record = (await store.admit(queued("t"))).record
        await store.take_due(1)
        done = await store.finish(record.request_id, Outcome.SENT, document_id="doc-1")
        assert done.text == "hello"
        refused = NewRecord(**{**queued("r").__dict__, "outcome": Outcome.REFUSED})
        assert (await store.admit(refused)).record.text == "hello"
    finally:
        await store.close()


async def test_a_queued_row_is_claimed_once(store: Store) -> None:
    record = (await store.admit(queued("once"))).record
    claims = await asyncio.gather(*(store.take_due(1) for _ in range(5)))
    assert [r.request_id for batch in claims for r in batch] == [record.request_id]
    assert await store.take_due(10) == []


async def test_a_request_sent_at_once_is_stored_sending_and_never_claimed(store: Store):
    new = NewRecord(**{**queued("now").__dict__, "outcome": Outcome.SENDING})
    record = (await store.admit(new, [cap(5)])).record
    assert (record.outcome, record.attempts, record.text) == (Outcome.SENDING, 1, "hello")
    assert await store.take_due(10) == []
    # Sending ones count against caps like queued ones.
    assert (await store.admit(queued("next"), [cap(1)])).record.outcome == Outcome.REFUSED


async def test_take_due_takes_at_most_the_limit_oldest_first(store: Store) -> None:
    keys = [f"q{i}" for i in range(5)]
    for key in keys:
        await store.admit(queued(key))
    taken = [[r.idempotency_key for r in await store.take_due(n)] for n in (1, 2, 1, 5)]
    assert taken == [keys[:1], keys[1:3], keys[3:4], keys[4:]]


async def test_two_stores_draining_one_outbox_claim_disjoint_rows(database_url: str) -> None:
    one, two = await Store.open(database_url), await Store.open(database_url)
    try:
        for i in range(40):
            await one.admit(queued(f"row{i}"))
        claimed: list[str] = []

        async def drain(store: Store) -> None:
            while batch := await store.take_due(3):
                claimed.extend(r.request_id for r in batch)

        await asyncio.gather(drain(one), drain(two), drain(one), drain(two))
        assert len(claimed) == 40
        assert len(set(claimed)) == 40
    finally:
        await one.close()
        await two.close()


async def test_requeued_rows_wait_until_not_before(store: Store, clock: ManualClock) -> None:
    record = (await store.admit(queued("later"))).record
    [claimed] = await store.take_due(5)
    await store.requeue(claimed.request_id, not_before=clock() + timedelta(hours=1), error="quota")
    assert await store.take_due(5) == []
    clock.advance(timedelta(hours=1))
    [again] = await store.take_due(5)
    assert (again.request_id, again.text, again.attempts) == (record.request_id, "hello", 2)


async def test_stale_sending_rows_become_unknown_and_fresh_ones_stay(store: Store) -> None:
    old = (await store.admit(queued("old"))).record
    new = (await store.admit(queued("new"))).record
    await store.take_due(5)
    await backdate(store, old.request_id, timedelta(minutes=10), column="updated_at")
    expired = await store.expire_stale_sending(utcnow() - timedelta(minutes=5), "process died")
    assert [(r.request_id, r.outcome, r.error, r.text) for r in expired] == [
        (old.request_id, Outcome.UNKNOWN, "process died", None)
    ]
    assert (await store.get(new.request_id)).outcome == Outcome.SENDING
    # A late answer for the row declared unknown is still recorded: it is better information.
    late = await store.finish(old.request_id, Outcome.SENT, document_id="doc-late")
    assert late.outcome == Outcome.SENT


async def test_finishing_a_row_that_is_not_being_sent_is_an_error(store: Store) -> None:
    record = (await store.admit(queued("q"))).record
    with pytest.raises(LookupError, match="not being sent"):
        await store.finish(record.request_id, Outcome.SENT, document_id="x")


async def test_purge_deletes_old_history_but_never_pending_work(
    store: Store, clock: ManualClock
) -> None:
    old_done = (await store.admit(queued("done"))).record
    await store.take_due(1)
    await store.finish(old_done.request_id, Outcome.SENT, document_id="d")
    old_queued = (await store.admit(queued("waiting"))).record
    clock.advance(timedelta(days=100))
    fresh = (await store.admit(queued("fresh"))).record
    assert await store.purge(clock() - timedelta(days=90)) == 1
    assert await store.get(old_done.request_id) is None
    assert await store.get(old_queued.request_id) is not None
    assert await store.get(fresh.request_id) is not None


async def test_claim_is_first_come_until_the_ttl_runs_out(store: Store, clock: ManualClock):
    def claiming(key: str, claim: str):
        return store.admit(queued(key), claim=(claim, 60))

    results = await asyncio.gather(*(claiming(f"c{n}", "alert:fp1") for n in range(8)))
    assert sum(result is not None for result in results) == 1
    assert await claiming("other", "alert:fp2") is not None
    clock.advance(timedelta(seconds=59))
    assert await claiming("early", "alert:fp1") is None
    clock.advance(timedelta(seconds=1))  # the claim has run out
    assert await claiming("after", "alert:fp1") is not None
    assert await claiming("again", "alert:fp1") is None


async def test_count_recent_filters(store: Store) -> None:
    await store.admit(queued("1", actor="U1"))
    await store.admit(queued("2", actor="U2", surface=Surface.GRAFANA))
    refused = NewRecord(**{**queued("3").__dict__, "outcome": Outcome.REFUSED, "rule": "storm"})
    await store.admit(refused)
    since = utcnow() - timedelta(minutes=1)
    assert await store.count_recent(since=since) == 3
    assert await store.count_recent(since=since, actor="U1") == 2
    assert await store.count_recent(since=since, to=NUMBER, surfaces=[Surface.GRAFANA]) == 1
    assert await store.count_recent(since=since, outcomes=[Outcome.REFUSED], rule="storm") == 1
    assert await store.count_recent(since=utcnow() + timedelta(seconds=1)) == 0


async def test_recent_is_newest_first_and_history_is_per_actor(store: Store) -> None:
    for i, actor in enumerate(["U1", "U2", "U1"]):
        await store.admit(queued(f"h{i}", actor=actor))
    recent = await store.recent(10)
    assert [r.idempotency_key for r in recent] == ["h2", "h1", "h0"]
    assert [r.idempotency_key for r in await store.recent(10, actor="U1")] == ["h2", "h0"]
    assert len(await store.recent(1)) == 1


async def test_a_version_1_database_is_upgraded_with_its_rows(database_url: str) -> None:
    from sqlalchemy.ext.asyncio import create_async_engine

    from smsbot.store.urls import engine_target

    target = engine_target(database_url)
    engine = create_async_engine(
        target.url.render(hide_password=False), connect_args=target.connect_args
    )
    try:
        async with engine.begin() as conn:  # a database left by smsbot at schema version 1
            await conn.run_sync(lambda sync: schema_version.create(sync))
            await conn.execute(schema_version.insert().values(version=1))
            for statement in migrations.statements(conn.dialect.name, 1):
                await conn.execute(text(statement))
    finally:
        await engine.dispose()
    store = await Store.open(database_url)
    try:
        async with store.engine.connect() as conn:
            version = (await conn.execute(select(schema_version.c.version))).scalar_one()
            indexes = await conn.run_sync(
                lambda sync: {ix["name"] for ix in inspect(sync).get_indexes("smsbot_sends")}
            )
        assert version == migrations.LATEST
        assert {"ix_smsbot_sends_actor_caps", "ix_smsbot_sends_recipient_caps"} <= indexes
        assert "ix_smsbot_sends_actor_time" not in indexes
        first = await store.admit(queued("k1"), [cap(1)])
        second = await store.admit(queued("k2"), [cap(1)])
        assert (first.record.outcome, second.record.outcome) == (Outcome.QUEUED, Outcome.REFUSED)
    finally:
        await store.close()


async def test_held_back_groups_refusals_of_a_rule_per_number_actor_and_surface(store: Store):
    storm = Cap("storm", "recipient", NUMBER, 1, timedelta(minutes=15), lambda at: "storm", None)
    admitted = [
        await store.admit(
            queued(f"s{n}", actor="alert:on-call", surface=Surface.ALERTMANAGER), [storm]
        )
        for n in range(4)
    ]
    assert [a.record.outcome for a in admitted] == [Outcome.QUEUED] + [Outcome.REFUSED] * 3
    [held] = await store.held_back(
        since=utcnow() - timedelta(minutes=1), rule="storm", surfaces=[Surface.ALERTMANAGER]
    )
    assert (held.recipient, held.actor, held.surface) == (
        NUMBER,
        "alert:on-call",
        Surface.ALERTMANAGER,
    )
    assert held.first_held == admitted[1].record.time
    assert (
        held.retry_at
        == admitted[3].record.retry_at
        == admitted[0].record.time + timedelta(minutes=15)
    )
    assert (
        await store.held_back(since=utcnow(), rule="storm", surfaces=[Surface.ALERTMANAGER]) == []
    )
    assert (
        await store.held_back(
            since=utcnow() - timedelta(minutes=1),
            rule="rate_limit",
            surfaces=[Surface.ALERTMANAGER],
        )
        == []
    )


async def test_rows_are_stamped_by_the_clock_the_store_was_given(database_url: str) -> None:
    from datetime import UTC, datetime

    from smsbot.store import ManualClock

    clock = ManualClock(datetime(2026, 3, 1, 12, 0, tzinfo=UTC))
    store = await Store.open(database_url, clock=clock)
    try:
        first = (await store.admit(queued("a"), [cap(1)])).record
        assert first.time == clock.now
        clock.advance(timedelta(minutes=59))
        assert (await store.admit(queued("b"), [cap(1)])).record.outcome == Outcome.REFUSED
        clock.advance(timedelta(minutes=1, seconds=1))  # the first send has left the window
        assert (await store.admit(queued("c"), [cap(1)])).record.outcome == Outcome.QUEUED
    finally:
        await store.close()
