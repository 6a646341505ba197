import json

import pytest

from smsbot.alerts.payloads import (
    AlertmanagerPayload,
    GrafanaPayload,
    PayloadError,
    parse_payload,
)
from tests.alerts.payloads import load, raw


def test_alertmanager_example_parses_with_every_field():
    group = parse_payload(AlertmanagerPayload, raw("alertmanager_firing"))
    assert group.version == "4"
    assert group.group_key == '{}/{team="db"}:{alertname="HighCPU"}'
    assert group.status == "firing"
    assert [a.labels["instance"] for a in group.alerts] == [
        "db1.example.com:9100",
        "db2.example.com:9100",
        "db3.example.com:9100",
    ]
    assert group.alerts[0].fingerprint == "b0b2a4d1f3c5e7a9"
    assert group.common_annotations["summary"].startswith("CPU usage above 90%")
    assert group.alerts[0].starts_at is not None and group.alerts[0].starts_at.year == 2024


def test_null_common_annotations_become_empty():
    group = parse_payload(AlertmanagerPayload, raw("alertmanager_resolved"))
    assert group.common_annotations == {}
    assert group.status == "resolved"


def test_truncated_alerts_are_kept():
    group = parse_payload(AlertmanagerPayload, raw("alertmanager_truncated"))
    assert group.truncated_alerts == 32
    assert len(group.alerts) == 10


def test_grafana_example_parses_with_grafana_fields():
    group = parse_payload(GrafanaPayload, raw("grafana_firing"))
    assert isinstance(group, GrafanaPayload)
    assert group.org_id == 1
    assert group.state == "alerting"
    assert group.title == "[FIRING:2]  (blue)"
    assert group.alerts[0].values == {"B": 44.23943737541908, "C": 1}
    assert group.alerts[1].silence_url.startswith("https://play.grafana.org/alerting/silence/")


def test_unknown_keys_are_ignored():
    body = load("alertmanager_firing")
    body["somethingNew"] = {"x": 1}
    body["alerts"][0]["newField"] = True
    parse_payload(AlertmanagerPayload, json.dumps(body).encode())


def test_identity_falls_back_to_labels_without_fingerprint():
    body = load("alertmanager_firing")
    del body["alerts"][0]["fingerprint"]
    group = parse_payload(AlertmanagerPayload, json.dumps(body).encode())
    assert group.alerts[0].identity.startswith("alertname=HighCPU,instance=db1")
    assert group.alerts[1].identity == "c1d3e5f7a9b1c3d5"


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"{not json", "not valid JSON"),
        (b"[]", "body: Input should be an object"),
        (b'{"status": "firing", "alerts": []}', "alerts: List should have at least 1 item"),
        (b'{"status": "burning", "alerts": [{"status": "firing"}]}', "status: Input should be"),
        (b'{"alerts": [{"status": "firing"}]}', "status: Field required"),
        (b'{"status": "firing", "alerts": [{"labels": {}}]}', "alerts.0.status: Field required"),
        (
            b'{"status": "firing", "truncatedAlerts": -1, "alerts": [{"status": "firing"}]}',
            "truncatedAlerts: Input should be greater than or equal to 0",
        ),
    ],
)
def test_wrong_bodies_say_what_is_wrong(body, says):
    with pytest.raises(PayloadError) as caught:
        parse_payload(AlertmanagerPayload, body)
    assert says in str(caught.value)


def test_schema_error_names_the_webhook_kind():
    with pytest.raises(PayloadError, match="not a Grafana Alerting webhook payload"):
        parse_payload(GrafanaPayload, b'{"status": "firing"}')
