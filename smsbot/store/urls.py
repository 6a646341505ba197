"""`SMSBOT_DATABASE_URL` as operators write it, turned into what the store's drivers need.

Operators write `sqlite:///smsbot.db` or `postgresql://user@host/db` (RFC 1738, as SQLAlchemy
reads them: `sqlite:////abs/path` for an absolute path). SQLite's backend opens the file with
the standard library's sqlite3, PostgreSQL's hands asyncpg a `postgresql://` DSN. PostgreSQL URLs
may carry `?search_path=NAME` to keep smsbot's tables in a schema of their own (asyncpg takes it
as a server setting, not as a DSN parameter, so it is moved there).

The parsed `url` also names SQLAlchemy's async drivers (`sqlite+aiosqlite`,
`postgresql+asyncpg`): `Store.engine` hands it to SQLAlchemy for tools and tests. Parsing it here
keeps SQLAlchemy out of the processes that only serve.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode

from smsbot.errors import ConfigurationError

_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg"}
_EXAMPLES = "sqlite:///smsbot.db or postgresql://user:password@host:5432/smsbot"

# SQLAlchemy's own pattern of a database URL (`sqlalchemy.engine.url._parse_url`).
_URL = re.compile(
    r"""
    (?P<name>[\w+]+)://
    (?:
        (?P<username>[^:/]*)
        (?::(?P<password>[^@]*))?
    @)?
    (?:
        (?:
            \[(?P<ipv6host>[^/?]+)\] |
            (?P<ipv4host>[^/:?]+)
        )?
        (?::(?P<port>[^/?]*))?
    )?
    (?:/(?P<database>[^?]*))?
    (?:\?(?P<query>.*))?
    $
    """,
    re.X,
)


@dataclass(frozen=True)
class DatabaseUrl:
    """The parts of a database URL, each None where the URL has none."""

    drivername: str  # backend+driver, e.g. postgresql+asyncpg
    username: str | None
    password: str | None
    host: str | None
    port: int | None
    database: str | None
    query: dict[str, str]

    @property
    def backend(self) -> str:
        return self.drivername.split("+", 1)[0]

    def render(self, *, hide_password: bool = True, drivername: str | None = None) -> str:
        text = f"{drivername or self.drivername}://"
        if self.username is not None:
            text += quote(self.username, safe="")
            if self.password is not None:
                text += ":" + ("***" if hide_password else quote(self.password, safe=""))
            text += "@"
        if self.host is not None:
            text += f"[{self.host}]" if ":" in self.host else self.host
        if self.port is not None:
            text += f":{self.port}"
        if self.database is not None:
            text += "/" + quote(self.database, safe="/:")
        if self.query:
            text += "?" + urlencode(self.query)
        return text


def parse_url(text: str) -> DatabaseUrl:
    """Raises `ValueError` for text that is not a database URL, saying why without repeating
    the text (it may hold a password)."""
    match = _URL.match(text.strip())
    if match is None:
        raise ValueError("it is not scheme://[user[:password]@]host[:port]/database[?options]")
    parts = match.groupdict()
    port = parts["port"]
    if port and not port.isdigit():
        raise ValueError("its port is not a number")
    pairs = parse_qsl(parts["query"] or "", keep_blank_values=True)
    names = [name for name, _ in pairs]
    if repeated := sorted({name for name in names if names.count(name) > 1}):
        # A dict keeps one; which one the person meant is theirs to say.
        raise ValueError(f"it gives the option {', '.join(repeated)} more than once")
    return DatabaseUrl(
        drivername=parts["name"],
        username=unquote(parts["username"]) if parts["username"] is not None else None,
        password=unquote(parts["password"]) if parts["password"] is not None else None,
        host=parts["ipv6host"] or parts["ipv4host"],
        port=int(port) if port else None,
        database=unquote(parts["database"]) if parts["database"] else None,
        query=dict(pairs),
    )


@dataclass(frozen=True)
class EngineTarget:
    url: DatabaseUrl
    connect_args: dict[str, Any] = field(default_factory=dict)

    @property
    def is_sqlite(self) -> bool:
        return self.url.backend == "sqlite"

    @property
    def dsn(self) -> str:
        """What asyncpg connects to (PostgreSQL)."""
        return self.url.render(hide_password=False, drivername="postgresql")


def engine_target(database_url: str) -> EngineTarget:
    """Raises `ConfigurationError` naming `SMSBOT_DATABASE_URL` when the URL cannot be used."""
    try:
        url = parse_url(database_url)
    except ValueError as exc:
        raise ConfigurationError(
            f"SMSBOT_DATABASE_URL is not a database URL: {exc}; use {_EXAMPLES}."
        ) from exc
    backend = url.backend
    if backend == "postgres":  # an old spelling some hosting platforms still hand out
        backend = "postgresql"
    if backend not in _DRIVERS:
        raise ConfigurationError(
            f"SMSBOT_DATABASE_URL uses {backend!r}; smsbot stores its data in SQLite or "
            f"PostgreSQL: use {_EXAMPLES}."
        )
    url = replace(url, drivername=_DRIVERS[backend])
    if backend == "sqlite":
        if url.database in (None, "", ":memory:"):
            raise ConfigurationError(
                "SMSBOT_DATABASE_URL names an in-memory SQLite database, which would lose the "
                "outbox and audit on every restart; give a file path: sqlite:///smsbot.db."
            )
        return EngineTarget(url)
    connect_args: dict[str, Any] = {}
    query = dict(url.query)
    search_path = query.pop("search_path", None)
    if search_path:
        connect_args["server_settings"] = {"search_path": search_path}
        url = replace(url, query=query)
    return EngineTarget(url, connect_args)


def cannot_open(target: EngineTarget, exc: BaseException) -> ConfigurationError:
    """The error for a database that could not be opened, its password hidden."""
    shown = target.url.render(hide_password=True)
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
