"""Retries against the sandbox: only where KPN certainly did not take the SMS, and bounded.

Every test asserts on what the sandbox saw, so "retried" and "not retried" are facts on the
server side, not counts kept by the client about itself.
"""

from __future__ import annotations

import logging
import socket
import time

import pytest

from smsbot.errors import KpnOutcomeUnknown, KpnQuotaExhausted, KpnUnavailable
from smsbot.kpn.client import KpnClient
from smsbot.kpn.retry import RetryPolicy
from smsbot.sandbox.testing import SandboxHandle
from tests.kpn.helpers import FAST_RETRIES, TO, sandbox_settings


@pytest.mark.parametrize("status", [502, 503])
async def test_gateway_errors_are_retried_and_the_sms_arrives_once(
    kpn: KpnClient, sandbox: SandboxHandle, status: int
) -> None:
    sandbox.add_fault(status=status, count=2)

    receipt = await kpn.send(TO, "x", "SMSBot")

    assert receipt.attempts == 3
    assert sandbox.send_requests == 3
    [message] = sandbox.messages()
    assert message["document_id"] == receipt.document_id


async def test_429_is_retried_after_retry_after(sandbox: SandboxHandle) -> None:
    sandbox.add_fault(status=429, retry_after=1)
    # A backoff far below a second: only Retry-After can explain a wait of one second.
    policy = RetryPolicy(max_attempts=3, max_seconds=5.0, base_delay=0.001, max_delay=0.001)
    async with KpnClient(sandbox_settings(sandbox.url), retry=policy) as kpn:
        started = time.monotonic()
        receipt = await kpn.send(TO, "x", "SMSBot")
        waited = time.monotonic() - started

    assert waited >= 0.95
    assert receipt.attempts == 2
    assert len(sandbox.messages()) == 1


async def test_429_whose_retry_after_exceeds_the_budget_is_raised_at_once(
    sandbox: SandboxHandle,
) -> None:
    sandbox.add_fault(status=429, retry_after=30)
    async with KpnClient(sandbox_settings(sandbox.url), retry=FAST_RETRIES) as kpn:
        with pytest.raises(KpnQuotaExhausted) as caught:
            await kpn.send(TO, "x", "SMSBot")

    # Raised without waiting: the budget check, which comes before any wait, said no.
    assert "not retried: the next try would start in 30.0 s" in str(caught.value.__notes__)
    assert caught.value.retry_after == 30
    assert sandbox.send_requests == 1


async def test_500_is_not_retried(kpn: KpnClient, sandbox: SandboxHandle) -> None:
    sandbox.add_fault(status=500, count=3)
    with pytest.raises(KpnOutcomeUnknown):
        await kpn.send(TO, "x", "SMSBot")
    assert sandbox.send_requests == 1
    assert sandbox.messages() == []


async def test_retries_stop_after_max_attempts(kpn: KpnClient, sandbox: SandboxHandle) -> None:
    sandbox.add_fault(status=503, count=10)
    with pytest.raises(KpnUnavailable) as caught:
        await kpn.send(TO, "x", "SMSBot")
    assert caught.value.status == 503
    assert sandbox.send_requests == FAST_RETRIES.max_attempts
    assert sandbox.messages() == []


async def test_retries_stop_when_the_time_budget_is_spent(sandbox: SandboxHandle) -> None:
    sandbox.add_fault(status=503, count=100)
    policy = RetryPolicy(max_attempts=100, max_seconds=0.3, base_delay=0.05, max_delay=0.05)
    async with KpnClient(sandbox_settings(sandbox.url), retry=policy) as kpn:
        with pytest.raises(KpnUnavailable) as caught:
            await kpn.send(TO, "x", "SMSBot")

    # The time budget ended the retries, not the 100 attempts.
    assert "after the 0 s retry budget" in str(caught.value.__notes__)
    assert 1 < sandbox.send_requests < 100


async def test_dropped_connection_after_sending_is_unknown_and_not_retried(
    kpn: KpnClient, sandbox: SandboxHandle
) -> None:
    # The sandbox accepts the SMS, then closes the connection without answering.
    sandbox.add_fault(drop=True)

    with pytest.raises(KpnOutcomeUnknown, match="may or may not have been accepted"):
        await kpn.send(TO, "x", "SMSBot")

    assert sandbox.send_requests == 1
    assert len(sandbox.messages()) == 1


async def test_answer_later_than_read_timeout_is_unknown_and_not_retried(
    sandbox: SandboxHandle,
) -> None:
    sandbox.add_fault(delay_ms=600)
    settings = sandbox_settings(sandbox.url, read_timeout=0.2)
    async with KpnClient(settings, retry=FAST_RETRIES) as kpn:
        await kpn.fetch_token()
        with pytest.raises(KpnOutcomeUnknown, match="timed out waiting for the answer"):
            await kpn.send(TO, "x", "SMSBot")

    assert sandbox.send_requests == 1
    assert len(sandbox.messages()) == 1


async def test_connection_refused_is_unavailable_after_bounded_retries(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = sandbox_settings(f"http://127.0.0.1:{port}")
    caplog.set_level(logging.WARNING, logger="smsbot.kpn")

    async with KpnClient(settings, retry=FAST_RETRIES) as kpn:
        with pytest.raises(KpnUnavailable, match="could not connect") as caught:
            await kpn.send(TO, "x", "SMSBot")

    # Refused at once, each time: no attempt waited out a connect timeout.
    assert isinstance(caught.value.__cause__.os_error, ConnectionRefusedError)  # type: ignore[union-attr]
    assert caught.value.status is None
    retries = [r for r in caplog.records if "retrying in" in r.getMessage()]
    assert len(retries) == FAST_RETRIES.max_attempts - 1
    assert not [r for r in retries if "timed out" in r.getMessage()]


def test_backoff_is_full_jitter_under_an_exponential_cap() -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=4.0)
    for retry_number, cap in [(0, 0.5), (1, 1.0), (2, 2.0), (3, 4.0), (10, 4.0)]:
        waits = [policy.backoff(retry_number) for _ in range(500)]
        assert all(0.0 <= wait <= cap for wait in waits)
        # Spread over the whole range, not a fixed step: clients must not retry in lockstep.
        assert min(waits) < cap * 0.1 and max(waits) > cap * 0.9


def test_policy_reads_its_bounds_from_settings() -> None:
    settings = sandbox_settings("http://127.0.0.1:1", max_attempts=7, max_retry_seconds=12.5)
    policy = RetryPolicy.from_settings(settings)
    assert (policy.max_attempts, policy.max_seconds) == (7, 12.5)
