"""The access token against the sandbox: reused, minted once for many, renewed, refused."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest
from pydantic import SecretStr

from smsbot.errors import KpnAuthError, KpnUnavailable
from smsbot.kpn.client import KpnClient
from smsbot.kpn.retry import RetryPolicy
from smsbot.sandbox.config import SandboxConfig
from smsbot.sandbox.testing import SandboxHandle, running_sandbox
from tests.fixtures.waiting import until
from tests.kpn.helpers import FAST_RETRIES, TO, sandbox_settings


async def test_one_token_serves_many_sends(kpn: KpnClient, sandbox: SandboxHandle) -> None:
    for n in range(5):
        await kpn.send(TO, f"message {n}", "SMSBot")

    assert sandbox.token_requests == 1
    assert sandbox.send_requests == 5


async def test_fifty_concurrent_sends_without_a_token_make_one_token_request(
    kpn: KpnClient, sandbox: SandboxHandle
) -> None:
    # A slow token endpoint keeps the mint in flight while all fifty sends ask for a token.
    sandbox.add_fault(target="token", delay_ms=100)

    receipts = await asyncio.gather(*(kpn.send(TO, f"n{n}", "SMSBot") for n in range(50)))

    assert sandbox.token_requests == 1
    assert len(sandbox.messages()) == 50
    assert len({r.document_id for r in receipts}) == 50
    assert {m["content"] for m in sandbox.messages()} == {f"n{n}" for n in range(50)}


async def test_a_failed_mint_fails_everyone_waiting_on_it_then_a_new_one_is_tried(
    sandbox: SandboxHandle,
) -> None:
    sandbox.add_fault(target="token", status=500, delay_ms=50)
    settings = sandbox_settings(sandbox.url)
    async with KpnClient(settings, retry=FAST_RETRIES) as kpn:
        outcomes = await asyncio.gather(
            *(kpn.send(TO, "x", "SMSBot") for _ in range(10)), return_exceptions=True
        )
        assert all(isinstance(o, KpnUnavailable) for o in outcomes)
        assert sandbox.token_requests == 1
        assert sandbox.send_requests == 0

        await kpn.send(TO, "after", "SMSBot")

    assert sandbox.token_requests == 2
    assert [m["content"] for m in sandbox.messages()] == ["after"]


async def test_token_is_renewed_before_it_expires() -> None:
    # Both clocks injected: the sandbox's (when the token expires for KPN) and the client's.
    now, monotonic = [time.time()], [1000.0]
    config = SandboxConfig(expires_in=600, clock=lambda: now[0])
    async with running_sandbox(config=config) as sandbox:
        settings = sandbox_settings(sandbox.url)
        client = KpnClient(settings, retry=FAST_RETRIES, token_clock=lambda: monotonic[0])
        async with client as kpn:
            await kpn.send(TO, "first", "SMSBot")
            # 570 s into the 600 s life, past its last minute's margin: KPN would still take
            # the old token, but the client must not use it any more.
            now[0] += 570
            monotonic[0] += 570
            await kpn.send(TO, "second", "SMSBot")

        assert sandbox.token_requests == 2
        # Renewed ahead of expiry, so no send was refused with 401 on the way.
        assert sandbox.send_requests == 2


async def test_a_token_refused_with_401_is_reminted_once_and_the_send_repeated() -> None:
    now = [time.time()]
    async with running_sandbox(config=SandboxConfig(clock=lambda: now[0])) as sandbox:
        async with KpnClient(sandbox_settings(sandbox.url), retry=FAST_RETRIES) as kpn:
            await kpn.send(TO, "first", "SMSBot")
            # The sandbox now considers the cached token expired; the client does not know.
            now[0] += 7200

            receipt = await kpn.send(TO, "second", "SMSBot")

        assert receipt.attempts == 2
        assert sandbox.token_requests == 2
        assert sandbox.send_requests == 3
        assert [m["content"] for m in sandbox.messages()] == ["first", "second"]


async def test_many_sends_meeting_the_same_401_remint_one_token() -> None:
    now = [time.time()]
    async with running_sandbox(config=SandboxConfig(clock=lambda: now[0])) as sandbox:
        async with KpnClient(sandbox_settings(sandbox.url), retry=FAST_RETRIES) as kpn:
            await kpn.fetch_token()
            now[0] += 7200

            await asyncio.gather(*(kpn.send(TO, f"n{n}", "SMSBot") for n in range(20)))

        assert sandbox.token_requests == 2
        assert len(sandbox.messages()) == 20


async def test_a_second_401_after_reminting_is_an_auth_error(sandbox: SandboxHandle) -> None:
    sandbox.add_fault(status=401, count=2)
    async with KpnClient(sandbox_settings(sandbox.url), retry=FAST_RETRIES) as kpn:
        with pytest.raises(KpnAuthError) as caught:
            await kpn.send(TO, "x", "SMSBot")

    assert caught.value.status == 401
    assert "SMSBOT_KPN__CLIENT_ID" in str(caught.value)
    # One repeat with a new token, and no retries after that.
    assert sandbox.send_requests == 2
    assert sandbox.token_requests == 2
    assert sandbox.messages() == []


async def test_wrong_credentials_name_the_variables_and_hide_the_secret(
    sandbox: SandboxHandle,
) -> None:
    settings = sandbox_settings(sandbox.url, client_secret=SecretStr("not-the-secret"))
    async with KpnClient(settings, retry=FAST_RETRIES) as kpn:
        with pytest.raises(KpnAuthError) as caught:
            await kpn.send(TO, "x", "SMSBot")

    message = str(caught.value)
    assert "SMSBOT_KPN__CLIENT_ID" in message and "SMSBOT_KPN__CLIENT_SECRET" in message
    assert "ClientId is Invalid" in message  # what KPN said, passed on
    assert "not-the-secret" not in message
    assert caught.value.status == 401
    assert sandbox.token_requests == 1  # refused credentials are not retried
    assert sandbox.send_requests == 0


async def test_missing_credentials_are_refused_before_any_request(sandbox: SandboxHandle) -> None:
    settings = sandbox_settings(sandbox.url, client_id=None, client_secret=None)
    async with KpnClient(settings, retry=FAST_RETRIES) as kpn:
        with pytest.raises(KpnAuthError, match="SMSBOT_KPN__CLIENT_SECRET"):
            await kpn.fetch_token()

    assert sandbox.token_requests == 0


async def test_token_endpoint_outage_is_retried(sandbox: SandboxHandle) -> None:
    sandbox.add_fault(target="token", status=503, count=2)
    async with KpnClient(sandbox_settings(sandbox.url), retry=FAST_RETRIES) as kpn:
        receipt = await kpn.send(TO, "x", "SMSBot")

    assert sandbox.token_requests == 3
    assert receipt.attempts == 1  # one request to /send
    assert len(sandbox.messages()) == 1


async def test_fetch_token_returns_the_cached_token(sandbox: SandboxHandle) -> None:
    policy = RetryPolicy(max_attempts=1)
    async with KpnClient(sandbox_settings(sandbox.url), retry=policy) as kpn:
        first = await kpn.fetch_token()
        second = await kpn.fetch_token()

    assert first == second and len(first) > 0
    assert sandbox.token_requests == 1


async def test_a_cancelled_send_does_not_cancel_the_mint_others_wait_on(
    kpn: KpnClient, sandbox: SandboxHandle
) -> None:
    sandbox.add_fault(target="token", delay_ms=300)
    impatient = asyncio.create_task(kpn.send(TO, "cancelled", "SMSBot"))
    patient = asyncio.create_task(kpn.send(TO, "patient", "SMSBot"))
    # The mint reached KPN (held there 300 ms): both sends are waiting for its token now.
    await until(lambda: sandbox.token_requests == 1, "the token request at KPN")

    impatient.cancel()
    receipt = await patient

    assert impatient.cancelled()
    assert [m["content"] for m in sandbox.messages()] == ["patient"]
    assert receipt.attempts == 1
    assert sandbox.token_requests == 1


async def test_neither_the_secret_nor_the_token_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    secret = "s3cret-not-for-logs"
    config = SandboxConfig(client_secret=SecretStr(secret))
    caplog.set_level(logging.DEBUG)
    async with running_sandbox(config=config) as sandbox:
        settings = sandbox_settings(sandbox.url, client_secret=SecretStr(secret))
        async with KpnClient(settings, retry=FAST_RETRIES) as kpn:
            sandbox.add_fault(status=503)  # a retry, so the warning path is logged too
            await kpn.send(TO, "x", "SMSBot")
            token = await kpn.fetch_token()

    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "retrying" in logged and "minted" in logged  # the log was really written
    assert secret not in logged
    assert token not in logged
    assert secret not in repr(settings) and token not in repr(kpn._tokens._token)
