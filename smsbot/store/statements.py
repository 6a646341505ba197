"""The statements of the send path, built once per store and run with parameters.

Every SMS runs two of them (admit, finish; a duplicate also reads by key). Building a SQLAlchemy
construct and its cache key on each call costs more CPU than the round trip to the database, so
the hot ones are built here once, with bind parameters, and reused.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import (
    Insert,
    Integer,
    Select,
    Update,
    and_,
    bindparam,
    exists,
    literal_column,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from smsbot.sms.request import Outcome, Surface
from smsbot.store.records import COUNTED_OUTCOMES
from smsbot.store.schema import UtcDateTime, sends

# What tells two caps' SQL apart: the column counted and the surfaces counted (values vary).
CapShape = tuple[str, frozenset[Surface] | None]


class Statements:
    def __init__(self, *, is_sqlite: bool, store_text: bool) -> None:
        self._insert: Callable[..., Any] = sqlite.insert if is_sqlite else postgresql.insert
        self._capped_inserts: dict[tuple[CapShape, ...], Insert] = {}
        self._counted: dict[CapShape, Select[Any]] = {}
        self.insert = self._on_conflict(self._insert(sends))
        self.by_key = select(sends).where(sends.c.idempotency_key == bindparam("key"))
        self.by_id = select(sends).where(sends.c.id == bindparam("rid"))
        finished: dict[str, Any] = {
            "outcome": bindparam("outcome"),
            "document_id": bindparam("document_id"),
            "error": bindparam("error"),
            "rule": bindparam("rule"),
            "retry_at": bindparam("retry_at", type_=UtcDateTime),
            "updated_at": bindparam("now", type_=UtcDateTime),
            "attempts": sends.c.attempts + bindparam("extra_attempts", type_=Integer),
        }
        if not store_text:
            finished["text"] = None
        self.finish: Update = (
            update(sends)
            .where(
                sends.c.id == bindparam("rid"),
                sends.c.outcome.in_(_literals((Outcome.SENDING, Outcome.UNKNOWN))),
            )
            .values(finished)
            .returning(*sends.c)
        )

    def counted(self, shape: CapShape, n: int = 0) -> Select[Any]:
        """The `offset + 1`-th newest counted send of one subject since `since` (parameters
        `cap{n}_value`, `cap{n}_since`, `cap{n}_offset`)."""
        column, surfaces = shape
        query = (
            select(sends.c.created_at)
            .where(
                sends.c[column] == bindparam(f"cap{n}_value"),
                sends.c.created_at >= bindparam(f"cap{n}_since", type_=UtcDateTime),
                sends.c.outcome.in_(_literals(COUNTED_OUTCOMES)),
            )
            .order_by(sends.c.created_at.desc())
            .offset(bindparam(f"cap{n}_offset", type_=Integer))
            .limit(1)
        )
        if surfaces is not None:
            query = query.where(sends.c.surface.in_(_literals(sorted(surfaces))))
        return query.correlate(None)

    def counted_for(self, shape: CapShape) -> Select[Any]:
        if shape not in self._counted:
            self._counted[shape] = self.counted(shape)
        return self._counted[shape]

    def capped_insert(self, shapes: tuple[CapShape, ...]) -> Insert:
        """Insert the row (every column a parameter) only while none of the caps is reached."""
        if shapes not in self._capped_inserts:
            room = and_(*(~exists(self.counted(shape, n)) for n, shape in enumerate(shapes)))
            row = select(*(bindparam(c.name, type_=c.type).label(c.name) for c in sends.c))
            self._capped_inserts[shapes] = self._on_conflict(
                self._insert(sends).from_select([c.name for c in sends.c], row.where(room))
            )
        return self._capped_inserts[shapes]

    def _on_conflict(self, stmt: Any) -> Insert:
        return stmt.on_conflict_do_nothing(index_elements=[sends.c.idempotency_key]).returning(
            *sends.c
        )


def _literals(values: Iterable[str]) -> list[Any]:
    """Our own constants as SQL literals: `IN (...)` with a list of values would be an
    "expanding" parameter, re-rendered into the SQL on every execution."""
    return [literal_column(f"'{value}'") for value in values]
