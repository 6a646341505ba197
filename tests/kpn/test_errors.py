"""Each KPN answer becomes the right error, with a message a person can act on."""

from __future__ import annotations

import pytest

from smsbot.errors import (
    KpnForbidden,
    KpnOutcomeUnknown,
    KpnQuotaExhausted,
    KpnRejected,
    KpnUnavailable,
)
from smsbot.kpn.client import KpnClient
from smsbot.kpn.retry import RetryPolicy
from smsbot.sandbox.testing import SandboxHandle, running_sandbox
from tests.kpn.helpers import FAST_RETRIES, TO, sandbox_settings


async def test_400_passes_kpns_own_message_through(kpn: KpnClient, sandbox: SandboxHandle) -> None:
    # The sandbox validates as KPN does: a Belgian number is refused.
    with pytest.raises(KpnRejected) as caught:
        await kpn.send("+32470123456", "x", "SMSBot")

    assert caught.value.status == 400
    kpn_message = caught.value.response.message
    assert kpn_message and "+32" in kpn_message
    assert str(caught.value).startswith(f"KPN rejected the SMS (HTTP 400): {kpn_message}")
    assert caught.value.response.code == "400"
    assert sandbox.send_requests == 1  # a refusal is final


async def test_403_is_forbidden_and_says_what_to_check(
    kpn: KpnClient, sandbox: SandboxHandle
) -> None:
    sandbox.add_fault(status=403)
    with pytest.raises(KpnForbidden, match="SMSBOT_KPN__CLIENT_ID") as caught:
        await kpn.send(TO, "x", "SMSBot")
    assert "HTTP 403 Forbidden" in str(caught.value)
    assert sandbox.send_requests == 1


async def test_quota_exhausted_carries_retry_after_and_reset_time() -> None:
    async with running_sandbox(quota="1/hour") as sandbox:
        async with KpnClient(sandbox_settings(sandbox.url), retry=FAST_RETRIES) as kpn:
            await kpn.send(TO, "one", "SMSBot")
            with pytest.raises(KpnQuotaExhausted) as caught:
                await kpn.send(TO, "two", "SMSBot")

        error = caught.value
        assert error.status == 429
        assert error.retry_after is not None and 0 < error.retry_after <= 3600
        assert error.reset_at is not None
        assert "resets at" in str(error)
        # Retry-After is beyond the 5 s budget: raised at once instead of waiting.
        assert sandbox.send_requests == 2
        assert kpn.last_quota is not None and kpn.last_quota.remaining == 0


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("fault", "The Service is temporarily unavailable"),  # Apigee's shape
        ("error", "Service Unavailable"),  # KPN's errorResponse shape
        ("html", "503 Service Unavailable"),  # a load balancer's HTML page: its title
        ("empty", "with an empty body"),
    ],
)
async def test_5xx_bodies_of_every_shape_give_a_clear_unavailable_error(
    sandbox: SandboxHandle, body: str, expected: str
) -> None:
    sandbox.add_fault(status=503, body=body)
    policy = RetryPolicy(max_attempts=1)
    async with KpnClient(sandbox_settings(sandbox.url), retry=policy) as kpn:
        with pytest.raises(KpnUnavailable) as caught:
            await kpn.send(TO, "x", "SMSBot")

    message = str(caught.value)
    assert "HTTP 503" in message
    assert expected in message
    assert "<" not in message  # no markup in a message meant for people
    assert caught.value.status == 503


async def test_html_400_still_names_the_status(kpn: KpnClient, sandbox: SandboxHandle) -> None:
    sandbox.add_fault(status=400, body="html")
    with pytest.raises(KpnRejected, match="HTTP 400 Bad Request"):
        await kpn.send(TO, "x", "SMSBot")


async def test_500_from_send_means_the_outcome_is_unknown(
    kpn: KpnClient, sandbox: SandboxHandle
) -> None:
    # The SMS service failed somewhere, perhaps after accepting the message: never "not sent".
    sandbox.add_fault(status=500)
    with pytest.raises(KpnOutcomeUnknown, match="may or may not have been sent") as caught:
        await kpn.send(TO, "x", "SMSBot")
    assert caught.value.status == 500
    assert "HTTP 500 Internal Server Error" in str(caught.value)
    assert sandbox.send_requests == 1  # and never retried


async def test_500_from_the_token_endpoint_is_unavailable(
    kpn: KpnClient, sandbox: SandboxHandle
) -> None:
    # No SMS is involved in minting a token, so nothing can have been sent.
    sandbox.add_fault(target="token", status=500)
    with pytest.raises(KpnUnavailable) as caught:
        await kpn.send(TO, "x", "SMSBot")
    assert caught.value.status == 500
    assert sandbox.send_requests == 0


async def test_504_means_the_outcome_is_unknown(kpn: KpnClient, sandbox: SandboxHandle) -> None:
    # The gateway gave up waiting for the SMS service, which may have accepted the message.
    sandbox.add_fault(status=504)
    with pytest.raises(KpnOutcomeUnknown, match="may or may not have been sent"):
        await kpn.send(TO, "x", "SMSBot")
    assert sandbox.send_requests == 1


async def test_a_base_url_that_is_not_kpns_api_says_so(sandbox: SandboxHandle) -> None:
    settings = sandbox_settings(sandbox.url + "/not-the-api")
    async with KpnClient(settings, retry=FAST_RETRIES) as kpn:
        with pytest.raises(KpnUnavailable, match="SMSBOT_KPN__BASE_URL") as caught:
            await kpn.fetch_token()
    assert caught.value.status == 404
