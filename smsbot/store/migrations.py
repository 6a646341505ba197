"""Creating and upgrading the schema at start-up, safely when several replicas start together.

The database records its version in `smsbot_schema_version`. `upgrade()` takes a lock (a
PostgreSQL advisory lock held until commit; on SQLite the write lock of `BEGIN IMMEDIATE`), reads
the version and applies the missing steps of `STEPS` in order, all in one transaction: both
engines have transactional DDL, so a failed step leaves the database as it was. A replica that
starts second waits for the lock and then finds nothing left to do.

Each step freezes the tables as they were at that version, so that a fresh database and an
upgraded one end up the same. To change the schema: edit `schema.py` and append a step here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import (
    JSON,
    Column,
    Connection,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    insert,
    inspect,
    select,
    text,
    update,
)
from sqlalchemy.ext.asyncio import AsyncEngine

from smsbot.store.schema import UtcDateTime, schema_version

log = logging.getLogger(__name__)

# Any fixed number works; it only has to differ from other advisory locks in the same database.
_PG_MIGRATION_LOCK = 0x5_35_42_07


def _v1_initial(conn: Connection) -> None:
    md = MetaData()
    sends = Table(
        "smsbot_sends",
        md,
        Column("id", String(32), primary_key=True),
        Column("created_at", UtcDateTime, nullable=False),
        Column("updated_at", UtcDateTime, nullable=False),
        Column("actor", String(200), nullable=False),
        Column("surface", String(32), nullable=False),
        Column("channel", String(64)),
        Column("recipient", String(20)),
        Column("text_length", Integer, nullable=False),
        Column("parts", Integer),
        Column("encoding", String(8)),
        Column("sender", String(16)),
        Column("outcome", String(16), nullable=False),
        Column("rule", String(32)),
        Column("document_id", String(64)),
        Column("error", Text),
        Column("idempotency_key", String(200), nullable=False, unique=True),
        Column("attempts", Integer, nullable=False),
        Column("reply", JSON, nullable=False),
        Column("text", Text),
        Column("retry_at", UtcDateTime),
        Column("not_before", UtcDateTime),
    )
    # The queries the pipeline runs on every send: rate limits by actor and by recipient within
    # the last hour, the outbox by outcome, retention and `recent()` by time.
    Index("ix_smsbot_sends_actor_time", sends.c.actor, sends.c.created_at)
    Index("ix_smsbot_sends_recipient_time", sends.c.recipient, sends.c.created_at)
    Index("ix_smsbot_sends_outcome_time", sends.c.outcome, sends.c.created_at)
    Index("ix_smsbot_sends_time", sends.c.created_at)
    Table(
        "smsbot_claims",
        md,
        Column("key", String(300), primary_key=True),
        Column("expires_at", UtcDateTime, nullable=False),
    )
    md.create_all(conn)


def _v2_cap_indexes(conn: Connection) -> None:
    """Rate limits and storm caps look for the `maximum`-th newest *counted* send of an actor or
    a number in a window. Indexed by (subject, time) that meant reading every row in the window,
    refusals included: in an alert storm, each new alert read all the alerts refused before it.
    Indexed by (subject, outcome, time) the search reads only counted sends, which a cap keeps
    to about its maximum; with the surface in the index too it never reads the table."""
    for subject in ("actor", "recipient"):
        conn.execute(text(f"DROP INDEX IF EXISTS ix_smsbot_sends_{subject}_time"))
        conn.execute(
            text(
                f"CREATE INDEX ix_smsbot_sends_{subject}_caps "
                f"ON smsbot_sends ({subject}, outcome, created_at, surface)"
            )
        )


def _v3_delivery(conn: Connection) -> None:
    """Delivery reports: each SMS's delivery state, its time and KPN's failure code, and the
    newest state of each of its parts."""
    for column in (
        Column("delivery", String(16)),
        Column("delivered_at", UtcDateTime),
        Column("delivery_code", String(8)),
    ):
        kind = column.type.compile(dialect=conn.dialect)
        conn.execute(text(f"ALTER TABLE smsbot_sends ADD COLUMN {column.name} {kind}"))
    md = MetaData()
    Table(
        "smsbot_deliveries",
        md,
        Column("send_id", String(32), primary_key=True),
        Column("part", Integer, primary_key=True),
        Column("status", String(16), nullable=False),
        Column("code", String(8)),
        Column("reported_at", UtcDateTime, nullable=False),
    )
    md.create_all(conn)


def _is_postgres(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql"


STEPS: tuple[Callable[[Connection], None], ...] = (_v1_initial, _v2_cap_indexes, _v3_delivery)
LATEST = len(STEPS)


def _upgrade(conn: Connection) -> tuple[int, int]:
    if _is_postgres(conn):
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK})
    if not inspect(conn).has_table(schema_version.name):
        schema_version.create(conn)
        conn.execute(insert(schema_version).values(version=0))
    current = conn.execute(select(schema_version.c.version)).scalar_one()
    if current > LATEST:
        raise RuntimeError(
            f"the database schema is version {current}, newer than this smsbot knows "
            f"({LATEST}); run the newer smsbot release or restore a matching database"
        )
    for number in range(current + 1, LATEST + 1):
        STEPS[number - 1](conn)
    if current != LATEST:
        conn.execute(update(schema_version).values(version=LATEST))
    return current, LATEST


async def upgrade(engine: AsyncEngine) -> int:
    """Bring the schema to `LATEST`; returns the version the database had before."""
    async with engine.begin() as conn:
        before, after = await conn.run_sync(_upgrade)
    if before != after:
        log.info("database schema upgraded from version %d to %d", before, after)
    return before
