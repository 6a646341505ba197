"""Testing helpers shipped with the sandbox: run one on loopback and script it from a test.

async with running_sandbox(quota="5/minute") as sandbox:
    settings = Settings(_env_file=None).with_sandbox(sandbox.url)
    ...
    assert sandbox.messages()[-1]["mobile_number"] == "+31612345678"
    sandbox.add_fault(status=503, count=2)
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

from smsbot.sandbox.config import QuotaRule, SandboxConfig
from smsbot.sandbox.faults import parse_fault
from smsbot.sandbox.server import serve_sandbox
from smsbot.sandbox.state import SandboxState

LOOPBACK = "127.0.0.1"
SHUTDOWN_SECONDS = 0.25


class SandboxHandle:
    """A running sandbox: its base URL, and direct access to its state from the same process."""

    def __init__(self, url: str, state: SandboxState) -> None:
        self.url = url
        self._state = state

    @property
    def config(self) -> SandboxConfig:
        return self._state.config

    def messages(self) -> list[dict[str, Any]]:
        """What `GET /sandbox/messages` answers: accepted messages, newest last."""
        return self._state.inbox.to_json()

    @property
    def token_requests(self) -> int:
        return self._state.token_requests

    @property
    def send_requests(self) -> int:
        return self._state.send_requests

    def add_fault(
        self,
        status: int | None = None,
        count: int = 1,
        delay_ms: int | None = None,
        drop: bool = False,
        retry_after: float | None = None,
        *,
        body: str | None = None,
        target: str = "send",
    ) -> None:
        """Script a fault for the next `count` requests, as `POST /sandbox/faults` does."""
        spec: dict[str, Any] = {"count": count, "drop": drop, "target": target}
        for name, value in (
            ("status", status),
            ("delay_ms", delay_ms),
            ("retry_after", retry_after),
            ("body", body),
        ):
            if value is not None:
                spec[name] = value
        fault, times = parse_fault(spec)
        self._state.faults.add(fault, times)

    def clear(self) -> None:
        """Empty the inbox and the scripted faults, zero the counters and the quota use."""
        self._state.reset()


@asynccontextmanager
async def running_sandbox(
    *,
    quota: str | None = None,
    port: int = 0,
    config: SandboxConfig | None = None,
) -> AsyncIterator[SandboxHandle]:
    """Serve a sandbox on loopback (`port=0`: a free port) for the duration of the block."""
    config = config or SandboxConfig()
    if quota is not None:
        config = replace(config, quota=QuotaRule.parse(quota))
    # No access log (serve_sandbox's default): a benchmark through the sandbox should measure
    # the client, not logging. A short shutdown: an answer still delayed by a fault when the
    # block ends is one nobody waits for, and must not hold up the test.
    async with serve_sandbox(
        config, host=LOOPBACK, port=port, shutdown_timeout=SHUTDOWN_SECONDS
    ) as served:
        yield SandboxHandle(served.url, served.state)
