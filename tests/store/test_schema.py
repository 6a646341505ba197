"""The schema as declared (`smsbot.store.schema`) is the schema the migrations build, on both
engines: a new column is declared in the schema and added by a migration step, and this test
fails when either is forgotten (its values then reach the record type by name, see README)."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect

from smsbot.alerts.routing import MIRROR_CHANNEL_CHARACTERS, ROUTE_NAME_CHARACTERS
from smsbot.alerts.silences import SILENCE_ID_CHARACTERS
from smsbot.cli.send_cmd import OS_USER_CHARACTERS
from smsbot.store import Store, schema


def _columns(sync_conn, table: schema.Table) -> list[tuple[str, str, bool]]:
    dialect = sync_conn.dialect
    return [
        (c["name"], str(c["type"].compile(dialect=dialect)), c["nullable"])
        for c in inspect(sync_conn).get_columns(table.name)
    ]


async def test_the_migrated_tables_are_the_declared_ones(database_url: str) -> None:
    store = await Store.open(database_url)
    try:
        async with store.engine.connect() as conn:
            engine = conn.dialect.name
            for table in schema.TABLES:
                found = await conn.run_sync(_columns, table)
                declared = [(c.name, c.type.ddl(engine), c.nullable) for c in table.c]
                assert found == declared, table.name
    finally:
        await store.close()


def test_a_column_line_reads_as_ddl() -> None:
    table = schema.Table(
        "t",
        """
        id    varchar(32)  primary key  -- a comment
        at    utc_time     not null
        n     integer      not null default 0
        key   varchar(8)   not null unique
        note  text
        """,
    )
    assert [(c.name, c.type.ddl("postgresql")) for c in table.c] == [
        ("id", "VARCHAR(32)"),
        ("at", "TIMESTAMP WITH TIME ZONE"),
        ("n", "INTEGER"),
        ("key", "VARCHAR(8)"),
        ("note", "TEXT"),
    ]
    assert table.c.at.type.ddl("sqlite") == "DATETIME"
    assert (table.c.id.primary_key, table.c.id.nullable) == (True, False)
    assert (table.c.n.default, table.c.key.unique, table.c.note.nullable) == (0, True, True)


@pytest.mark.parametrize(
    ("line", "says"),
    [("x  varchar  not null", "unknown column type"), ("x  text  nullable", "is not primary")],
)
def test_a_mistyped_column_line_is_refused(line: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        schema.Table("t", line)


def test_the_bounds_at_the_edges_fit_the_columns_they_fill() -> None:
    # Checked where the values come in, so that PostgreSQL never has to refuse them.
    assert SILENCE_ID_CHARACTERS == schema.alert_groups.c.silence_id.type.length
    assert MIRROR_CHANNEL_CHARACTERS == schema.alert_groups.c.mirror_channel.type.length
    actor = schema.sends.c.actor.type.length
    assert len("alert-reply:") + ROUTE_NAME_CHARACTERS <= actor
    assert ROUTE_NAME_CHARACTERS <= schema.alert_groups.c.route.type.length
    assert len("cli:") + OS_USER_CHARACTERS <= actor
