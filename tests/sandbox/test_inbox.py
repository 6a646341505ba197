"""The web inbox and the JSON routes behind it: served without a build step, bounded, resettable."""

from __future__ import annotations

import re

import aiohttp

from smsbot.sandbox.config import SandboxConfig
from smsbot.sandbox.testing import SandboxHandle, running_sandbox
from tests.sandbox.helpers import fetch_token, message, post_send


async def test_inbox_page_loads_its_script_and_style(
    http: aiohttp.ClientSession, sandbox: SandboxHandle
) -> None:
    async with http.get(sandbox.url + "/") as response:
        assert response.status == 200
        assert response.content_type == "text/html"
        page = await response.text()
    assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', page)
    assert sorted(assets) == ["/static/inbox.css", "/static/inbox.js"]
    for asset in assets:
        async with http.get(sandbox.url + asset) as response:
            assert response.status == 200, asset
            assert (await response.text()).strip()


async def test_inbox_script_never_inserts_html(
    http: aiohttp.ClientSession, sandbox: SandboxHandle
) -> None:
    # What it shows is tested in a browser (test_inbox_browser.py); this is the static rule.
    async with http.get(sandbox.url + "/static/inbox.js") as response:
        script = await response.text()
    assert "textContent" in script
    # Message content is whatever a client sent: it must never be parsed as HTML.
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write"):
        assert sink not in script


async def test_deleting_messages_empties_the_inbox(
    http: aiohttp.ClientSession, sandbox: SandboxHandle, token: str
) -> None:
    for _ in range(2):
        await post_send(http, sandbox, token, message())
    async with http.delete(sandbox.url + "/sandbox/messages") as response:
        assert await response.json() == {"deleted": 2}
    async with http.get(sandbox.url + "/sandbox/messages") as response:
        assert await response.json() == []
    assert sandbox.messages() == []


async def test_inbox_keeps_only_the_newest_messages(http: aiohttp.ClientSession) -> None:
    async with running_sandbox(config=SandboxConfig(max_messages=3)) as sandbox:
        token = await fetch_token(http, sandbox)
        for number in range(5):
            await post_send(http, sandbox, token, message(content=f"message {number}"))
        async with http.get(sandbox.url + "/sandbox/stats") as response:
            stats = await response.json()
    assert [item["content"] for item in sandbox.messages()] == [
        "message 2",
        "message 3",
        "message 4",
    ]
    assert stats["messages"] == 3
    assert stats["messages_received"] == 5


async def test_stats_count_requests_served_including_refused_ones(
    http: aiohttp.ClientSession, sandbox: SandboxHandle, token: str
) -> None:
    sandbox.add_fault(status=503)
    await post_send(http, sandbox, token, message())
    await post_send(http, sandbox, None, message())
    await post_send(http, sandbox, token, message())
    async with http.get(sandbox.url + "/sandbox/stats") as response:
        stats = await response.json()
    assert stats["token_requests"] == 1 == sandbox.token_requests
    assert stats["send_requests"] == 3 == sandbox.send_requests
    assert stats["messages"] == 1
    assert stats["quota"]["used"] == 1  # the fault and the 401 did not reach the quota
    assert stats["faults_pending"] == []


async def test_reset_clears_everything_but_issued_tokens(
    http: aiohttp.ClientSession, sandbox: SandboxHandle, token: str
) -> None:
    await post_send(http, sandbox, token, message())
    sandbox.add_fault(status=503, count=3)
    async with http.get(sandbox.url + "/sandbox/stats") as response:
        before = await response.json()
    counters = sorted(name for name, value in before.items() if isinstance(value, int))
    assert before["messages_received"] == before["send_requests"] == 1
    async with http.post(sandbox.url + "/sandbox/reset", json={}) as response:
        stats = await response.json()
    # Every counter the stats show, those added later included.
    assert {name: stats[name] for name in counters} == dict.fromkeys(counters, 0)
    assert stats["quota"]["used"] == 0
    assert stats["faults_pending"] == []
    status, _, _ = await post_send(http, sandbox, token, message())
    assert status == 200


async def test_reset_without_a_json_content_type_is_refused(
    http: aiohttp.ClientSession, sandbox: SandboxHandle, token: str
) -> None:
    # A web page elsewhere can POST text/plain without a preflight; it must change nothing.
    await post_send(http, sandbox, token, message())
    for headers in ({}, {"Content-Type": "text/plain"}):
        async with http.post(sandbox.url + "/sandbox/reset", headers=headers) as response:
            assert response.status == 415
            assert "application/json" in (await response.json())["error"]
    assert len(sandbox.messages()) == 1


async def test_handle_clear_matches_reset(
    http: aiohttp.ClientSession, sandbox: SandboxHandle, token: str
) -> None:
    await post_send(http, sandbox, token, message())
    sandbox.add_fault(status=500)
    sandbox.clear()
    assert (sandbox.messages(), sandbox.send_requests, sandbox.token_requests) == ([], 0, 0)
    status, _, _ = await post_send(http, sandbox, token, message())
    assert status == 200
