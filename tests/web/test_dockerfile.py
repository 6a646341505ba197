"""The Dockerfile cannot be built here (no engine); these check what can be checked without one."""

from __future__ import annotations

import asyncio
import fnmatch
import json
import re
import sys
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer

from smsbot.metrics import Metrics
from smsbot.settings import Settings
from smsbot.web import create_app
from tests.web.test_routes import StoreProbe

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = (ROOT / "Dockerfile").read_text(encoding="utf-8")


def instructions(name: str) -> list[str]:
    # Joins continuation lines, drops comments: one string per instruction.
    text = re.sub(r"\\\n(\s*#.*\n)*", " ", DOCKERFILE)
    return [
        line.split(None, 1)[1] for line in text.splitlines() if line.split(None, 1)[:1] == [name]
    ]


def test_final_stage_runs_smsbot_serve_as_a_non_root_user():
    final_stage = DOCKERFILE.rsplit("\nFROM ", 1)[1]
    assert final_stage.startswith("python:3.11-slim")
    [user] = instructions("USER")
    assert user.strip() not in ("root", "0")
    assert json.loads(instructions("CMD")[0])[:2] == ["smsbot", "serve"]
    assert instructions("EXPOSE") == ["3000"]


def test_copied_sources_exist_and_are_not_docker_ignored():
    ignored = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    sources = [
        part
        for copy in instructions("COPY")
        if not copy.startswith("--from")
        for part in copy.split()[:-1]
    ]
    assert {"pyproject.toml", "smsbot"} <= set(sources)
    for source in sources:
        assert (ROOT / source).exists() or source == "README.md", source
        assert not any(fnmatch.fnmatch(source, pattern) for pattern in ignored), source


async def test_healthcheck_command_passes_on_a_live_bot_and_fails_without_one():
    [healthcheck] = instructions("HEALTHCHECK")
    command = json.loads(healthcheck.split("CMD", 1)[1])
    assert command[:2] == ["python", "-c"]
    assert "/healthz" in command[2]

    app = create_app(Settings(_env_file=None), StoreProbe(True), metrics=Metrics())
    async with TestClient(TestServer(app)) as client:
        code = command[2].replace(":3000/", f":{client.port}/")
        # the bot must keep serving while the probe runs, so the probe runs asynchronously
        live = await asyncio.create_subprocess_exec(sys.executable, "-c", code)
        assert await asyncio.wait_for(live.wait(), 30) == 0
    dead = await asyncio.create_subprocess_exec(
        sys.executable, "-c", code, stderr=asyncio.subprocess.DEVNULL
    )
    assert await asyncio.wait_for(dead.wait(), 30) != 0
