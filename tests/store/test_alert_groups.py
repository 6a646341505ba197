"""Alert groups, their phones' codes and escalation steps in the store, on both engines."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import timedelta

from smsbot.store import ManualClock, Store, migrations
from smsbot.store.alert_groups import GroupAction, GroupState, StepState
from smsbot.store.schema import alert_groups, schema_version

A, B = "+31612345678", "+31687654321"
LABELS = {"alertname": "HighCPU", "team": "db"}
STEPS = (timedelta(minutes=5), timedelta(minutes=15))


async def observe(store: Store, key: str = "g1", *, firing: bool = True):
    return await store.observe_group(
        source="alertmanager",
        route="db",
        group_key=key,
        labels=LABELS,
        firing=firing,
        steps=STEPS,
        mirror_channel="C1",
    )


async def test_a_group_opens_once_and_a_resolve_closes_it(database_url: str) -> None:
    store = await Store.open(database_url, clock=ManualClock())
    try:
        first, again = await asyncio.gather(observe(store), observe(store))
        assert sorted([first.opened, again.opened]) == [False, True]
        assert first.group.id == again.group.id
        assert (first.group.state, first.group.labels) == (GroupState.FIRING, LABELS)
        steps = await store.steps_of_group(first.group.id)
        assert [(s.step, s.step_state) for s in steps] == [(0, StepState.PENDING), (1, "pending")]
        closed = await observe(store, firing=False)
        assert closed.resolved and closed.group.state is GroupState.RESOLVED
        assert {s.step_state for s in await store.steps_of_group(first.group.id)} == {"cancelled"}
        reopened = await observe(store)
        assert reopened.opened and reopened.group.episode == 2
        assert await observe(store, "never-fired", firing=False) is None
    finally:
        await store.close()


async def test_codes_are_the_lowest_free_per_phone_and_freed_by_resolve(store: Store) -> None:
    g1, g2, g3 = [(await observe(store, key)).group for key in ("g1", "g2", "g3")]
    assert await store.assign_code(g1.id, A) == 1
    assert await store.assign_code(g2.id, A) == 2
    assert await store.assign_code(g2.id, B) == 1  # codes are per phone
    assert await store.assign_code(g1.id, A) == 1  # kept
    await observe(store, "g1", firing=False)
    assert await store.assign_code(g3.id, A) == 1  # g1's code is free again
    assert [(code, g.group_key) for code, g in await store.groups_of_phone(A)] == [
        (2, "g2"),
        (1, "g3"),
    ]
    assert await store.phones_of_group(g2.id) == {A: 2, B: 1}


async def test_concurrent_codes_for_one_phone_differ(store: Store) -> None:
    groups = [(await observe(store, f"g{n}")).group for n in range(6)]
    codes = await asyncio.gather(*(store.assign_code(g.id, A) for g in groups))
    assert sorted(codes) == [1, 2, 3, 4, 5, 6]


async def test_steps_are_due_once_each_and_stopped_by_an_acknowledgement(
    database_url: str,
) -> None:
    clock = ManualClock()
    store = await Store.open(database_url, clock=clock)
    try:
        group = (await observe(store)).group
        assert await store.take_due_steps(timedelta(minutes=1)) == []
        clock.advance(timedelta(minutes=5))
        taken = await asyncio.gather(
            *(store.take_due_steps(timedelta(minutes=1)) for _ in range(4))
        )
        steps = [step for batch in taken for step in batch]
        assert [(s.group_id, s.step) for s in steps] == [(group.id, 0)]
        # Its taker died: after the lease the step is due again, and finished once.
        clock.advance(timedelta(minutes=2))
        [retaken] = await store.take_due_steps(timedelta(minutes=1))
        assert retaken.step == 0
        assert await store.finish_step(retaken, StepState.FIRED)
        assert not await store.finish_step(retaken, StepState.FIRED)
        acked = await store.change_group(
            group.id,
            {"state": GroupState.ACKNOWLEDGED, "acked_by": "Alice", "acked_at": clock()},
            stops_escalation=True,
        )
        assert acked.state is GroupState.ACKNOWLEDGED and acked.acked_by == "Alice"
        clock.advance(timedelta(hours=1))
        assert await store.take_due_steps(timedelta(minutes=1)) == []
        states = [s.step_state for s in await store.steps_of_group(group.id)]
        assert states == [StepState.FIRED, StepState.CANCELLED]
    finally:
        await store.close()


async def test_a_paged_phone_keeps_its_owners_name_and_newest_sms(store: Store) -> None:
    group = (await observe(store)).group
    assert await store.assign_code(group.id, A, "alice") == 1
    assert await store.assign_code(group.id, B) == 1
    assert await store.assign_code(group.id, A) == 1  # the name is kept
    assert await store.name_of_phone(A) == "alice"
    assert await store.name_of_phone(B) is None
    [a, b] = sorted(await store.paged_phones(group.id), key=lambda p: p.phone)
    assert (a.phone, a.code, a.name, a.outcome, a.delivery) == (A, 1, "alice", None, None)
    assert b.phone == B


async def test_a_lapsed_silence_ends_with_the_next_notification(database_url: str) -> None:
    clock = ManualClock()
    store = await Store.open(database_url, clock=clock)
    try:
        group = (await observe(store)).group
        ends = clock() + timedelta(hours=1)
        changes = {"state": GroupState.SILENCED, "silence_id": "s1", "silenced_until": ends}
        await store.change_group(group.id, changes, stops_escalation=True)
        assert (await observe(store)).group.state is GroupState.SILENCED  # still silenced
        clock.advance(timedelta(hours=2))
        after = (await observe(store)).group
        assert (after.state, after.silence_id, after.silenced_until) == (
            GroupState.FIRING,
            None,
            None,
        )
    finally:
        await store.close()


async def test_retention_drops_resolved_groups_with_their_steps_and_actions(
    database_url: str,
) -> None:
    clock = ManualClock()
    store = await Store.open(database_url, clock=clock)
    try:
        old = (await observe(store, "old")).group
        await store.change_group(
            old.id, {"acked_by": "Alice"}, audit=GroupAction("U1", "slack", "acknowledged")
        )
        await observe(store, "old", firing=False)
        still_open = (await observe(store, "open")).group
        clock.advance(timedelta(days=100))
        await store.purge(clock() - timedelta(days=90))
        assert await store.alert_group(old.id) is None
        assert await store.steps_of_group(old.id) == []
        assert await store.group_actions(old.id) == []
        kept = await store.alert_group(still_open.id)
        assert kept is not None and kept.is_open
        assert [s.step_state for s in await store.steps_of_group(still_open.id)] == [
            StepState.PENDING,
            StepState.PENDING,
        ]
    finally:
        await store.close()


async def test_a_group_key_longer_than_its_column_still_names_one_group(store: Store) -> None:
    # `group_by: ['...']` puts every label in Alertmanager's group key, which has no limit.
    long_key = "{}:{" + ", ".join(f'label{n}="{"v" * 40}"' for n in range(40)) + "}"
    twin = long_key[:-2] + 'X"}'  # the same but for its end
    first, again = await observe(store, long_key), await observe(store, long_key)
    assert (first.opened, again.opened, again.group.id) == (True, False, first.group.id)
    assert len(first.group.group_key) == alert_groups.c.group_key.type.length == 300
    assert first.group.group_key.startswith(long_key[:200])
    other = await observe(store, twin)
    assert other.opened and other.group.id != first.group.id
    closed = await observe(store, long_key, firing=False)
    assert closed.resolved and closed.group.id == first.group.id
    assert (await store.alert_group(other.group.id)).state is GroupState.FIRING


async def test_a_long_group_key_stored_whole_by_an_earlier_release_is_found(
    sqlite_url: str,
) -> None:
    # Only SQLite could hold one (it does not enforce varchar lengths; PostgreSQL refused it).
    long_key = "{}:{" + "x" * 500 + "}"
    path = sqlite_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as db:
        db.execute(f"CREATE TABLE {schema_version.name} (version INTEGER NOT NULL)")
        db.execute(f"INSERT INTO {schema_version.name} VALUES (8)")
        for version in range(1, 9):
            for statement in migrations.statements("sqlite", version):
                db.execute(statement)
        db.execute(
            "INSERT INTO smsbot_alert_groups (id, source, route, group_key, labels, state, "
            "episode, opened_at, updated_at) VALUES ('old', 'alertmanager', 'db', ?, '{}', "
            "'firing', 1, '2026-12-01 10:00:00.000000', '2026-12-01 10:00:00.000000')",
            (long_key,),
        )
    db.close()
    store = await Store.open(sqlite_url, clock=ManualClock())
    try:
        again = await observe(store, long_key)
        assert (again.opened, again.group.id) == (False, "old")
        assert again.group.group_key == alert_groups.c.group_key.fitted(long_key)
    finally:
        await store.close()
