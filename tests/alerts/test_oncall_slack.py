"""The alert group's mirror message in Slack: one message per group with its state and the
buttons, its SMS and events in the thread, the buttons acting under the allowlist. The bot as
`smsbot serve` composes it (HTTP mode), the fake Slack Web API, signed requests."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
from pydantic import SecretStr
from slack_sdk.web.async_client import AsyncWebClient

from smsbot.alerts.group_mirror import ACK_ACTION, GroupMirror
from smsbot.alerts.silences import SilencesClient
from smsbot.cli.serve_cmd import SlackMode, running_bot
from smsbot.sandbox.testing import running_sandbox
from smsbot.settings import Settings
from smsbot.store import Store
from smsbot.store.alert_groups import GroupState
from tests.alerts.oncall import (
    DISK_FULL,
    alertmanager_config,
    firing,
    oncall_settings,
    post_alert,
    resolved,
    running_oncall,
    slack_oncall_settings,
)
from tests.fakes import slack_requests as sr
from tests.fakes.slack_api import BOT_TOKEN
from tests.fixtures.alertmanager import running_alertmanager
from tests.fixtures.waiting import until

ALICE = "+31611112222"


def settings_for(sandbox_url: str, fake, database_url: str, port: int, **alerts: Any) -> Settings:
    escalate = {"escalate": [{"after": "5m", "to": ["+31687654321"]}]}
    return slack_oncall_settings(sandbox_url, fake, database_url, port, escalate, **alerts)


def click(fake, message: dict[str, Any], user: str, action_id: str, response_id: str):
    [actions] = [b for b in message["blocks"] if b["type"] == "actions"]
    [button] = [e for e in actions["elements"] if e["action_id"] == action_id]
    return {
        "type": "block_actions",
        "team": {"id": sr.TEAM_ID, "domain": "fake-workspace"},
        "user": {
            "id": user,
            "username": user.lower(),
            "name": user[2:].lower(),
            "team_id": sr.TEAM_ID,
        },
        "api_app_id": "AFAKE",
        "token": "deprecated-verification-token",
        "container": {"type": "message", "message_ts": message["ts"], "channel_id": "C0ALERTS"},
        "channel": {"id": "C0ALERTS", "name": "alerts"},
        "message": message,
        "trigger_id": sr.trigger_id(),
        "response_url": fake.response_url(response_id),
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": actions["block_id"],
                "value": button["value"],
                "text": button["text"],
                "action_ts": f"{time.time():.6f}",
            }
        ],
        "is_enterprise_install": False,
    }


async def test_the_mirror_message_its_thread_and_the_buttons(
    fake_slack, sqlite_url, unused_tcp_port: int
) -> None:
    fake_slack.add_user("U0ALICE", "alice", phone="06 1111 2222")
    fake_slack.add_user("U0DAVE", "dave")
    fake_slack.add_channel("C0ALERTS", "alerts")
    async with running_sandbox(delivery_delay_ms=0) as sandbox:
        settings = settings_for(sandbox.url, fake_slack, sqlite_url, unused_tcp_port)
        async with (
            running_bot(
                settings, host="127.0.0.1", port=unused_tcp_port, mode=SlackMode.HTTP
            ) as bot,
            aiohttp.ClientSession() as http,
        ):
            await post_alert(http, bot.url, firing())

            def in_channel() -> list[dict[str, Any]]:
                return [m for m in fake_slack.messages if m["channel"] == "C0ALERTS"]

            [parent, line] = await until(lambda: len(in_channel()) == 2 and in_channel(), "2")
            assert "*Firing*: HighCPU" in parent["blocks"][0]["text"]["text"]
            assert "thread_ts" not in parent and line["thread_ts"] == parent["ts"]
            assert line["text"].startswith(":incoming_envelope: Alert SMS sent to +31 6 ****2222")
            assert "+31 6 ****2222" in line["text"]

            def the_message() -> dict[str, Any]:
                [message] = [m for m in in_channel() if m["ts"] == parent["ts"]]
                return message

            # Updated in place as the SMS went out and KPN reported it delivered.
            await until(
                lambda: "alice +31 6 ****2222 (code 1): delivered" in json.dumps(the_message()),
                "the delivery shown per recipient",
            )
            assert ALICE not in json.dumps(the_message())

            # Someone the allowlist does not name: told so, nothing done.
            sender = sr.SlackSender(http, f"{bot.url}/slack/events")
            status, _ = await sender.interaction(
                click(fake_slack, parent, "U0DAVE", ACK_ACTION, "r1")
            )
            assert status == 200
            await fake_slack.wait_for(lambda: fake_slack.posts_to("r1"))
            assert "not on smsbot's allowlist" in fake_slack.posts_to("r1")[0]["text"]

            status, _ = await sender.interaction(
                click(fake_slack, parent, "U0ALICE", ACK_ACTION, "r2")
            )
            assert status == 200
            await fake_slack.wait_for(lambda: fake_slack.posts_to("r2"))
            assert fake_slack.posts_to("r2")[0]["text"].startswith("Acknowledged: HighCPU")
            [*_, event] = await until(lambda: len(in_channel()) == 3 and in_channel(), "event")
            assert event["thread_ts"] == parent["ts"]
            assert event["text"] == "Acknowledged by alice, by Slack."
            # The message itself, updated in place: its state, no Acknowledge button left.
            updated = the_message()
            assert "*Acknowledged* by alice (Slack)" in updated["blocks"][0]["text"]["text"]
            assert ACK_ACTION not in json.dumps(updated["blocks"])
            [(_, group)] = await bot.service.store.groups_of_phone(ALICE)
            assert (group.state, group.acked_by, group.acked_via) == (
                GroupState.ACKNOWLEDGED,
                "alice",
                "slack",
            )
            # Audited with the Slack user who clicked; the refused click did nothing.
            actions = await bot.service.store.group_actions(group.id)
            assert [(a.actor, a.via, a.action) for a in actions] == [
                ("U0ALICE", "slack", "acknowledged")
            ]


async def test_an_escalation_and_the_resolve_are_told_in_the_groups_thread(
    fake_slack, sandbox, sqlite_url
) -> None:
    fake_slack.add_channel("C0ALERTS", "alerts")
    settings = oncall_settings(sandbox.url, sqlite_url, mirror_channel="C0ALERTS")
    settings = settings.model_copy(
        update={"slack": settings.slack.model_copy(update=_slack(fake_slack))}
    )
    async with running_oncall(settings) as oncall:
        body = firing()
        await oncall.alert(body)
        [parent, _line] = await until(
            lambda: len(fake_slack.messages) == 2 and fake_slack.messages, "the mirror"
        )
        [_step] = await oncall.later(timedelta(minutes=5))
        await oncall.alert(resolved(body))

        def thread() -> list[str]:
            return [m["text"] for m in fake_slack.messages if m.get("thread_ts") == parent["ts"]]

        await until(lambda: any(t.startswith("Resolved") for t in thread()), "the resolve")
        events = [t for t in thread() if not t.startswith(":")]  # the SMS lines start with emoji
        assert events == [
            "Escalated (step 1): not acknowledged after 5m, paged 1 more person.",
            "Resolved.",
        ]
        # The escalation SMS is mirrored in the thread too, and the message ends resolved.
        await until(lambda: sum("+31 6 ****4321" in t for t in thread()) == 1, "its SMS line")
        [message] = [m for m in fake_slack.messages if m["ts"] == parent["ts"]]
        assert "*Resolved*" in message["blocks"][0]["text"]["text"]
        assert "actions" not in [b["type"] for b in message["blocks"]]


def _slack(fake) -> dict[str, Any]:
    return {"bot_token": SecretStr(BOT_TOKEN), "api_url": fake.api_url}


async def test_the_silence_button_silences_the_group_in_the_real_alertmanager(
    alertmanager_binary: str, fake_slack, sqlite_url, tmp_path, unused_tcp_port: int
) -> None:
    fake_slack.add_user("U0ALICE", "alice", phone="06 1111 2222")
    fake_slack.add_channel("C0ALERTS", "alerts")
    hook = f"http://127.0.0.1:{unused_tcp_port}/alerts/alertmanager"
    async with (
        running_sandbox(delivery_delay_ms=0) as sandbox,
        running_alertmanager(
            alertmanager_config(hook), workdir=tmp_path / "am", binary=alertmanager_binary
        ) as am,
    ):
        settings = settings_for(
            sandbox.url, fake_slack, sqlite_url, unused_tcp_port, alertmanager_url=am.url
        )
        async with (
            running_bot(
                settings, host="127.0.0.1", port=unused_tcp_port, mode=SlackMode.HTTP
            ) as bot,
            aiohttp.ClientSession() as http,
            SilencesClient(am.url) as silences,
        ):
            await am.post_alerts([{"labels": DISK_FULL}])
            [parent, _] = await until(
                lambda: len(fake_slack.messages) == 2 and fake_slack.messages, "the mirror"
            )
            sender = sr.SlackSender(http, f"{bot.url}/slack/events")
            payload = click(fake_slack, parent, "U0ALICE", "alert_group_silence_4h", "r1")
            before = datetime.now(UTC)
            assert (await sender.interaction(payload))[0] == 200
            await fake_slack.wait_for(lambda: fake_slack.posts_to("r1"))
            assert fake_slack.posts_to("r1")[0]["text"].startswith("Silenced until ")
            [silence] = await silences.silences()
            assert silence.labels == {"alertname": "DiskFull"} and silence.created_by == "alice"
            assert "by Slack" in silence.comment
            assert timedelta(hours=3, minutes=59) < silence.ends_at - before
            assert silence.ends_at - before <= timedelta(hours=4, minutes=1)

            def thread() -> list[str]:
                return [
                    m["text"] for m in fake_slack.messages if m.get("thread_ts") == parent["ts"]
                ]

            await until(
                lambda: any(t.startswith("Silenced by alice, by Slack, for 4h") for t in thread()),
                "the silence in the thread",
            )
            [message] = [m for m in fake_slack.messages if m["ts"] == parent["ts"]]
            assert "*Silenced* until" in message["blocks"][0]["text"]["text"]


async def test_two_replicas_starting_one_groups_message_leave_one(fake_slack, sqlite_url) -> None:
    fake_slack.add_channel("C0ALERTS", "alerts")
    settings = Settings(_env_file=None, database_url=sqlite_url)
    store = await Store.open(sqlite_url)
    try:
        observed = await store.observe_group(
            source="alertmanager",
            route="on-call",
            group_key="g",
            labels={"alertname": "HighCPU"},
            firing=True,
            mirror_channel="C0ALERTS",
        )
        mirrors = [
            GroupMirror(
                AsyncWebClient(token=BOT_TOKEN, base_url=fake_slack.api_url),
                store,
                timezone=settings.timezone,
            )
            for _ in range(2)
        ]
        threads = await asyncio.gather(*(m.thread_of(observed.group.id) for m in mirrors))
        assert threads[0] == threads[1]
        assert [m["ts"] for m in fake_slack.messages] == [threads[0][1]]
        assert len(fake_slack.calls_to("chat.postMessage")) == 2  # one was taken back
    finally:
        await store.close()
