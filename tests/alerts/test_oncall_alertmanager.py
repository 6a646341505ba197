"""Reply commands against Debian's real Alertmanager: `1s 1h` silences the group there (its
labels as matchers), Alertmanager then holds back the group's notifications, `1u` lifts it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from smsbot.alerts.silences import SilencesClient
from smsbot.store.alert_groups import GroupState
from tests.alerts.oncall import (
    DISK_FULL,
    ON_CALL,
    alertmanager_config,
    oncall_settings,
    running_oncall,
)
from tests.fixtures.alertmanager import Alertmanager, running_alertmanager
from tests.fixtures.waiting import until


@pytest.fixture
async def clients() -> AsyncIterator[list[SilencesClient]]:
    made: list[SilencesClient] = []
    yield made
    for client in made:
        await client.close()


async def test_reply_1s_1h_silences_the_group_in_alertmanager_and_1u_lifts_it(
    alertmanager_binary: str, sandbox, sqlite_url, tmp_path: Path, clients
) -> None:
    am: list[Alertmanager] = []

    def silences(_route):
        if not clients:
            clients.append(SilencesClient(am[0].url))
        return clients[0]

    def texts() -> list[str]:
        return [m["content"] for m in sandbox.messages() if m["mobile_number"] == ON_CALL]

    settings = oncall_settings(sandbox.url, sqlite_url, escalate=[])
    async with running_oncall(settings, silences=silences) as oncall:
        async with running_alertmanager(
            alertmanager_config(oncall.url + "/alerts/alertmanager"),
            workdir=tmp_path / "am",
            binary=alertmanager_binary,
        ) as alertmanager:
            am.append(alertmanager)
            await alertmanager.post_alerts([{"labels": DISK_FULL}])
            [sms] = await until(texts, "the DiskFull SMS")
            assert sms.startswith("FIRING: DiskFull page db1")

            before = datetime.now(UTC)
            assert await oncall.reply(ON_CALL, "1s 1h")
            [silence] = await until(clients[0].silences, "the silence in Alertmanager")
            assert silence.labels == {"alertname": "DiskFull"}  # the group's labels
            assert silence.created_by == "+31 6 ****5678"
            assert "by SMS" in silence.comment
            assert silence.status.state == "active"
            assert timedelta(minutes=59) < silence.ends_at - before <= timedelta(minutes=61)
            [_, answer] = await until(lambda: len(texts()) == 2 and texts(), "the answer")
            assert answer.startswith("Silenced until ")
            [(_, group)] = await oncall.service.store.groups_of_phone(ON_CALL)
            assert (group.state, group.silence_id) == (GroupState.SILENCED, silence.id)

            # Another DiskFull alert: Alertmanager suppresses it; CpuHot, another group, goes.
            second = {**DISK_FULL, "instance": "db2:9100"}
            await alertmanager.post_alerts([{"labels": second}])

            async def db2_suppressed() -> bool:
                for alert in await alertmanager.get_json("/api/v2/alerts"):
                    if alert["labels"].get("instance") == "db2:9100":
                        return alert["status"]["state"] == "suppressed"
                return False

            await until(db2_suppressed, "the new DiskFull alert suppressed by the silence")
            await alertmanager.post_alerts([{"labels": {"alertname": "CpuHot"}}])
            await until(lambda: any("CpuHot" in t for t in texts()), "the CpuHot SMS")
            assert [t for t in texts() if t.startswith("FIRING") and "DiskFull" in t] == [sms]
            assert texts()[-1].endswith("Reply 2a ack, 2s silence 2h")

            assert await oncall.reply(ON_CALL, "1u")  # DiskFull's code
            expired = await until(
                lambda: _expired(clients[0], silence.id), "the silence expired by 1u"
            )
            assert expired
            # Lifted: Alertmanager notifies the group again, both DiskFull alerts in it.
            await until(lambda: any("FIRING 2: DiskFull" in t for t in texts()), "DiskFull again")
            actions = await oncall.service.store.group_actions(group.id)
            assert [(a.actor, a.action) for a in actions] == [
                ("+31 6 ****5678", "silenced"),
                ("+31 6 ****5678", "unsilenced"),
            ]


async def _expired(client: SilencesClient, silence_id: str) -> bool:
    return (await client.get(silence_id)).status.state == "expired"
