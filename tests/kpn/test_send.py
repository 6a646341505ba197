"""Sending through the sandbox: what goes on the wire, and what the receipt says."""

from __future__ import annotations

from datetime import UTC, datetime

import aiohttp
import pytest

from smsbot.errors import ConfigurationError
from smsbot.kpn.client import KpnClient
from smsbot.kpn.models import Quota
from smsbot.sandbox.testing import SandboxHandle, running_sandbox
from tests.kpn.helpers import FAST_RETRIES, TO, sandbox_settings


async def test_send_delivers_one_message_and_returns_its_receipt(
    kpn: KpnClient, sandbox: SandboxHandle
) -> None:
    receipt = await kpn.send(TO, "Disk full on db-1 ’", "Ops")

    [message] = sandbox.messages()
    assert message["document_id"] == receipt.document_id
    assert (message["mobile_number"], message["content"], message["sender"]) == (
        TO,
        "Disk full on db-1 ’",
        "Ops",
    )
    assert message["encoding"] == "UCS-2"  # the text travelled as sent, not re-encoded
    assert receipt.status == "OK"
    assert receipt.attempts == 1
    assert receipt.api_version == sandbox.config.api_version


async def test_webhook_url_and_expirein_come_from_settings(sandbox: SandboxHandle) -> None:
    settings = sandbox_settings(
        sandbox.url, webhook_url="https://bot.example.com/kpn/dlr", expire_in=600
    )
    async with KpnClient(settings, retry=FAST_RETRIES) as kpn:
        await kpn.send(TO, "x", "SMSBot")

    [message] = sandbox.messages()
    assert message["webhook_url"] == "https://bot.example.com/kpn/dlr"
    assert message["expirein"] == "600"


async def test_receipt_carries_the_quota_and_last_quota_follows_it() -> None:
    async with running_sandbox(quota="10/hour") as sandbox:
        async with KpnClient(sandbox_settings(sandbox.url), retry=FAST_RETRIES) as kpn:
            assert kpn.last_quota is None
            first = await kpn.send(TO, "one", "SMSBot")
            second = await kpn.send(TO, "two", "SMSBot")

    assert first.quota is not None and second.quota is not None
    assert (first.quota.limit, first.quota.used, first.quota.remaining) == (10, 1, 9)
    assert (second.quota.used, second.quota.remaining) == (2, 8)
    assert (second.quota.interval, second.quota.time_unit) == (1, "hour")
    now = datetime.now(UTC)
    assert second.quota.reset_at is not None and now < second.quota.reset_at
    assert (second.quota.reset_at - now).total_seconds() <= 3600
    assert kpn.last_quota == second.quota


async def test_a_session_passed_in_is_used_and_left_open(sandbox: SandboxHandle) -> None:
    async with aiohttp.ClientSession() as session:
        async with KpnClient(sandbox_settings(sandbox.url), session=session) as kpn:
            await kpn.send(TO, "x", "SMSBot")
        assert not session.closed
        async with session.get(f"{sandbox.url}/sandbox/messages") as response:
            assert len(await response.json()) == 1


async def test_the_client_owns_and_closes_its_session_when_none_is_given(
    sandbox: SandboxHandle,
) -> None:
    kpn = KpnClient(sandbox_settings(sandbox.url))
    async with kpn:
        await kpn.send(TO, "x", "SMSBot")
        session = kpn._session
        assert session is not None and not session.closed
    assert session.closed


def test_quota_without_headers_is_none() -> None:
    assert Quota.from_headers({}) is None


def test_a_base_url_that_is_not_http_is_refused_with_the_variable_name() -> None:
    with pytest.raises(ConfigurationError, match="SMSBOT_KPN__BASE_URL"):
        KpnClient(sandbox_settings("api-prd.kpn.com"))
