"""`SMSBOT_DATABASE_URL` as operators write it, turned into what SQLAlchemy's async drivers need.

Operators write `sqlite:///smsbot.db` or `postgresql://user@host/db`; the async engine needs
`sqlite+aiosqlite://` and `postgresql+asyncpg://`. PostgreSQL URLs may carry
`?search_path=NAME` to keep smsbot's tables in a schema of their own (asyncpg takes it as a server
setting, not as a connect argument, so it is moved there).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from smsbot.errors import ConfigurationError

_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg"}
_EXAMPLES = "sqlite:///smsbot.db or postgresql://user:password@host:5432/smsbot"


@dataclass(frozen=True)
class EngineTarget:
    url: URL
    connect_args: dict[str, Any] = field(default_factory=dict)

    @property
    def is_sqlite(self) -> bool:
        return self.url.get_backend_name() == "sqlite"


def engine_target(database_url: str) -> EngineTarget:
    """Raises `ConfigurationError` naming `SMSBOT_DATABASE_URL` when the URL cannot be used."""
    try:
        url = make_url(database_url)
    except ArgumentError as exc:
        raise ConfigurationError(
            f"SMSBOT_DATABASE_URL is not a database URL; use {_EXAMPLES}."
        ) from exc
    backend = url.get_backend_name()
    if backend == "postgres":  # an old spelling some hosting platforms still hand out
        backend = "postgresql"
    if backend not in _DRIVERS:
        raise ConfigurationError(
            f"SMSBOT_DATABASE_URL uses {backend!r}; smsbot stores its data in SQLite or "
            f"PostgreSQL: use {_EXAMPLES}."
        )
    url = url.set(drivername=_DRIVERS[backend])
    if backend == "sqlite":
        if url.database in (None, "", ":memory:"):
            raise ConfigurationError(
                "SMSBOT_DATABASE_URL names an in-memory SQLite database, which would lose the "
                "outbox and audit on every restart; give a file path: sqlite:///smsbot.db."
            )
        return EngineTarget(url)
    connect_args: dict[str, Any] = {}
    search_path = url.query.get("search_path")
    if search_path:
        connect_args["server_settings"] = {"search_path": str(search_path)}
        url = url.difference_update_query(["search_path"])
    return EngineTarget(url, connect_args)


def cannot_open(target: EngineTarget, exc: BaseException) -> ConfigurationError:
    """The error for a database that could not be opened, its password hidden."""
    shown = target.url.render_as_string(hide_password=True)
    return ConfigurationError(
        f"cannot open the database {shown} (SMSBOT_DATABASE_URL): "
        f"{getattr(exc, 'orig', None) or exc}. Check the URL, that the server is "
        "running and reachable, and that smsbot may write there."
    )


def require_sqlite_folder(target: EngineTarget) -> None:
    """Checked before connecting: SQLite would only say "unable to open database file"."""
    folder = Path(target.url.database or "").resolve().parent
    if not folder.is_dir():
        raise ConfigurationError(
            f"SMSBOT_DATABASE_URL names a SQLite file in {folder}, which does not exist. "
            "Create the directory or point the URL at one that exists."
        )
