"""Testing helpers shipped with the sandbox: run one on loopback and script it from a test.

async with running_sandbox(quota="5/minute") as sandbox:
    settings = Settings(_env_file=None).with_sandbox(sandbox.url)
    ...
    assert sandbox.messages()[-1]["mobile_number"] == "+31612345678"
    sandbox.add_fault(status=503, count=2)
    sandbox.script_delivery("failed", error_code="007")

async with running_sandbox(delivery_delay_ms=20, retry_delays=(0.01,),
                           inbound_webhook=bot_url + "/kpn/inbound/<token>") as sandbox:
    ...  # reports go to each send's webhook_url; POST /sandbox/inbound to the bot
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

    def replies(self) -> list[dict[str, Any]]:
        """What `GET /sandbox/inbound` answers: the phones' replies, newest last."""
        return self._state.inbox.replies_json()

    def set_inbound_webhook(self, url: str | None) -> None:
        """Where `POST /sandbox/inbound` posts from now on (e.g. once the bot listens)."""
        self._state.set_inbound_webhook(url)

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
        self._state.faults.add_all([parse_fault(spec)])

    def script_delivery(
        self,
        delivery: str,
        *,
        error_code: str | None = None,
        delay_ms: int | None = None,
        count: int = 1,
    ) -> None:
        """Script the reports of the next `count` SMS with a webhook_url (see `delivery`)."""
        spec: dict[str, Any] = {"delivery": delivery, "count": count}
        if error_code is not None:
            spec["error_code"] = error_code
        if delay_ms is not None:
            spec["delay_ms"] = delay_ms
        self._state.faults.add_all([parse_fault(spec)])

    def hold_answers(self) -> None:
        """From now on each send is taken in as usual but answered only once
        `release_answers()` is called (`smsbot.sandbox.holding`)."""
        self._state.answers.close()

    def release_answers(self) -> None:
        """Send the held answers, and answer the next sends at once again."""
        self._state.answers.open()

    @property
    def answers_held(self) -> int:
        """Sends taken in whose answer is being held now."""
        return self._state.answers.held

    def clear(self) -> None:
        """Empty the inbox and the scripted faults, stop reports still due, zero the counters
        and the quota use, release held answers."""
        self._state.reset()


@asynccontextmanager
async def running_sandbox(
    *,
    quota: str | None = None,
    port: int = 0,
    config: SandboxConfig | None = None,
    inbound_webhook: str | None = None,
    delivery_delay_ms: int | None = None,
    retry_delays: tuple[float, ...] | None = None,
) -> AsyncIterator[SandboxHandle]:
    """Serve a sandbox on loopback (`port=0`: a free port) for the duration of the block.
    The keyword arguments override the same fields of `config`."""
    config = config or SandboxConfig()
    if quota is not None:
        config = replace(config, quota=QuotaRule.parse(quota))
    overrides = {
        "inbound_webhook": inbound_webhook,
        "delivery_delay_ms": delivery_delay_ms,
        "retry_delays": retry_delays,
    }
    config = replace(config, **{k: v for k, v in overrides.items() if v is not None})
    # No access log (serve_sandbox's default): a benchmark through the sandbox should measure
    # the client, not logging. A short shutdown: an answer still delayed by a fault when the
    # block ends is one nobody waits for, and must not hold up the test.
    async with serve_sandbox(
        config, host=LOOPBACK, port=port, shutdown_timeout=SHUTDOWN_SECONDS
    ) as served:
        yield SandboxHandle(served.url, served.state)
