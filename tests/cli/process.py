"""`python -m smsbot ...` as a real process, the way an operator starts it: no SMSBOT_/SLACK_
variables from the machine running the tests, and the working directory a temporary folder (so no
stray `.env` is read)."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parents[2]


def clean_environment(**env: str) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SMSBOT_", "SLACK_"))}
    return {**clean, "PYTHONPATH": str(ROOT), **env}


async def start_smsbot(
    *args: str,
    env: dict[str, str],
    cwd: Path,
    stdout: int | IO[Any] = asyncio.subprocess.PIPE,
    stderr: int | IO[Any] = asyncio.subprocess.PIPE,
) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "smsbot",
        *args,
        cwd=cwd,
        env=clean_environment(**env),
        stdout=stdout,
        stderr=stderr,
    )
