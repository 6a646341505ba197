"""The Alertmanager launcher (tests/fixtures/alertmanager.py) starts real nodes that work."""

from __future__ import annotations

from pathlib import Path

from tests.fixtures.alertmanager import running_alertmanager
from tests.fixtures.waiting import until

CONFIG = """
route:
  receiver: nowhere
receivers:
  - name: nowhere
"""


async def test_single_node_takes_alerts(alertmanager_binary: str, tmp_path: Path) -> None:
    async with running_alertmanager(CONFIG, workdir=tmp_path, binary=alertmanager_binary) as am:
        await am.post_alerts([{"labels": {"alertname": "DiskFull", "host": "db1"}}])
        alerts = await am.get_json("/api/v2/alerts")
        assert [a["labels"]["alertname"] for a in alerts] == ["DiskFull"]
        status = await am.get_json("/api/v2/status")
        assert status["cluster"]["status"] == "disabled"


async def test_ha_pair_gossips_silences(alertmanager_binary: str, tmp_path: Path) -> None:
    async with running_alertmanager(
        CONFIG, workdir=tmp_path, binary=alertmanager_binary, replicas=2
    ) as am:
        assert len({node.url for node in am.nodes}) == 2
        silence = {
            "matchers": [{"name": "alertname", "value": "DiskFull", "isRegex": False}],
            "startsAt": "2020-01-01T00:00:00Z",
            "endsAt": "2099-01-01T00:00:00Z",
            "createdBy": "test",
            "comment": "gossip check",
        }
        async with am.session.post(f"{am.nodes[0].url}/api/v2/silences", json=silence) as r:
            assert r.status == 200, await r.text()
            silence_id = (await r.json())["silenceID"]

        # The silence made on the first node reaches the second through cluster gossip.
        async def on_the_second_node() -> bool:
            return silence_id in [s["id"] for s in await am.get_json("/api/v2/silences", node=1)]

        await until(on_the_second_node, "the silence gossiped to the second node")
