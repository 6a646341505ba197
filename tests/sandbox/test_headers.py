"""Every response carries the headers KPN documents, whatever the route and the outcome; the
CORS ones only on KPN's own routes, and never `*` together with credentials."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import aiohttp
import pytest

from smsbot.sandbox.testing import SandboxHandle
from tests.sandbox.helpers import SANDBOX_CREDENTIALS, SEND_PATH, TOKEN_PATH, message

KPN_HEADERS = (
    "sunset",
    "api-version",
    "quota-limit",
    "quota-used",
    "quota-interval",
    "quota-time-unit",
    "quota-reset-UTC",
    "strict-transport-security",
)
CORS_HEADERS = (
    "access-control-allow-origin",
    "access-control-allow-headers",
    "access-control-allow-methods",
    "access-control-max-age",
)

Call = Callable[[aiohttp.ClientSession, SandboxHandle, str], Awaitable[aiohttp.ClientResponse]]


def _post_token(form: dict[str, str]) -> Call:
    async def call(http: aiohttp.ClientSession, sandbox: SandboxHandle, token: str):
        return await http.post(sandbox.url + TOKEN_PATH, data=form)

    return call


def _post_send(body: object, *, auth: bool = True) -> Call:
    async def call(http: aiohttp.ClientSession, sandbox: SandboxHandle, token: str):
        headers = {"Authorization": f"Bearer {token}"} if auth else {}
        return await http.post(sandbox.url + SEND_PATH, json=body, headers=headers)

    return call


def _request(method: str, path: str) -> Call:
    async def call(http: aiohttp.ClientSession, sandbox: SandboxHandle, token: str):
        return await http.request(method, sandbox.url + path)

    return call


def _scripted(status: int, body: str) -> Call:
    async def call(http: aiohttp.ClientSession, sandbox: SandboxHandle, token: str):
        sandbox.add_fault(status=status, body=body)
        return await http.post(
            sandbox.url + SEND_PATH, json=message(), headers={"Authorization": f"Bearer {token}"}
        )

    return call


KPN_CALLS = {
    "token": (_post_token(SANDBOX_CREDENTIALS), 200),
    "token-refused": (_post_token({"client_id": "x", "client_secret": "y"}), 401),
    "send": (_post_send(message()), 200),
    "send-invalid": (_post_send(message("0201234567")), 400),
    "send-unauthorized": (_post_send(message(), auth=False), 401),
    "fault-html": (_scripted(503, "html"), 503),
    "fault-empty": (_scripted(502, "empty"), 502),
    "preflight": (_request("OPTIONS", SEND_PATH), 200),
}
CALLS = {
    **KPN_CALLS,
    "inbox": (_request("GET", "/"), 200),
    "messages": (_request("GET", "/sandbox/messages"), 200),
    "unknown-route": (_request("GET", "/communication/kpn/sms/nothing"), 404),
    "unknown-sandbox-route": (_request("GET", "/sandbox/nothing"), 404),
}


@pytest.mark.parametrize(("call", "status"), CALLS.values(), ids=CALLS.keys())
async def test_kpn_headers_on_every_response(
    http: aiohttp.ClientSession, sandbox: SandboxHandle, token: str, call: Call, status: int
) -> None:
    response = await call(http, sandbox, token)
    async with response:
        assert response.status == status
        missing = [name for name in KPN_HEADERS if name not in response.headers]
        assert missing == []
        assert response.headers["sunset"] == "n/a"
        assert response.headers["api-version"] == "v1.0.6"
        assert "max-age=" in response.headers["strict-transport-security"]


@pytest.mark.parametrize(("call", "status"), KPN_CALLS.values(), ids=KPN_CALLS.keys())
async def test_kpn_routes_carry_cors_headers_without_credentials_for_star(
    http: aiohttp.ClientSession, sandbox: SandboxHandle, token: str, call: Call, status: int
) -> None:
    response = await call(http, sandbox, token)
    async with response:
        assert response.status == status
        assert [name for name in CORS_HEADERS if name not in response.headers] == []
        assert response.headers["access-control-allow-origin"] == "*"
        assert "access-control-allow-credentials" not in response.headers


@pytest.mark.parametrize("method", ["POST", "OPTIONS"])
async def test_a_named_origin_gets_itself_back_with_credentials(
    http: aiohttp.ClientSession, sandbox: SandboxHandle, method: str
) -> None:
    headers = {"Origin": "https://app.example.com", "Access-Control-Request-Method": "POST"}
    async with http.request(method, sandbox.url + SEND_PATH, headers=headers) as response:
        assert response.headers["access-control-allow-origin"] == "https://app.example.com"
        assert response.headers["access-control-allow-credentials"] == "true"
        assert "Origin" in response.headers["vary"]


SANDBOX_ROUTES = [
    ("GET", "/"),
    ("GET", "/static/inbox.js"),
    ("GET", "/sandbox/messages"),
    ("GET", "/sandbox/inbound"),
    ("GET", "/sandbox/stats"),
    ("GET", "/sandbox/faults"),
    ("GET", "/sandbox/openapi.json"),
    ("OPTIONS", "/sandbox/faults"),
    ("OPTIONS", "/sandbox/reset"),
    ("OPTIONS", "/sandbox/messages"),
]


@pytest.mark.parametrize(("method", "path"), SANDBOX_ROUTES)
async def test_inbox_and_control_routes_grant_no_other_origin_anything(
    http: aiohttp.ClientSession, sandbox: SandboxHandle, method: str, path: str
) -> None:
    # A page on another origin can neither read the inbox nor pass a preflight to script it.
    headers = {"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
    async with http.request(method, sandbox.url + path, headers=headers) as response:
        granted = [name for name in response.headers if name.lower().startswith("access-control")]
    assert granted == []


async def test_quota_headers_count_send_requests(
    http: aiohttp.ClientSession, sandbox: SandboxHandle, token: str
) -> None:
    seen = []
    for _ in range(3):
        response = await _post_send(message())(http, sandbox, token)
        async with response:
            seen.append(response.headers["quota-used"])
            assert response.headers["quota-limit"] == "100000"
            assert response.headers["quota-interval"] == "1"
            assert response.headers["quota-time-unit"] == "hour"
            assert response.headers["quota-reset-UTC"].endswith(":00:00Z")
    assert seen == ["1", "2", "3"]
