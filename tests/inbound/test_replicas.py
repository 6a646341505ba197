"""Two replicas on one PostgreSQL database, composed as `smsbot serve` composes them: KPN posts
the same inbound SMS to both at once (a retry landing on the other replica) and it is stored and
posted into its thread once; a reply reaching the replica that did not send the SMS still finds
its conversation, as the window and the matching are the store's."""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path

import aiohttp
import pytest

from smsbot.cli.serve_cmd import SlackMode, running_bot
from smsbot.kpn.inbound import example_payload
from smsbot.sandbox.testing import SandboxHandle
from smsbot.store import InboundOutcome
from tests.fakes import slack_requests as sr
from tests.fakes.slack_api import FakeSlackApi
from tests.fixtures.waiting import until
from tests.inbound.test_loop import TOKEN, Loop, loop_settings, send_from_slack
from tests.slack.conftest import set_up_workspace

pytestmark = pytest.mark.postgres


async def test_two_replicas_post_each_inbound_sms_once_into_its_thread(
    fake_slack: FakeSlackApi, sandbox: SandboxHandle, tmp_path: Path, postgres_url: str
) -> None:
    settings = loop_settings(fake_slack, sandbox, tmp_path).model_copy(
        update={"database_url": postgres_url}
    )
    set_up_workspace(fake_slack)
    async with contextlib.AsyncExitStack() as stack:
        first, second = [
            await stack.enter_async_context(
                running_bot(settings, host="127.0.0.1", port=0, mode=SlackMode.HTTP)
            )
            for _ in range(2)
        ]
        http = await stack.enter_async_context(aiohttp.ClientSession())
        sender = sr.SlackSender(http, first.url + "/slack/events")
        loop = Loop(first, fake_slack, sandbox, sender, http)
        confirmation = await send_from_slack(loop)  # through the first replica

        async def kpn_posts(bot_url: str, message_id: str, content: str) -> int:
            body = example_payload(
                sender="31612345678",
                recipient="3197012345678",
                message_id=message_id,
                content=content,
            )
            url = f"{bot_url}/kpn/inbound/{TOKEN}"
            async with http.post(url, data=json.dumps(body)) as response:
                return response.status

        for round_ in range(5):
            statuses = await asyncio.gather(
                kpn_posts(first.url, f"m-{round_}", f"reply {round_}"),
                kpn_posts(second.url, f"m-{round_}", f"reply {round_}"),
            )
            assert statuses == [200, 200]
        # Only the second replica hears this one; the SMS was sent by the first.
        assert await kpn_posts(second.url, "m-last", "last reply") == 200

        async def handled() -> list | None:
            found = await first.service.store.recent_inbound()
            done = [r for r in found if r.outcome is not InboundOutcome.RECEIVED]
            return done if len(done) == 6 else None

        records = await until(handled, "six inbound SMS handled")
        assert {r.outcome for r in records} == {InboundOutcome.THREADED}
        thread = [m for m in fake_slack.messages if m.get("thread_ts") == confirmation["ts"]]
        texts = sorted(str(m["blocks"]) for m in thread)
        assert len(thread) == 6, texts
        for content in [*(f"reply {n}" for n in range(5)), "last reply"]:
            assert sum(content in text for text in texts) == 1
