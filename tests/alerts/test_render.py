import json

import pytest

from smsbot.alerts.gsm import prefer_gsm
from smsbot.alerts.payloads import AlertmanagerPayload, GrafanaPayload, parse_payload
from smsbot.alerts.render import AlertTemplate, render
from smsbot.errors import ConfigurationError
from smsbot.sms.replacements import gsm_replacement
from smsbot.sms.text import analyze, analyze_each
from tests.alerts.payloads import load, raw


def group_of(body: dict, model=AlertmanagerPayload):
    return parse_payload(model, json.dumps(body).encode())


def firing():
    return parse_payload(AlertmanagerPayload, raw("alertmanager_firing"))


def test_several_alerts_fixed_part_first_then_summary():
    group = firing()
    text = render(group, group.alerts)
    assert text == (
        "FIRING 3: HighCPU critical db1.example.com, db2.example.com, db3.example.com"
        " - CPU usage above 90% on the database hosts"
    )
    assert analyze(text).parts == 1


def test_one_alert_has_no_count():
    group = firing()
    assert render(group, group.alerts[:1]).startswith("FIRING: HighCPU critical db1.example.com - ")


def test_resolved_uses_description_when_there_is_no_summary():
    group = parse_payload(AlertmanagerPayload, raw("alertmanager_resolved"))
    assert render(group, group.alerts) == (
        "RESOLVED: ICMP ping failed major 172.29.254.30"
        " - 172.29.254.30 does not reply to ICMP pings"
    )


def test_truncated_alerts_count_as_more():
    group = parse_payload(AlertmanagerPayload, raw("alertmanager_truncated"))
    text = render(group, group.alerts)
    assert text.startswith("FIRING 42: KubePodCrashLooping warning checkout-7d9f8b6c5-00001")
    assert "+" in text and text.split(" - ")[0].endswith(" more")
    # Shown names plus "+N more" add up to the 42 alerts.
    head = text.split(" - ")[0]
    shown = head.split("warning ", 1)[1].rsplit(" +", 1)[0].split(", ")
    hidden = int(head.rsplit("+", 1)[1].split()[0])
    assert len(shown) + hidden == 42
    assert analyze(text).parts == 1


def test_long_summary_is_cut_with_dots_to_one_part():
    body = load("alertmanager_firing")
    body["commonAnnotations"]["summary"] = "word " * 100
    group = group_of(body)
    text = render(group, group.alerts)
    assert text.endswith("...")
    assert text.startswith("FIRING 3: HighCPU critical")
    assert analyze(text).parts == 1
    assert analyze(text).units > 150  # cut as late as fits, not early
    assert not text.endswith(" ...")


def test_max_parts_allows_more_text():
    body = load("alertmanager_firing")
    body["commonAnnotations"]["summary"] = "x" * 400
    group = group_of(body)
    assert analyze(render(group, group.alerts, max_parts=2)).parts == 2
    assert len(render(group, group.alerts, max_parts=2)) > 250


def test_many_instances_leave_room_for_the_summary():
    body = load("alertmanager_firing")
    template = body["alerts"][0]
    body["alerts"] = [
        {
            **template,
            "labels": {**template["labels"], "instance": f"very-long-host-name-{i}"},
            "fingerprint": f"{i:016x}",
        }
        for i in range(30)
    ]
    group = group_of(body)
    text = render(group, group.alerts)
    head, summary = text.split(" - ", 1)
    assert head.endswith("more")
    assert summary.startswith("CPU usage above 90%")
    assert analyze(text).parts == 1


def test_curly_quotes_and_dashes_are_replaced_to_stay_gsm():
    body = load("alertmanager_firing")
    body["commonAnnotations"]["summary"] = "Disk “data” is full – it’s at 99%…\u00a0now"
    group = group_of(body)
    text = render(group, group.alerts[:1])
    assert text.endswith('Disk "data" is full - it\'s at 99%... now')
    assert analyze(text).encoding == "GSM-7"


def test_really_non_latin_text_stays_ucs2_and_fits_one_part():
    body = load("alertmanager_firing")
    body["commonAnnotations"]["summary"] = "Сервер базы данных перегружен – " * 5
    group = group_of(body)
    text = render(group, group.alerts[:1])
    info = analyze(text)
    assert info.encoding == "UCS-2"
    assert "Сервер" in text and text.endswith("...")
    assert info.parts == 1


def test_grafana_alerts_without_common_name_list_both():
    group = parse_payload(GrafanaPayload, raw("grafana_firing"))
    text = render(group, group.alerts)
    # No instance-like label in Grafana's example: the count says how many.
    assert text.startswith("FIRING 2: High memory usage/High CPU usage - ")
    assert text.endswith("This alert was triggered for zone us-1")


def test_mixed_group_reports_the_firing_alerts():
    body = load("alertmanager_firing")
    body["alerts"][0]["status"] = "resolved"
    group = group_of(body)
    assert render(group, group.alerts).startswith(
        "FIRING 2: HighCPU critical db2.example.com, db3.example.com - "
    )


def test_template_override():
    group = firing()
    template = AlertTemplate("[$severity] $alertname x$count on $instances: ${summary}")
    assert render(group, group.alerts, template=template, route="db") == (
        "[critical] HighCPU x3 on db1.example.com, db2.example.com, db3.example.com:"
        " CPU usage above 90% on the database hosts"
    )


def test_template_cuts_the_summary_first():
    body = load("alertmanager_firing")
    body["commonAnnotations"]["summary"] = "y" * 300
    group = group_of(body)
    text = render(
        group, group.alerts, template=AlertTemplate("$summary [$route $status]"), route="db"
    )
    assert text.endswith("... [db FIRING]")
    assert analyze(text).parts == 1


@pytest.mark.parametrize(
    ("source", "says"),
    [("$status ${nope}", r"unknown field\(s\) nope"), ("cost: $5", "not a valid template")],
)
def test_bad_templates_are_configuration_errors(source, says):
    with pytest.raises(ConfigurationError, match=says):
        AlertTemplate(source)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("It’s “up” – again…", 'It\'s "up" - again...'),
        ("CPU 90°C", "CPU 90C"),
        # ≥ has no stand-in in smsbot.sms.replacements: kept (in UCS-2) rather than lost.
        ("CPU 90°C ≥ limit", "CPU 90°C ≥ limit"),
        ("• disk · full", "- disk - full"),  # the same stand-ins as smsbot.sms.replacements
        ("Zürich, Kraków", "Zürich, Krakow"),  # ü is GSM; ó is not, and becomes o
        ("disk full 🔥", "disk full "),
        ("⚠\ufe0f disk\u2003full", " disk full"),  # an emoji sequence, an em space
        ("plain text", "plain text"),
        ("Ошибка – ’", "Ошибка – ’"),  # really Cyrillic: left alone
    ],
)
def test_prefer_gsm(given, expected):
    assert prefer_gsm(given) == expected


@pytest.mark.parametrize("char", "‘’“”–—…•·\u00a0\u200bëç™")
def test_alert_stand_ins_are_the_ones_slack_users_are_offered(char):
    assert prefer_gsm(f"a{char}b") == f"a{gsm_replacement(char)}b"


@pytest.mark.parametrize("max_parts", [1, 2, 3])
@pytest.mark.parametrize("filler", ["a", "{", "é", "’"])  # one septet, two, UCS-2 letter, sign
def test_the_quick_part_count_agrees_with_analyze_at_every_length(max_parts, filler):
    from smsbot.alerts.render import _fits

    for length in range(0, 500):
        for text in ("x" * length, "x" * max(0, length - 1) + filler * min(1, length)):
            # analyze_each: counted character by character, not by a shortcut like _fits's.
            counted = analyze_each(text).parts
            assert _fits(text, max_parts) == (counted <= max_parts), (length, text)


def test_plain_gsm_text_is_returned_as_it_is():
    text = "FIRING 2: Disk {full} [db1] ~90% |ext| €5 @home £ ¥ è Ä ñ"
    assert prefer_gsm(text) is text


@pytest.mark.parametrize("script", ["data", "данных"], ids=["latin", "cyrillic"])
def test_control_characters_become_spaces_and_overrides_go(script):
    # Label and annotation values nobody typed for a phone: a NUL cannot even be stored.
    body = load("alertmanager_firing")
    body["commonAnnotations"]["summary"] = f"Disk\x00{script}\x07 is \u202efull\u202c\x1b[0m"
    body["commonLabels"]["severity"] = "critical\x00"
    group = group_of(body)
    text = render(group, group.alerts[:1])
    assert text.endswith(f"critical db1.example.com - Disk {script} is full [0m")
    assert text.isprintable()


HINT = "Reply 12a ack, 12s silence 2h"


@pytest.mark.parametrize("max_parts", [1, 2, 3])
@pytest.mark.parametrize(
    "template", [None, AlertTemplate("$status $alertname: ${summary} ($route)")]
)
def test_the_reply_hint_ends_the_sms_and_the_alert_makes_room_for_it(max_parts, template):
    body = load("alertmanager_firing")
    body["commonAnnotations"]["summary"] = "CPU usage above 90% on the database hosts " * 20
    group = group_of(body)
    text = render(
        group, group.alerts, max_parts=max_parts, template=template, route="db", hint=HINT
    )
    assert text.endswith("...\n" + HINT)  # the alert cut, never the hint
    assert analyze(text).parts == max_parts
    assert text.startswith("FIRING")


def test_a_short_alert_keeps_all_of_its_text_before_the_hint():
    group = firing()
    text = render(group, group.alerts, hint=HINT)
    assert text == render(group, group.alerts) + "\n" + HINT
    assert analyze(text).parts == 1
