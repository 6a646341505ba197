"""The real thing: Debian's Alertmanager as an HA pair, with deploy/'s receiver config, posting
to a real `smsbot serve` process whose KPN is the sandbox.

Both nodes deliver every notification here (`--cluster.peer-timeout=0s`: neither waits for the
other's notification log), as happens when gossip is slow or the pair is partitioned; smsbot
must still send one SMS per group. Then serve is killed with SIGKILL twice over: once with SMS
accepted but still in its outbox (KPN down), once while Alertmanager has notifications to
deliver. Nothing is lost, and nothing is sent twice.
"""

from __future__ import annotations

import asyncio
import collections
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.cli.process import start_smsbot
from tests.fakes.slack_api import BOT_TOKEN
from tests.fixtures.alertmanager import Alertmanager, free_port, running_alertmanager
from tests.fixtures.waiting import until

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
TOKEN = "am-to-smsbot-token-0123456789"
ON_CALL = "+31612345678"
WAIT_S = 60.0

ROUTES = f"""
[[alerts.routes]]
name = "on-call"
recipients = ["{ON_CALL}"]
"""


def alertmanager_config(smsbot_port: int, token_file: Path) -> str:
    """deploy/alertmanager/alertmanager.yml, pointed at this test's smsbot, with test timing."""
    config = yaml.safe_load((DEPLOY / "alertmanager" / "alertmanager.yml").read_text())
    (webhook,) = config["receivers"][0]["webhook_configs"]
    webhook["url"] = f"http://127.0.0.1:{smsbot_port}/alerts/alertmanager"
    webhook["http_config"]["authorization"]["credentials_file"] = str(token_file)
    # Each alert here is a group of its own (its own alertname), delivered in one POST: no
    # group needs time to gather its alerts before its first notification.
    config["route"].update(group_wait="100ms", group_interval="2s")
    return yaml.safe_dump(config)


def alert(name: str) -> dict[str, Any]:
    return {
        "labels": {"alertname": name, "severity": "critical", "instance": "db1"},
        "annotations": {"summary": f"{name} on db1"},
    }


async def eventually(condition: Callable[[], Awaitable[bool]], what: str) -> None:
    await until(condition, what, within=WAIT_S)


class Serve:
    """`smsbot serve` on a fixed port (Alertmanager's config names it), restartable."""

    def __init__(self, port: int, env: dict[str, str], workdir: Path) -> None:
        self.port = port
        self.env = env
        self.workdir = workdir
        self.process: asyncio.subprocess.Process | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self.starts += 1
        log = self.workdir / f"serve-{self.starts}.log"
        with log.open("wb") as stderr:
            self.process = await start_smsbot(
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                env=self.env,
                cwd=self.workdir,
                stderr=stderr,
            )
        assert self.process.stdout is not None
        line = (await asyncio.wait_for(self.process.stdout.readline(), 30)).decode()
        assert line.startswith("smsbot: listening on"), (line, log.read_text())

    async def kill_9(self) -> None:
        assert self.process is not None
        self.process.kill()
        await self.process.wait()

    async def metrics(self, http: aiohttp.ClientSession) -> dict[str, float]:
        async with http.get(f"{self.url}/metrics") as response:
            text = await response.text()
        return {
            sample.name + str(sorted(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
        }

    def logs(self) -> str:
        return "\n".join(p.read_text() for p in sorted(self.workdir.glob("serve-*.log")))


def outbox(metrics: dict[str, float], state: str) -> float:
    return metrics[f"smsbot_outbox_rows[('state', '{state}')]"]


async def delivered_by_both(am: Alertmanager, at_least: int) -> bool:
    """Each node has delivered `at_least` webhook notifications successfully."""
    for node in range(len(am.nodes)):
        sent = await am.metric("alertmanager_notifications_total", node, integration="webhook")
        failed = await am.metric(
            "alertmanager_notifications_failed_total", node, integration="webhook"
        )
        if sent - failed < at_least:
            return False
    return True


async def test_ha_pair_one_sms_per_group_nothing_lost_across_kill_9(
    alertmanager_binary, sandbox, fake_slack, tmp_path
):
    token_file = tmp_path / "smsbot-token"
    token_file.write_text(TOKEN)
    (tmp_path / "smsbot.toml").write_text(ROUTES)
    serve = Serve(
        free_port(),
        {
            "SMSBOT_CONFIG": str(tmp_path / "smsbot.toml"),
            "SMSBOT_ALERTS__TOKEN": TOKEN,
            "SMSBOT_KPN__BASE_URL": sandbox.url,
            "SMSBOT_KPN__CLIENT_ID": "sandbox",
            "SMSBOT_KPN__CLIENT_SECRET": "sandbox",
            # One quick try per outbox attempt: a row waits queued, not sending, while KPN is down.
            "SMSBOT_KPN__MAX_ATTEMPTS": "1",
            # Six groups to one phone within minutes: above the default storm cap of 5.
            "SMSBOT_ALERTS__STORM_MAX": "10",
            "SMSBOT_SLACK__API_URL": fake_slack.api_url,
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": "not-used-here",
            "SMSBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'smsbot.db'}",
        },
        tmp_path,
    )
    await serve.start()
    try:
        async with (
            running_alertmanager(
                alertmanager_config(serve.port, token_file),
                workdir=tmp_path / "alertmanager",
                binary=alertmanager_binary,
                replicas=2,
                peer_timeout="0s",
            ) as am,
            aiohttp.ClientSession() as http,
        ):
            # 1. Three groups, each delivered by both nodes: three SMS.
            await am.post_alerts([alert("DiskFull"), alert("HighCPU"), alert("NodeDown")])
            await eventually(lambda: delivered_by_both(am, 3), "both nodes delivered 3 groups")
            await eventually(
                _async(lambda: len(sandbox.messages()) == 3), "3 SMS reached the sandbox"
            )
            metrics = await serve.metrics(http)
            duplicates = "smsbot_alerts_total[('result', 'duplicate'), ('source', 'alertmanager')]"
            assert metrics[duplicates] == 3  # the second node's copies, each sent nothing

            # 2. KPN is down: two more groups are accepted into the outbox; then SIGKILL.
            sandbox.add_fault(status=503, count=10_000)
            await am.post_alerts([alert("QueueFull"), alert("LinkDown")])
            await eventually(lambda: delivered_by_both(am, 5), "both nodes delivered 5 groups")

            async def both_queued() -> bool:
                state = await serve.metrics(http)
                return outbox(state, "queued") == 2 and outbox(state, "sending") == 0

            await eventually(both_queued, "2 SMS waiting in the outbox")
            await serve.kill_9()

            # 3. While serve is down, a sixth group: Alertmanager's deliveries fail and retry.
            await am.post_alerts([alert("CertExpiring")])

            async def delivery_failed() -> bool:
                # A failed request, not a failed notification: Alertmanager counts the
                # notification failed only when its retries give up (after 10 s at least).
                failed = await am.metric(
                    "alertmanager_notification_requests_failed_total", 0, integration="webhook"
                )
                return failed >= 1

            await eventually(delivery_failed, "Alertmanager failed to reach the killed serve")
            sandbox.clear()  # KPN is back (and the inbox starts again from nothing)
            await serve.start()

            await eventually(lambda: delivered_by_both(am, 6), "both nodes delivered 6 groups")
            await eventually(
                _async(lambda: len(sandbox.messages()) == 3), "the 3 SMS owed reached the sandbox"
            )

            async def outbox_empty() -> bool:
                state = await serve.metrics(http)
                return outbox(state, "queued") == 0 and outbox(state, "sending") == 0

            await eventually(outbox_empty, "the outbox emptied")
            # Each group after the first three, once: none lost, none twice.
            names = collections.Counter(
                re.search(r"(QueueFull|LinkDown|CertExpiring)", m["content"]).group(1)  # type: ignore[union-attr]
                for m in sandbox.messages()
            )
            assert names == {"QueueFull": 1, "LinkDown": 1, "CertExpiring": 1}
            assert all(m["mobile_number"] == ON_CALL for m in sandbox.messages())
    finally:
        if serve.process is not None and serve.process.returncode is None:
            await serve.kill_9()
    assert ON_CALL not in serve.logs()  # numbers are masked in every log line


def _async(check: Callable[[], bool]) -> Callable[[], Awaitable[bool]]:
    async def condition() -> bool:
        return check()

    return condition
