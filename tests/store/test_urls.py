"""SMSBOT_DATABASE_URL as operators write it, mapped to SQLAlchemy's async drivers."""

import pytest

from smsbot.errors import ConfigurationError
from smsbot.store import Store
from smsbot.store.urls import engine_target, parse_url


def test_sqlite_url_gets_the_async_driver() -> None:
    target = engine_target("sqlite:///var/lib/smsbot/smsbot.db")
    assert target.url.drivername == "sqlite+aiosqlite"
    assert target.url.database == "var/lib/smsbot/smsbot.db"
    assert target.is_sqlite


@pytest.mark.parametrize("scheme", ["postgresql", "postgres"])
def test_postgresql_url_gets_asyncpg(scheme: str) -> None:
    target = engine_target(f"{scheme}://bot:pw@db.internal:5432/smsbot")
    assert target.url.drivername == "postgresql+asyncpg"
    assert (target.url.host, target.url.port, target.url.database) == (
        "db.internal",
        5432,
        "smsbot",
    )
    assert not target.is_sqlite
    assert target.connect_args == {}


def test_search_path_becomes_a_server_setting() -> None:
    target = engine_target("postgresql://bot@db/smsbot?search_path=tenant_a")
    assert "search_path" not in target.url.query
    assert target.connect_args == {"server_settings": {"search_path": "tenant_a"}}


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("mysql://root@db/smsbot", "SQLite or PostgreSQL"),
        ("not a url", "not a database URL: it is not scheme://"),
        ("postgresql://db:five/smsbot", "its port is not a number"),
        (
            "postgresql://bot:secret@db/smsbot?sslmode=require&sslmode=disable",
            "it gives the option sslmode more than once",
        ),
        ("sqlite://", "in-memory"),
        ("sqlite:///:memory:", "in-memory"),
    ],
)
def test_unusable_urls_name_the_setting_and_the_fix(url: str, says: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        engine_target(url)
    assert "SMSBOT_DATABASE_URL" in str(caught.value)
    assert says in str(caught.value)
    assert "sqlite:///smsbot.db" in str(caught.value)
    assert "secret" not in str(caught.value)


async def test_a_database_that_cannot_be_opened_says_what_to_check(tmp_path) -> None:
    missing = f"sqlite:///{tmp_path / 'no-such-dir' / 'smsbot.db'}"
    with pytest.raises(
        ConfigurationError,
        match=r"SMSBOT_DATABASE_URL names a SQLite file in .*no-such-dir, which does not exist",
    ):
        await Store.open(missing)


async def test_an_unreachable_postgresql_hides_the_password(unused_tcp_port: int) -> None:
    url = f"postgresql://bot:s3cret@127.0.0.1:{unused_tcp_port}/smsbot"
    with pytest.raises(ConfigurationError) as caught:
        await Store.open(url)
    assert "s3cret" not in str(caught.value)
    assert "server is running" in str(caught.value)


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:///relative/smsbot.db",
        "sqlite:////var/lib/smsbot/smsbot.db",
        "sqlite:////srv/my%20smsbot%25.db",
        "postgresql://bot@db/my%20smsbot",
        "postgresql://bot:p%40ss%3Aword@db.internal:5432/smsbot?sslmode=require",
        "postgres://bot@[::1]:5433/smsbot",
        "postgresql+asyncpg://db/smsbot",
        "postgresql://db",
    ],
)
def test_urls_are_read_as_sqlalchemy_reads_them(url: str) -> None:
    from sqlalchemy.engine import make_url

    ours, theirs = parse_url(url), make_url(url)
    assert (ours.drivername, ours.username, ours.password, ours.host, ours.port) == (
        theirs.drivername,
        theirs.username,
        theirs.password,
        theirs.host,
        theirs.port,
    )
    assert (ours.database, ours.query) == (theirs.database, dict(theirs.query))
    assert make_url(ours.render(hide_password=False)) == theirs  # and written back the same


def test_the_dsn_for_asyncpg_keeps_the_password_and_drops_the_search_path() -> None:
    target = engine_target("postgresql://bot:p%40ss@db:5432/smsbot?search_path=a&sslmode=require")
    assert target.dsn == "postgresql://bot:p%40ss@db:5432/smsbot?sslmode=require"
    assert "p%40ss" not in target.url.render(hide_password=True)
