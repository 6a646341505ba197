"""Bodies no client should send get KPN's 400 shapes (or the sandbox's own), never a 500."""

from __future__ import annotations

import aiohttp
import pytest

from smsbot.sandbox.testing import SandboxHandle
from tests.sandbox.helpers import SEND_PATH, TOKEN_PATH

FORM = "application/x-www-form-urlencoded"
DEEP = b"[" * 100_000 + b"]" * 100_000

# (body, content type): each unreadable in its own way.
BAD_BODIES = {
    "broken-multipart": (b"--x\r\nContent-Disposition: form-da", "multipart/form-data; boundary=x"),
    "multipart-without-boundary": (b"client_id=sandbox", "multipart/form-data"),
    "bogus-charset": (b"client_id=sandbox", FORM + "; charset=no-such-charset"),
    "utf-16": ("client_id=sandbox".encode("utf-16"), FORM + "; charset=utf-16"),
    "not-utf-8": (b"client_id=sandbox&client_secret=\xff\xfe", FORM),
    "deep-json": (DEEP, "application/json"),
}
SEND_BODIES = {
    "broken-multipart": BAD_BODIES["broken-multipart"],
    "bogus-charset": (b'{"messages": []}', "application/json; charset=no-such-charset"),
    "utf-16": ('{"messages": []}'.encode("utf-16"), "application/json; charset=utf-16"),
    "not-utf-8": (b'{"sender": "\xff"}', "application/json"),
    "deep-json": (DEEP, "application/json"),
    "deep-object": (b'{"a":' * 100_000 + b"1" + b"}" * 100_000, "application/json"),
}


@pytest.mark.parametrize(("body", "content_type"), BAD_BODIES.values(), ids=BAD_BODIES.keys())
async def test_token_route_answers_apigees_invalid_request(
    http: aiohttp.ClientSession, sandbox: SandboxHandle, body: bytes, content_type: str
) -> None:
    headers = {"Content-Type": content_type}
    async with http.post(sandbox.url + TOKEN_PATH, data=body, headers=headers) as response:
        assert response.status == 400
        answer = await response.json()
    assert set(answer) == {"ErrorCode", "Error"}
    assert answer["ErrorCode"] == "invalid_request"
    assert "send" in answer["Error"]  # says what to send instead


@pytest.mark.parametrize(("body", "content_type"), SEND_BODIES.values(), ids=SEND_BODIES.keys())
async def test_send_route_answers_kpns_error_response(
    http: aiohttp.ClientSession,
    sandbox: SandboxHandle,
    token: str,
    body: bytes,
    content_type: str,
) -> None:
    headers = {"Content-Type": content_type, "Authorization": f"Bearer {token}"}
    async with http.post(sandbox.url + SEND_PATH, data=body, headers=headers) as response:
        assert response.status == 400
        answer = await response.json()
    assert answer["errorResponse"]["code"] == "400"
    assert answer["errorResponse"]["info"] == "body"
    assert sandbox.messages() == []


async def test_a_body_over_the_size_limit_is_kpns_413(
    http: aiohttp.ClientSession, sandbox: SandboxHandle, token: str
) -> None:
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    body = b'{"sender": "' + b"x" * 2_000_000 + b'"}'
    async with http.post(sandbox.url + SEND_PATH, data=body, headers=headers) as response:
        assert response.status == 413
        assert (await response.json())["errorResponse"]["code"] == "413"


@pytest.mark.parametrize("path", ["/sandbox/faults", "/sandbox/inbound"])
@pytest.mark.parametrize(
    "body", [DEEP, b'"\xff"', b"{"], ids=["deep-json", "not-utf-8", "not-json"]
)
async def test_control_routes_refuse_unreadable_json_with_400(
    http: aiohttp.ClientSession, sandbox: SandboxHandle, path: str, body: bytes
) -> None:
    headers = {"Content-Type": "application/json"}
    async with http.post(sandbox.url + path, data=body, headers=headers) as response:
        assert response.status == 400
        assert (await response.json())["error"]


@pytest.mark.parametrize(
    "name", ["a" * 300, "..%2f..%2fconfig.py", "index.html", "missing.js", "%00"]
)
async def test_only_the_inbox_assets_are_static_files(
    http: aiohttp.ClientSession, sandbox: SandboxHandle, name: str
) -> None:
    async with http.get(sandbox.url + "/static/" + name) as response:
        assert response.status == 404
