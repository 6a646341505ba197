from datetime import UTC, datetime

import pytest

from smsbot.alerts.routing import Matcher, load_routes, routes_for
from smsbot.errors import ConfigurationError


@pytest.mark.parametrize(
    ("matcher", "labels", "expected"),
    [
        ('severity="critical"', {"severity": "critical"}, True),
        ("severity=critical", {"severity": "warning"}, False),
        ('severity!="info"', {"severity": "critical"}, True),
        ('severity!="info"', {}, True),
        ('instance=~"db[0-9]+"', {"instance": "db12"}, True),
        # Anchored like Alertmanager: a partial match is no match.
        ('instance=~"db[0-9]+"', {"instance": "db12.example.com"}, False),
        ('instance=~"db.*|web.*"', {"instance": "web1"}, True),
        ('env!~"dev|test"', {"env": "prod"}, True),
        ('env!~"dev|test"', {"env": "dev"}, False),
        # A missing label is the empty string, as in Alertmanager.
        ('team=""', {}, True),
        ('team=~".+"', {}, False),
    ],
)
def test_matchers(matcher, labels, expected):
    assert Matcher.parse(matcher).matches(labels) is expected


def test_quoted_value_with_escaped_quote():
    assert Matcher.parse(r'summary="say \"hi\""').value == 'say "hi"'


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        ({"name": "r", "recipients": []}, "recipients: List should have at least 1 item"),
        ({"recipients": ["0612345678"]}, "name: Field required"),
        ({"name": "r", "recipients": ["0201234567"]}, "recipient '0201234567' is neither"),
        ({"name": "r", "recipients": ["0612345678"], "matchers": ["severity"]}, "is not label"),
        ({"name": "r", "recipients": ["0612345678"], "matchers": ["a=~("]}, "bad regular expr"),
        (
            {"name": "r", "recipients": ["0612345678"], "recipient": []},
            "unknown key recipient (did you mean recipients?)",
        ),
        (
            {
                "name": "r",
                "recipients": ["0612345678"],
                "quiet_hours": {"start": "22:00", "end": "07:00", "timezone": "Mars/Olympus"},
            },
            "unknown timezone 'Mars/Olympus'",
        ),
        ({"name": "", "recipients": ["0612345678"]}, "name: String should have at least 1"),
        ({"name": "r" * 101, "recipients": ["0612345678"]}, "at most 100 characters"),
        (
            {"name": "r", "recipients": ["0612345678"], "mirror_channel": "#" + "a" * 64},
            "mirror_channel: at most 64 characters; give the channel's ID (C0123ALERTS",
        ),
    ],
)
def test_bad_routes_are_configuration_errors_naming_route_and_field(raw, says):
    with pytest.raises(ConfigurationError) as caught:
        load_routes([{"name": "ok", "recipients": ["0612345678"]}, raw])
    assert str(caught.value).startswith("alerts.routes[1]")
    assert says in str(caught.value)


def test_duplicate_route_names_are_refused():
    with pytest.raises(ConfigurationError, match="used twice"):
        load_routes([{"name": "a", "recipients": ["0612345678"]}] * 2)


def test_recipients_are_numbers_users_and_groups():
    (route,) = load_routes(
        [{"name": "r", "recipients": ["06-12345678", "U024BE7LH", "W012A3CDE", "S0614TZR7"]}]
    )
    assert [(r.kind, r.value) for r in route.recipients] == [
        ("number", "+31612345678"),
        ("user", "U024BE7LH"),
        ("user", "W012A3CDE"),
        ("usergroup", "S0614TZR7"),
    ]


ROUTES = [
    {"name": "db", "matchers": ['team="db"'], "recipients": ["0611111111"], "continue": True},
    {"name": "critical", "matchers": ['severity="critical"'], "recipients": ["0622222222"]},
    {"name": "catch-all", "recipients": ["0633333333"]},
]


@pytest.mark.parametrize(
    ("labels", "names"),
    [
        ({"team": "db", "severity": "critical"}, ["db", "critical"]),  # continue, then first
        ({"team": "db", "severity": "warning"}, ["db", "catch-all"]),
        ({"team": "web", "severity": "critical"}, ["critical"]),  # first match wins
        ({"team": "web"}, ["catch-all"]),
    ],
)
def test_first_match_wins_unless_continue(labels, names):
    assert [r.name for r in routes_for(load_routes(ROUTES), labels)] == names


def _route(**extra):
    return load_routes([{"name": "r", "recipients": ["0612345678"], **extra}])[0]


def test_resolved_alerts_only_when_asked_for():
    now = datetime(2024, 5, 3, 12, tzinfo=UTC)
    assert not _route().accepts({}, "resolved", now)
    assert _route(send_resolved=True).accepts({}, "resolved", now)
    assert _route().accepts({}, "firing", now)


def test_quiet_hours_let_only_critical_through_at_night_in_amsterdam():
    route = _route(quiet_hours={"start": "22:00", "end": "07:00"})
    # 21:30 UTC on 3 May is 23:30 in Amsterdam (CEST, UTC+2): quiet.
    night = datetime(2024, 5, 3, 21, 30, tzinfo=UTC)
    # 19:30 UTC is 21:30 in Amsterdam: not yet quiet.
    evening = datetime(2024, 5, 3, 19, 30, tzinfo=UTC)
    # 05:30 UTC is 07:30 in Amsterdam: quiet hours are over.
    morning = datetime(2024, 5, 4, 5, 30, tzinfo=UTC)
    assert not route.accepts({"severity": "warning"}, "firing", night)
    assert route.accepts({"severity": "critical"}, "firing", night)
    assert route.accepts({"severity": "warning"}, "firing", evening)
    assert route.accepts({"severity": "warning"}, "firing", morning)


def test_quiet_hours_with_own_matchers_and_zone_within_one_day():
    route = _route(
        quiet_hours={
            "start": "12:00",
            "end": "13:00",
            "timezone": "UTC",
            "matchers": ['team="db"', 'severity=~"critical|page"'],
        }
    )
    lunch = datetime(2024, 1, 1, 12, 30, tzinfo=UTC)
    assert route.accepts({"team": "db", "severity": "page"}, "firing", lunch)
    assert not route.accepts({"team": "web", "severity": "page"}, "firing", lunch)
    assert route.accepts({"team": "web"}, "firing", datetime(2024, 1, 1, 13, 0, tzinfo=UTC))


def test_unrouted_groups_are_logged_once_each_and_memory_is_bounded(caplog):
    from smsbot.alerts.routing import UnroutedLog

    unrouted = UnroutedLog(remembered=2)
    with caplog.at_level("WARNING", logger="smsbot.alerts.routing"):
        assert unrouted.matched_no_route("alertmanager", "g1", {"alertname": "A"}, 1)
        assert not unrouted.matched_no_route("alertmanager", "g1", {"alertname": "A"}, 1)
        assert unrouted.matched_no_route("grafana", "g1", {"alertname": "A"}, 1)  # other source
        assert unrouted.matched_no_route("alertmanager", "g2", {}, 2)
        # g1 (alertmanager) was the least recently seen of three: forgotten, logged again.
        assert unrouted.matched_no_route("alertmanager", "g1", {"alertname": "A"}, 1)
    assert len(caplog.messages) == 4
    assert "2 alert(s) of alertmanager group g2" in caplog.messages[2]
