"""The tables of `smsbot.store.schema` as SQLAlchemy Core tables, for tools and tests.

With `Store.engine` they read and write the store's tables as SQLAlchemy does, e.g.
`select(sends).where(sends.c.outcome == "queued")`. Made from the schema, so a new column needs
no edit here. The store itself never imports this module (nor SQLAlchemy): serving stays free of
SQLAlchemy's import time and memory.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Dialect,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy.types import TypeDecorator, TypeEngine

from smsbot.store import schema


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out, on both engines, stored as the store stores them.

    PostgreSQL keeps `timestamptz`; SQLite has no time zones, so naive UTC text is stored (its
    fixed-width format still compares correctly in `WHERE created_at >= ...`).
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("smsbot stores aware datetimes only (use datetime.now(UTC))")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _type(column_type: schema.Type) -> TypeEngine[Any] | type[TypeEngine[Any]]:
    if column_type.length is not None:
        return String(column_type.length)
    return {
        schema.INTEGER: Integer,
        schema.TEXT: Text,
        schema.JSON: JSON,
        schema.UTC_TIME: UtcDateTime,
    }[column_type]


def _table(table: schema.Table, into: MetaData) -> Table:
    columns = [
        Column(
            c.name,
            _type(c.type),
            primary_key=c.primary_key,
            nullable=c.nullable,
            unique=c.unique or None,
            default=c.default,
        )
        for c in table.c
    ]
    return Table(table.name, into, *columns)


metadata = MetaData()
schema_version = _table(schema.schema_version, metadata)
sends = _table(schema.sends, metadata)
claims = _table(schema.claims, metadata)
deliveries = _table(schema.deliveries, metadata)
alert_groups = _table(schema.alert_groups, metadata)
alert_phones = _table(schema.alert_phones, metadata)
escalations = _table(schema.escalations, metadata)
inbound = _table(schema.inbound, metadata)
alert_events = _table(schema.alert_events, metadata)
