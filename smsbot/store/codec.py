"""Values between Python and each engine's driver, derived from the schema's column types.

Parameters are converted by their Python type: an aware datetime to what the engine stores
(SQLite has no time zones: naive UTC text with six digits of microseconds, which compares
correctly as text; PostgreSQL keeps `timestamptz`), a dict to JSON text, an enum to its value,
a list (a PostgreSQL array, for the batched statements) element by element. A naive datetime is
refused: it would be read as local time.

Result columns are converted by name: every column of every table in `smsbot.store.schema` has a
kind taken from its type (`utc_time`, `json`, or a plain value the driver already gives as
Python wants it), so a new column needs nothing here. Queries name their computed columns after
the column they come from (`min(created_at) AS created_at`) to be read the same way.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from smsbot.store.schema import TABLES, Kind, Table


def column_kinds(tables: Iterable[Table]) -> dict[str, Kind]:
    """Each column name's kind; a name must mean one kind in every table it appears in."""
    kinds: dict[str, Kind] = {}
    for table in tables:
        for column in table.c:
            kind = column.type.kind
            if kinds.setdefault(column.name, kind) is not kind:
                raise TypeError(f"column {column.name!r} is {kinds[column.name]} and {kind}")
    return kinds


# Values the drivers take as they are; one set look-up spares them the checks below.
_AS_IS = frozenset({str, int, float, bool, type(None)})


@dataclass(frozen=True)
class Codec:
    datetime_out: Callable[[datetime], Any]  # an aware UTC datetime, as the driver takes it
    datetime_in: Callable[[Any], datetime]  # what the driver gives, as an aware UTC datetime
    kinds: Mapping[str, Kind] = field(default_factory=lambda: column_kinds(TABLES))

    def bind(self, value: Any) -> Any:
        kind = type(value)
        if kind in _AS_IS:
            return value
        if kind is list or kind is tuple:
            return [self.bind(item) for item in value]
        if isinstance(value, datetime):
            if value.tzinfo is None:
                raise ValueError("smsbot stores aware datetimes only (use datetime.now(UTC))")
            return self.datetime_out(value.astimezone(UTC))
        if isinstance(value, enum.Enum):
            return value.value
        if isinstance(value, dict | Mapping):
            return json.dumps(dict(value))
        return value

    _readers: dict[tuple[str, ...], Callable[[Sequence[Any]], dict[str, Any]]] = field(
        default_factory=dict, repr=False, compare=False
    )

    def reader(self, names: Sequence[str]) -> Callable[[Sequence[Any]], dict[str, Any]]:
        """Turns one result row with these column names into a dict of Python values."""
        key = tuple(names)
        if key not in self._readers:
            self._readers[key] = self._reader(key)
        return self._readers[key]

    def _reader(self, names: tuple[str, ...]) -> Callable[[Sequence[Any]], dict[str, Any]]:
        convert = {Kind.DATETIME: self.datetime_in, Kind.JSON: _json_in}
        plan = [
            (name, convert[kind])
            for name in names
            if (kind := self.kinds.get(name, Kind.PLAIN)) is not Kind.PLAIN
        ]

        def read(values: Sequence[Any]) -> dict[str, Any]:
            row = dict(zip(names, values, strict=True))
            for name, to_python in plan:
                if row[name] is not None:
                    row[name] = to_python(row[name])
            return row

        return read


def _json_in(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str | bytes) else value


def sqlite_datetime(value: datetime) -> str:
    """SQLite's stored form: naive UTC text, always with microseconds (as SQLAlchemy writes it)."""
    return value.replace(tzinfo=None).isoformat(" ", "microseconds")


def sqlite_datetime_in(value: str) -> datetime:
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


def _aware_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


SQLITE = Codec(datetime_out=sqlite_datetime, datetime_in=sqlite_datetime_in)
POSTGRES = Codec(datetime_out=lambda value: value, datetime_in=_aware_utc)
