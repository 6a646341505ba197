"""The statements of the send path, built once per store and run with parameters.

Every SMS runs two of them (admit, finish; a duplicate also reads by key). Building a SQLAlchemy
construct and its cache key on each call costs more CPU than the round trip to the database, so
the hot ones are built here once, with bind parameters, and reused.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import (
    DateTime,
    Insert,
    Integer,
    Select,
    String,
    Text,
    Update,
    and_,
    bindparam,
    exists,
    literal_column,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import ARRAY

from smsbot.sms.request import Outcome, Surface
from smsbot.store.records import COUNTED_OUTCOMES
from smsbot.store.schema import UtcDateTime, claims, deliveries, sends

# What tells two caps' SQL apart: the column counted and the surfaces counted (values vary).
CapShape = tuple[str, frozenset[Surface] | None]


class Statements:
    def __init__(self, *, is_sqlite: bool, store_text: bool) -> None:
        self._insert: Callable[..., Any] = sqlite.insert if is_sqlite else postgresql.insert
        self._capped_inserts: dict[tuple[CapShape, ...], Insert] = {}
        self._counted: dict[CapShape, Select[Any]] = {}
        self._capped_many: dict[tuple[CapShape, ...], Any] = {}
        # Every statement built here, by id: SQLite's writer runs these on the driver itself
        # (`smsbot.store.sqlite_raw`).
        self.hot: dict[int, Any] = {}
        self.insert = self._keep(self._on_conflict(self._insert(sends)))
        self.by_key = self._keep(select(sends).where(sends.c.idempotency_key == bindparam("key")))
        self.by_id = self._keep(select(sends).where(sends.c.id == bindparam("rid")))
        self.by_id_for_update = (
            select(sends).where(sends.c.id == bindparam("rid")).with_for_update()
        )
        self.parts_of = select(deliveries).where(deliveries.c.send_id == bindparam("rid"))
        upsert = self._insert(deliveries)
        self.upsert_part = upsert.on_conflict_do_update(
            index_elements=[deliveries.c.send_id, deliveries.c.part],
            set_={name: upsert.excluded[name] for name in ("status", "code", "reported_at")},
        )
        # Insert the claim, or take it over once expired; RETURNING a row when it was won.
        expires_at = bindparam("expires_at", type_=UtcDateTime)
        self.claim = self._keep(
            self._insert(claims)
            .values(key=bindparam("key"), expires_at=expires_at)
            .on_conflict_do_update(
                index_elements=[claims.c.key],
                set_={"expires_at": expires_at},
                where=claims.c.expires_at <= bindparam("now", type_=UtcDateTime),
            )
            .returning(claims.c.key)
        )
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
        self.finish: Update = self._keep(
            update(sends)
            .where(
                sends.c.id == bindparam("rid"),
                sends.c.outcome.in_(_literals((Outcome.SENDING, Outcome.UNKNOWN))),
            )
            .values(finished)
            .returning(*sends.c)
        )

        # PostgreSQL: the advisory locks of a group's actors and recipients, taken in the
        # order given (sorted by the caller).
        self.lock_subjects = self._keep(
            text(
                "SELECT count(pg_advisory_xact_lock(hashtextextended(u.s, 0))) FROM "
                "(SELECT s FROM unnest(CAST(:subjects AS text[])) WITH ORDINALITY AS t(s, n) "
                "ORDER BY n) AS u"
            ).bindparams(bindparam("subjects", type_=ARRAY(Text)))
        )

        # PostgreSQL: the finishes of one group in one statement (arrays, one row each).
        self.finish_many = (
            text(
                "UPDATE smsbot_sends AS s SET outcome = v.outcome, document_id = v.document_id, "
                "error = v.error, rule = v.rule, retry_at = v.retry_at, updated_at = v.now, "
                "attempts = s.attempts + v.extra" + ("" if store_text else ", text = NULL") + " "
                "FROM unnest(CAST(:rids AS varchar[]), CAST(:outcomes AS varchar[]), "
                "CAST(:document_ids AS varchar[]), CAST(:errors AS text[]), "
                "CAST(:rules AS varchar[]), CAST(:retry_ats AS timestamptz[]), "
                "CAST(:nows AS timestamptz[]), CAST(:extras AS integer[])) "
                "AS v(rid, outcome, document_id, error, rule, retry_at, now, extra) "
                "WHERE s.id = v.rid AND s.outcome IN ('sending', 'unknown') "
                "RETURNING " + ", ".join(f"s.{c.name}" for c in sends.c)
            )
            .bindparams(
                bindparam("rids", type_=ARRAY(String)),
                bindparam("outcomes", type_=ARRAY(String)),
                bindparam("document_ids", type_=ARRAY(String)),
                bindparam("errors", type_=ARRAY(Text)),
                bindparam("rules", type_=ARRAY(String)),
                bindparam("retry_ats", type_=ARRAY(DateTime(timezone=True))),
                bindparam("nows", type_=ARRAY(DateTime(timezone=True))),
                bindparam("extras", type_=ARRAY(Integer)),
            )
            .columns(*sends.c)
        )
        self._keep(self.finish_many)

    def capped_insert_many(self, shapes: tuple[CapShape, ...]) -> Any:
        """PostgreSQL: `capped_insert` for many rows at once, every parameter an array with an
        element per row (`reply` as JSON text); rows whose caps are reached, or whose key is
        known, are left out of RETURNING."""
        if shapes not in self._capped_many:
            columns = [c.name for c in sends.c]
            unnest = [f"CAST(:{c.name} AS {_pg_array(c.type)})" for c in sends.c]
            names = list(columns)
            room = []
            for n, (column, surfaces) in enumerate(shapes):
                unnest += [
                    f"CAST(:cap{n}_value AS varchar[])",
                    f"CAST(:cap{n}_since AS timestamptz[])",
                    f"CAST(:cap{n}_offset AS integer[])",
                ]
                names += [f"cap{n}_value", f"cap{n}_since", f"cap{n}_offset"]
                counted = ", ".join(f"'{o}'" for o in COUNTED_OUTCOMES)
                where = [
                    f"s.{column} = v.cap{n}_value",
                    f"s.created_at >= v.cap{n}_since",
                    f"s.outcome IN ({counted})",
                ]
                if surfaces is not None:
                    where.append(
                        "s.surface IN (" + ", ".join(f"'{x}'" for x in sorted(surfaces)) + ")"
                    )
                room.append(
                    "NOT EXISTS (SELECT s.created_at FROM smsbot_sends AS s WHERE "
                    + " AND ".join(where)
                    + f" ORDER BY s.created_at DESC OFFSET v.cap{n}_offset LIMIT 1)"
                )
            selected = ", ".join(
                "CAST(v.reply AS json)" if c == "reply" else f"v.{c}" for c in columns
            )
            sql = (
                f"INSERT INTO smsbot_sends ({', '.join(columns)}) "
                f"SELECT {selected} FROM unnest({', '.join(unnest)}) AS v({', '.join(names)}) "
                f"WHERE {' AND '.join(room) or 'true'} "
                "ON CONFLICT (idempotency_key) DO NOTHING "
                f"RETURNING {', '.join(columns)}"
            )
            self._capped_many[shapes] = self._keep(text(sql).columns(*sends.c))
        return self._capped_many[shapes]

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
            self._counted[shape] = self._keep(self.counted(shape))
        return self._counted[shape]

    def capped_insert(self, shapes: tuple[CapShape, ...]) -> Insert:
        """Insert the row (every column a parameter) only while none of the caps is reached."""
        if shapes not in self._capped_inserts:
            room = and_(*(~exists(self.counted(shape, n)) for n, shape in enumerate(shapes)))
            row = select(*(bindparam(c.name, type_=c.type).label(c.name) for c in sends.c))
            self._capped_inserts[shapes] = self._keep(
                self._on_conflict(
                    self._insert(sends).from_select([c.name for c in sends.c], row.where(room))
                )
            )
        return self._capped_inserts[shapes]

    def _keep(self, statement: Any) -> Any:
        self.hot[id(statement)] = statement
        return statement

    def _on_conflict(self, stmt: Any) -> Insert:
        return stmt.on_conflict_do_nothing(index_elements=[sends.c.idempotency_key]).returning(
            *sends.c
        )


def _literals(values: Iterable[str]) -> list[Any]:
    """Our own constants as SQL literals: `IN (...)` with a list of values would be an
    "expanding" parameter, re-rendered into the SQL on every execution."""
    return [literal_column(f"'{value}'") for value in values]


def _pg_array(column_type: Any) -> str:
    """The PostgreSQL array type a column's values are passed in, for `unnest`."""
    if isinstance(column_type, Integer):
        return "integer[]"
    if isinstance(column_type, UtcDateTime):
        return "timestamptz[]"
    if isinstance(column_type, String | Text):
        return "text[]"
    return "text[]"  # JSON, passed as text and cast in the SELECT
