"""`smsbot serve` imports what serving needs and nothing else: on SQLite no PostgreSQL driver,
never SQLAlchemy (the store runs its own SQL; only tools and tests load it),
never the KPN sandbox, never the modules of the commands it is not running (each costs memory
and start-up time in every replica)."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import sys
from pathlib import Path

import aiohttp

from tests.cli.process import clean_environment
from tests.fakes.slack_api import BOT_TOKEN
from tests.fakes.slack_requests import SIGNING_SECRET

OTHER_COMMANDS = tuple(
    f"smsbot.cli.{name}_cmd" for name in ("sandbox", "demo", "send", "segments", "audit", "check")
)
NEVER = ("asyncpg", "sqlalchemy", "smsbot.sandbox", *OTHER_COMMANDS)
NEEDED = ("smsbot.cli.serve_cmd", "smsbot.store.backends.sqlite", "slack_bolt")

# `smsbot serve ...` as the console script runs it, then the modules it ever loaded.
SERVE_THEN_LIST = """
import json, sys
from smsbot.cli.main import main
code = main()
print(json.dumps(sorted(sys.modules)))
sys.exit(code)
"""


async def loaded_by_serve(sandbox, fake_slack, tmp_path: Path) -> list[str]:
    env = clean_environment(
        SMSBOT_KPN__BASE_URL=sandbox.url,
        SMSBOT_KPN__CLIENT_ID="sandbox",
        SMSBOT_KPN__CLIENT_SECRET="sandbox",
        SMSBOT_SLACK__API_URL=fake_slack.api_url,
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SMSBOT_DATABASE_URL=f"sqlite:///{tmp_path / 'serve.db'}",
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", SERVE_THEN_LIST, "serve", "--host", "127.0.0.1", "--port", "0",
        cwd=tmp_path, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
        match = re.match(r"smsbot: listening on (http://\S+) ", line)
        assert match, line
        async with aiohttp.ClientSession() as http:  # served a request: fully started
            async with http.get(f"{match.group(1)}/readyz") as resp:
                assert resp.status == 200
        process.send_signal(signal.SIGTERM)
        out, err = await asyncio.wait_for(process.communicate(), 30)
        assert process.returncode == 0, err.decode()
        return json.loads(out.decode().strip().splitlines()[-1])
    finally:
        if process.returncode is None:
            process.kill()


async def test_serve_on_sqlite_loads_no_postgresql_no_sandbox_no_other_command(
    sandbox, fake_slack, tmp_path
):
    loaded = await loaded_by_serve(sandbox, fake_slack, tmp_path)
    assert [name for name in loaded if name.startswith(NEVER)] == []  # nor their submodules
    assert set(NEEDED) <= set(loaded)  # the list is of a bot that really served


def test_serve_knows_the_sandbox_tasks_by_the_name_the_sandbox_gives_them() -> None:
    from smsbot.cli import serve_cmd
    from smsbot.sandbox import posting

    assert serve_cmd.SANDBOX_TASK_PREFIX == posting.SANDBOX_TASK_PREFIX
