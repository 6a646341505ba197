"""SQLAlchemy statements compiled once for a driver, for the two raw executors.

`smsbot.store.sqlite_raw` and `smsbot.store.postgres_raw` run the send path's statements on the
database driver itself. Both need the same thing from SQLAlchemy: a statement `Statements` built
once, compiled for the driver's dialect into SQL with positional placeholders (`?` for sqlite3,
`$n` for asyncpg) and the names of its parameters in placeholder order.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Dialect, Executable


@dataclass(frozen=True)
class Compiled:
    statement: Executable  # held, so its id() cannot be reused by another object
    sql: str
    names: tuple[str, ...]  # the bind parameters, in placeholder order
    defaults: Mapping[str, Any]  # values the statement carries itself (e.g. `text = NULL`)

    def args(self, params: Mapping[str, Any] | None, bind: Callable[[Any], Any]) -> list[Any]:
        """The driver's positional arguments, each value passed through `bind`."""
        values = params or {}
        try:
            return [
                bind(values[name] if name in values else self.defaults[name]) for name in self.names
            ]
        except KeyError as missing:
            raise KeyError(f"a value is required for bind parameter {missing}") from None


class CompiledStatements:
    def __init__(self, dialect: Dialect, hot: Mapping[int, Executable]) -> None:
        self._dialect = dialect
        self._hot = hot  # id -> statement: the ones `Statements` built once and reuses
        self._compiled: dict[int, Compiled] = {}

    def get(self, statement: Executable) -> Compiled | None:
        """`statement` compiled (on first use), or None when it is not one built once."""
        compiled = self._compiled.get(id(statement))
        if compiled is not None and compiled.statement is statement:
            return compiled
        if self._hot.get(id(statement)) is not statement:
            return None
        sql = statement.compile(dialect=self._dialect)  # type: ignore[attr-defined]
        if sql.positiontup is None:
            raise TypeError(f"{self._dialect.name}: expected positional bind parameters")
        if sql.literal_execute_params or sql.post_compile_params:
            raise TypeError("statements with expanding parameters are compiled per execution")
        # Only values the statement carries itself (`text = NULL`); a parameter the caller
        # must give and did not is an error, as in SQLAlchemy, not a silent NULL.
        defaults = {
            name: value for name, value in sql.params.items() if not sql.binds[name].required
        }
        compiled = Compiled(statement, sql.string, tuple(sql.positiontup), defaults)
        self._compiled[id(statement)] = compiled
        return compiled

    def __len__(self) -> int:
        return len(self._compiled)
