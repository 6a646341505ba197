"""Helpers for pipeline tests: settings pointing at the sandbox and a store, a notifier that
records what it was told."""

from __future__ import annotations

import asyncio
from typing import Any

from smsbot.settings import Settings
from smsbot.sms.request import SendRequest, SendResult
from tests.fixtures.waiting import until


def settings_for(sandbox_url: str, database_url: str, **overrides: Any) -> Settings:
    """Sandbox credentials, the given database, fast KPN timeouts, and `overrides` on top."""
    values: dict[str, Any] = {
        "database_url": database_url,
        "allow": {"users": ["U1"]},
        "kpn": {"read_timeout": 2.0, "connect_timeout": 1.0, "max_retry_seconds": 2.0},
    }
    for section, value in overrides.items():
        if isinstance(value, dict) and isinstance(values.get(section), dict):
            values[section] = {**values[section], **value}
        else:
            values[section] = value
    return Settings(_env_file=None, **values).with_sandbox(sandbox_url)


class RecordingNotifier:
    def __init__(self, *, fail: bool = False) -> None:
        self.calls: list[tuple[SendRequest, SendResult]] = []
        self.fail = fail
        self.changed = asyncio.Event()

    async def notify(self, request: SendRequest, result: SendResult) -> None:
        self.calls.append((request, result))
        self.changed.set()
        if self.fail:
            raise RuntimeError("Slack is down")

    async def wait_for(self, count: int) -> None:
        await until(
            lambda: len(self.calls) >= count, f"{count} notifications", changed=self.changed
        )
