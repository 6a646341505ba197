"""A store imports only its own engine's driver: serving from SQLite never loads asyncpg, and
PostgreSQL never loads the SQLite modules (each costs memory and start-up time)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

DRIVERS = ("asyncpg", "aiosqlite", "sqlite3", "smsbot.store.backends.sqlite")

OPEN_AND_LIST = f"""
import asyncio, json, sys
from smsbot.store import Store

async def main(url):
    store = await Store.open(url)
    await store.ping()
    await store.close()

asyncio.run(main(sys.argv[1]))
print(json.dumps([name for name in {DRIVERS!r} if name in sys.modules]))
"""


def loaded_by(database_url: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", OPEN_AND_LIST, database_url],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_sqlite_loads_no_postgresql_driver(sqlite_url: str) -> None:
    assert loaded_by(sqlite_url) == ["sqlite3", "smsbot.store.backends.sqlite"]


@pytest.mark.postgres
def test_postgresql_loads_no_sqlite_driver(postgres_url: str) -> None:
    assert loaded_by(postgres_url) == ["asyncpg"]
