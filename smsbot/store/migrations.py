"""Creating and upgrading the schema at start-up, safely when several replicas start together.

The database records its version in `smsbot_schema_version`. `upgrade(backend)` runs one write
(`Upgrade`) in the backend's own write transaction: it takes the dialect's migration lock (a
PostgreSQL advisory lock held until commit; on SQLite the write lock of `BEGIN IMMEDIATE` is
already held), reads the version and applies the missing steps of `STEPS` in order. Both
engines have transactional DDL, so a failed step leaves the database as it was. A replica that
starts second waits for the lock and then finds nothing left to do.

Each step is the DDL of one version, given the engine's type of an aware time
(`smsbot.store.schema.UTC_TIME`), written out as the tables were at that version, so that a
fresh database and an upgraded one end up the same. To change the schema: edit `schema.py` and
append a step here. A version that changes what rows hold, not only the tables, adds its fix to
`DATA_FIXES`; it runs after the version's DDL, in the same transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, Protocol

from smsbot.store.alert_groups import shorten_long_group_keys
from smsbot.store.schema import UTC_TIME, schema_version
from smsbot.store.writes import Defaults, Transaction, Write

log = logging.getLogger(__name__)


def _v1_initial(time: str) -> Iterator[str]:
    yield (
        "CREATE TABLE smsbot_sends (id VARCHAR(32) NOT NULL, "
        f"created_at {time} NOT NULL, updated_at {time} NOT NULL, "
        "actor VARCHAR(200) NOT NULL, surface VARCHAR(32) NOT NULL, channel VARCHAR(64), "
        "recipient VARCHAR(20), text_length INTEGER NOT NULL, parts INTEGER, "
        "encoding VARCHAR(8), sender VARCHAR(16), outcome VARCHAR(16) NOT NULL, "
        "rule VARCHAR(32), document_id VARCHAR(64), error TEXT, "
        "idempotency_key VARCHAR(200) NOT NULL, attempts INTEGER NOT NULL, "
        f"reply JSON NOT NULL, text TEXT, retry_at {time}, not_before {time}, "
        "PRIMARY KEY (id), UNIQUE (idempotency_key))"
    )
    # The queries the pipeline runs on every send: rate limits by actor and by recipient within
    # the last hour, the outbox by outcome, retention and `recent()` by time.
    for name, columns in (
        ("actor_time", "actor, created_at"),
        ("recipient_time", "recipient, created_at"),
        ("outcome_time", "outcome, created_at"),
        ("time", "created_at"),
    ):
        yield f"CREATE INDEX ix_smsbot_sends_{name} ON smsbot_sends ({columns})"
    yield (
        f'CREATE TABLE smsbot_claims ("key" VARCHAR(300) NOT NULL, expires_at {time} '
        'NOT NULL, PRIMARY KEY ("key"))'
    )


def _v2_cap_indexes(time: str) -> Iterator[str]:
    """Rate limits and storm caps look for the `maximum`-th newest *counted* send of an actor or
    a number in a window. Indexed by (subject, time) that meant reading every row in the window,
    refusals included: in an alert storm, each new alert read all the alerts refused before it.
    Indexed by (subject, outcome, time) the search reads only counted sends, which a cap keeps
    to about its maximum; with the surface in the index too it never reads the table."""
    for subject in ("actor", "recipient"):
        yield f"DROP INDEX IF EXISTS ix_smsbot_sends_{subject}_time"
        yield (
            f"CREATE INDEX ix_smsbot_sends_{subject}_caps "
            f"ON smsbot_sends ({subject}, outcome, created_at, surface)"
        )


def _v3_delivery(time: str) -> Iterator[str]:
    """Delivery reports: each SMS's delivery state, its time and KPN's failure code, and the
    newest state of each of its parts."""
    for column in ("delivery VARCHAR(16)", f"delivered_at {time}", "delivery_code VARCHAR(8)"):
        yield f"ALTER TABLE smsbot_sends ADD COLUMN {column}"
    yield (
        "CREATE TABLE smsbot_deliveries (send_id VARCHAR(32) NOT NULL, part INTEGER NOT NULL, "
        f"status VARCHAR(16) NOT NULL, code VARCHAR(8), reported_at {time} NOT NULL, "
        "PRIMARY KEY (send_id, part))"
    )


def _v4_alert_groups(time: str) -> Iterator[str]:
    """The on-call loop: alert groups with their state, the phones (and codes) that got each
    group's SMS, and the escalation steps as durable timers."""
    yield (
        "CREATE TABLE smsbot_alert_groups (id VARCHAR(32) NOT NULL, "
        "source VARCHAR(32) NOT NULL, route VARCHAR(200) NOT NULL, "
        "group_key VARCHAR(300) NOT NULL, labels JSON NOT NULL, summary TEXT, "
        "state VARCHAR(16) NOT NULL, episode INTEGER NOT NULL, "
        f"opened_at {time} NOT NULL, updated_at {time} NOT NULL, acked_by VARCHAR(200), "
        f"acked_via VARCHAR(16), acked_at {time}, ack_until {time}, "
        f"silence_id VARCHAR(64), silenced_until {time}, mirror_channel VARCHAR(64), "
        "mirror_ts VARCHAR(32), PRIMARY KEY (id), UNIQUE (source, route, group_key))"
    )
    yield (
        "CREATE TABLE smsbot_alert_phones (group_id VARCHAR(32) NOT NULL, "
        f"phone VARCHAR(20) NOT NULL, code INTEGER NOT NULL, notified_at {time} NOT NULL, "
        "PRIMARY KEY (group_id, phone))"
    )
    # A reply finds the phone's groups by phone.
    yield "CREATE INDEX ix_smsbot_alert_phones_phone ON smsbot_alert_phones (phone)"
    yield (
        "CREATE TABLE smsbot_escalations (group_id VARCHAR(32) NOT NULL, "
        f"episode INTEGER NOT NULL, step INTEGER NOT NULL, due_at {time} NOT NULL, "
        f"step_state VARCHAR(16) NOT NULL, lease_until {time}, fired_at {time}, "
        "PRIMARY KEY (group_id, episode, step))"
    )
    # The timer loop looks for due steps.
    yield "CREATE INDEX ix_smsbot_escalations_due ON smsbot_escalations (step_state, due_at)"


def _v5_inbound(time: str) -> Iterator[str]:
    """Two-way SMS: the Slack message each SMS is discussed under, and the SMS phones send to
    the reply number (one row per KPN message_id)."""
    for column in ("slack_channel VARCHAR(64)", "slack_ts VARCHAR(32)"):
        yield f"ALTER TABLE smsbot_sends ADD COLUMN {column}"
    yield (
        "CREATE TABLE smsbot_inbound (id VARCHAR(32) NOT NULL, "
        f"message_id VARCHAR(256) NOT NULL, received_at {time} NOT NULL, "
        f"updated_at {time} NOT NULL, sent_at {time}, sender VARCHAR(64) NOT NULL, "
        "recipient VARCHAR(64) NOT NULL, text_length INTEGER NOT NULL, text TEXT, "
        "outcome VARCHAR(16) NOT NULL, handler VARCHAR(32), conversation VARCHAR(32), "
        "slack_channel VARCHAR(64), slack_ts VARCHAR(32), "
        "PRIMARY KEY (id), UNIQUE (message_id))"
    )
    # The rate limit counts one phone's recent messages; the audit lists by time.
    yield "CREATE INDEX ix_smsbot_inbound_sender ON smsbot_inbound (sender, received_at)"
    yield "CREATE INDEX ix_smsbot_inbound_time ON smsbot_inbound (received_at)"


def _v6_alert_phones(time: str) -> Iterator[str]:
    """Who each paged phone belongs to (a name for "acknowledged by ..."), and its newest SMS
    of the group (the delivery shown per recipient on the group's Slack message)."""
    for column in ("name VARCHAR(200)", "send_id VARCHAR(32)"):
        yield f"ALTER TABLE smsbot_alert_phones ADD COLUMN {column}"


def _v7_alert_events(time: str) -> Iterator[str]:
    """The audit of what people did to alert groups, read per group in order."""
    yield (
        "CREATE TABLE smsbot_alert_events (id VARCHAR(32) NOT NULL, "
        "group_id VARCHAR(32) NOT NULL, episode INTEGER NOT NULL, "
        f"at {time} NOT NULL, actor VARCHAR(200) NOT NULL, via VARCHAR(16) NOT NULL, "
        "action VARCHAR(16) NOT NULL, detail TEXT, PRIMARY KEY (id))"
    )
    yield "CREATE INDEX ix_smsbot_alert_events_group ON smsbot_alert_events (group_id, at)"


def _v8_resend(time: str) -> Iterator[str]:
    """An alert SMS's repeat when its send stays `unknown`: its due time, and the repeat's link
    to the SMS it repeats."""
    yield f"ALTER TABLE smsbot_sends ADD COLUMN resend_at {time}"
    yield "ALTER TABLE smsbot_sends ADD COLUMN repeat_of VARCHAR(32)"
    # The resend loop looks for due repeats; only the few rows owing one are indexed.
    yield (
        "CREATE INDEX ix_smsbot_sends_resend ON smsbot_sends (resend_at) "
        "WHERE resend_at IS NOT NULL"
    )


def _v9_long_group_keys(time: str) -> Iterator[str]:
    """No DDL: a group key longer than its column is stored as its head and a digest from now
    on, and the keys stored whole before are shortened so (`DATA_FIXES`)."""
    return iter(())


STEPS: tuple[Callable[[str], Iterator[str]], ...] = (
    _v1_initial,
    _v2_cap_indexes,
    _v3_delivery,
    _v4_alert_groups,
    _v5_inbound,
    _v6_alert_phones,
    _v7_alert_events,
    _v8_resend,
    _v9_long_group_keys,
)
LATEST = len(STEPS)

# What a version changes in the rows, after its DDL, in the same transaction.
DATA_FIXES: dict[int, Callable[[Transaction], Awaitable[None]]] = {9: shorten_long_group_keys}

_VERSION = schema_version.name
_CREATE_VERSION = f"CREATE TABLE IF NOT EXISTS {_VERSION} (version INTEGER NOT NULL)"
_FIRST_VERSION = (
    f"INSERT INTO {_VERSION} (version) SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM {_VERSION})"
)


def statements(engine: str, step: int) -> list[str]:
    """The DDL of version `step` (1-based) on `engine` (a dialect name: sqlite, postgresql)."""
    return list(STEPS[step - 1](UTC_TIME.ddl(engine)))


class Upgrade(Defaults):
    """Bring the schema to `LATEST` in one transaction; (version before, version after)."""

    several_statements = True  # all or nothing

    async def run(self, tx: Transaction) -> tuple[int, int]:
        dialect = tx.sql.dialect
        if dialect.migration_lock:
            await tx.fetch(dialect.migration_lock, {})
        await tx.execute(_CREATE_VERSION, {})
        await tx.execute(_FIRST_VERSION, {})
        rows = await tx.fetch(f"SELECT version FROM {_VERSION}", {})
        current = rows[0]["version"]
        if current > LATEST:
            raise RuntimeError(
                f"the database schema is version {current}, newer than this smsbot knows "
                f"({LATEST}); run the newer smsbot release or restore a matching database"
            )
        for number in range(current + 1, LATEST + 1):
            for statement in statements(dialect.name, number):
                await tx.execute(statement, {})
            if number in DATA_FIXES:
                await DATA_FIXES[number](tx)
        if current != LATEST:
            await tx.execute(f"UPDATE {_VERSION} SET version = {LATEST}", {})
        return current, LATEST


class _Writes(Protocol):
    async def run_together(self, writes: list[Write]) -> list[Any]: ...


async def upgrade(backend: _Writes) -> int:
    """Bring the schema to `LATEST`; returns the version the database had before."""
    [(before, after)] = await backend.run_together([Upgrade()])
    if before != after:
        log.info("database schema upgraded from version %d to %d", before, after)
    return before
