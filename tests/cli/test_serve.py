"""`smsbot serve` as operators start it: a real subprocess, a clean environment."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


async def start_serve(env: dict[str, str], cwd: Path, *args: str) -> asyncio.subprocess.Process:
    # No SMSBOT_/SLACK_ variables from the machine running the tests, no stray .env (cwd).
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SMSBOT_", "SLACK_"))}
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "smsbot",
        "serve",
        *args,
        cwd=cwd,
        env={**clean, "PYTHONPATH": str(ROOT), **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def refused(env: dict[str, str], cwd: Path, *args: str) -> str:
    process = await start_serve(env, cwd, *args)
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 2, (out, err)
    return err.decode()


KPN = {"SMSBOT_KPN__CLIENT_ID": "app-id", "SMSBOT_KPN__CLIENT_SECRET": "app-secret"}


async def test_nothing_configured_names_every_missing_setting(tmp_path):
    message = await refused({}, tmp_path)
    assert message.startswith("smsbot: cannot start:")
    for name in (
        "SMSBOT_SLACK__BOT_TOKEN",
        "SLACK_BOT_TOKEN",
        "SMSBOT_SLACK__APP_TOKEN",
        "SMSBOT_SLACK__SIGNING_SECRET",
        "SLACK_SIGNING_SECRET",
        "SMSBOT_KPN__CLIENT_ID",
        "SMSBOT_KPN__CLIENT_SECRET",
    ):
        assert name in message


async def test_http_mode_without_signing_secret_is_refused(tmp_path):
    message = await refused({**KPN, "SLACK_BOT_TOKEN": "xoxb-1"}, tmp_path)
    assert "SMSBOT_SLACK__SIGNING_SECRET" in message
    assert "KPN" not in message  # only what is really missing
    assert "xoxb-1" not in message


async def test_missing_kpn_credentials_are_refused(tmp_path):
    env = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s3cret"}
    message = await refused({**env, "SMSBOT_KPN__CLIENT_ID": "app-id"}, tmp_path)
    assert "no KPN credentials" in message
    assert "SMSBOT_KPN__CLIENT_SECRET" in message
    assert "s3cret" not in message


@pytest.mark.parametrize(
    ("env", "hint"),
    [
        ({"SLACK_BOT_TOKEN": "xoxp-user-token", "SLACK_APP_TOKEN": "xapp-1"}, "start with xoxb-"),
        ({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xoxb-1"}, "start with xapp-"),
    ],
)
async def test_wrong_kind_of_token_is_refused(tmp_path, env, hint):
    message = await refused({**KPN, **env}, tmp_path)
    assert hint in message


async def test_unreadable_settings_file_is_refused(tmp_path):
    message = await refused({"SMSBOT_CONFIG": str(tmp_path / "missing.toml")}, tmp_path)
    assert "SMSBOT_CONFIG" in message and "missing.toml" in message
