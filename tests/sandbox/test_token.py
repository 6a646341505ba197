"""The token endpoint answers as KPN's Apigee does: every value a string, Apigee's errors."""

from __future__ import annotations

import time

import aiohttp
import pytest
from pydantic import SecretStr

from smsbot.sandbox.config import SandboxConfig
from smsbot.sandbox.testing import SandboxHandle, running_sandbox
from tests.sandbox.helpers import (
    SANDBOX_CREDENTIALS,
    TOKEN_PATH,
    FakeClock,
    fetch_token,
    message,
    post_send,
)


async def test_token_has_kpn_shape_with_every_value_a_string(
    http: aiohttp.ClientSession, sandbox: SandboxHandle
) -> None:
    before_ms = int(time.time() * 1000)
    async with http.post(sandbox.url + TOKEN_PATH, data=SANDBOX_CREDENTIALS) as response:
        assert response.status == 200
        assert response.content_type == "application/json"
        body = await response.json()

    assert all(isinstance(value, str) for value in body.values()), body
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == "3599"
    assert body["status"] == "approved"
    assert body["client_id"] == "sandbox"
    assert body["refresh_token_expires_in"] == "0"
    assert body["refresh_count"] == "0"
    assert body["scope"] == ""
    assert body["application_name"]
    assert len(body["access_token"]) == 28 and body["access_token"].isalnum()
    assert before_ms <= int(body["issued_at"]) <= int(time.time() * 1000)
    assert sandbox.token_requests == 1


async def test_each_token_request_mints_a_new_token(
    http: aiohttp.ClientSession, sandbox: SandboxHandle
) -> None:
    first, second = await fetch_token(http, sandbox), await fetch_token(http, sandbox)
    assert first != second
    assert sandbox.token_requests == 2


@pytest.mark.parametrize(
    "form",
    [
        {"client_id": "sandbox", "client_secret": "wrong"},
        {"client_id": "someone-else", "client_secret": "sandbox"},
        {"client_id": "sandbox"},
        {},
    ],
    ids=["wrong-secret", "wrong-id", "no-secret", "no-credentials"],
)
async def test_wrong_credentials_get_apigee_invalid_client(
    http: aiohttp.ClientSession, sandbox: SandboxHandle, form: dict[str, str]
) -> None:
    async with http.post(sandbox.url + TOKEN_PATH, data=form) as response:
        assert response.status == 401
        assert await response.json() == {
            "ErrorCode": "invalid_client",
            "Error": "ClientId is Invalid",
        }
    assert sandbox.token_requests == 1


async def test_missing_grant_type_is_apigees_invalid_request(
    http: aiohttp.ClientSession, sandbox: SandboxHandle
) -> None:
    url = sandbox.url + "/oauth/client_credential/accesstoken"
    async with http.post(url, data=SANDBOX_CREDENTIALS) as response:
        assert response.status == 400
        assert await response.json() == {
            "ErrorCode": "invalid_request",
            "Error": "Required param : grant_type",
        }


async def test_other_grant_type_is_refused(
    http: aiohttp.ClientSession, sandbox: SandboxHandle
) -> None:
    url = sandbox.url + "/oauth/client_credential/accesstoken?grant_type=password"
    async with http.post(url, data=SANDBOX_CREDENTIALS) as response:
        assert response.status == 400
        body = await response.json()
    assert body["ErrorCode"] == "invalid_request"
    assert "password" in body["Error"]


async def test_grant_type_in_the_form_body_is_accepted_too(
    http: aiohttp.ClientSession, sandbox: SandboxHandle
) -> None:
    url = sandbox.url + "/oauth/client_credential/accesstoken"
    form = SANDBOX_CREDENTIALS | {"grant_type": "client_credentials"}
    async with http.post(url, data=form) as response:
        assert response.status == 200


async def test_configured_credentials_replace_the_defaults(http: aiohttp.ClientSession) -> None:
    config = SandboxConfig(client_id="my-app", client_secret=SecretStr("s3cret"), expires_in=60)
    async with running_sandbox(config=config) as sandbox:
        url = sandbox.url + TOKEN_PATH
        async with http.post(url, data=SANDBOX_CREDENTIALS) as response:
            assert response.status == 401
        form = {"client_id": "my-app", "client_secret": "s3cret"}
        async with http.post(url, data=form) as response:
            assert response.status == 200
            body = await response.json()
    assert body["client_id"] == "my-app"
    assert body["expires_in"] == "60"


async def test_token_expires_after_expires_in(http: aiohttp.ClientSession) -> None:
    clock = FakeClock()
    async with running_sandbox(config=SandboxConfig(expires_in=60, clock=clock)) as sandbox:
        token = await fetch_token(http, sandbox)
        clock.advance(59.9)
        status, _, _ = await post_send(http, sandbox, token, message())
        assert status == 200
        clock.advance(0.1)
        status, body, _ = await post_send(http, sandbox, token, message())
    assert status == 401
    assert body["errorResponse"]["code"] == "401"
    assert "expired" in body["errorResponse"]["info"]
    assert len(sandbox.messages()) == 1


async def test_long_expired_tokens_are_forgotten(http: aiohttp.ClientSession) -> None:
    clock = FakeClock()
    async with running_sandbox(config=SandboxConfig(expires_in=60, clock=clock)) as sandbox:
        old = await fetch_token(http, sandbox)
        clock.advance(60 + 3600 + 1)
        await fetch_token(http, sandbox)  # issuing is when the store lets old tokens go
        status, body, _ = await post_send(http, sandbox, old, message())
    assert status == 401
    assert body["errorResponse"]["info"] == "Invalid access token"


async def test_delayed_token_answer_still_issues_a_valid_token(
    http: aiohttp.ClientSession, sandbox: SandboxHandle
) -> None:
    sandbox.add_fault(delay_ms=100, target="token")
    started = time.monotonic()
    token = await fetch_token(http, sandbox)
    assert time.monotonic() - started >= 0.1
    status, _, _ = await post_send(http, sandbox, token, message())
    assert status == 200
