"""Alert routes that involve Slack: recipients from profiles and user groups, and the mirror
channel, against the fake Slack Web API on loopback."""

import pytest

from smsbot.bootstrap import open_bot
from smsbot.errors import ConfigurationError
from smsbot.settings import Settings
from tests.alerts.harness import alert_settings, running_alert_app
from tests.alerts.payloads import raw
from tests.fakes.slack_api import BOT_TOKEN
from tests.fixtures.waiting import until


async def built(settings: Settings) -> None:
    """Build the bot from `settings` (as `smsbot serve` does at start), and close it again."""
    async with open_bot(settings, mode=None):
        pass


@pytest.fixture
def slack_settings(sandbox, sqlite_url, fake_slack):
    fake_slack.add_user("U0ALICE", "alice", phone="06 1111 2222")
    fake_slack.add_user("U0BOB", "bob", phone="+31 6 3333 4444")
    fake_slack.add_user("U0DAVE", "dave")  # no phone on the profile
    fake_slack.add_user("U0ERIN", "erin", phone="+44 7700 900123")  # not a Dutch mobile
    fake_slack.add_usergroup("S0ONCALL", ["U0BOB", "U0DAVE", "U0ERIN"])
    fake_slack.add_channel("C0ALERTS", "alerts")

    def build(**alerts):
        return alert_settings(
            sandbox.url,
            sqlite_url,
            slack={"bot_token": BOT_TOKEN, "api_url": fake_slack.api_url},
            **alerts,
        )

    return build


async def test_users_and_groups_get_their_profile_numbers(slack_settings, sandbox, fake_slack):
    routes = [{"name": "db", "recipients": ["U0ALICE", "S0ONCALL", "06 1111 2222"]}]
    async with running_alert_app(slack_settings(routes=routes)) as alerts:
        status, answer = await alerts.alertmanager(raw("alertmanager_firing"))
        # Alice once although she is listed twice (as user and by number); Bob from the group;
        # Dave (no phone) and Erin (not Dutch) are skipped, not fatal.
        assert (status, answer["queued"]) == (200, 2)
        await until(lambda: len(sandbox.messages()) == 2)
    assert sorted(m["mobile_number"] for m in sandbox.messages()) == [
        "+31611112222",
        "+31633334444",
    ]
    assert [c.args["usergroup"] for c in fake_slack.calls_to("usergroups.users.list")] == [
        "S0ONCALL"
    ]


async def test_slack_failing_to_name_the_group_is_503_and_nothing_is_queued(
    slack_settings, sandbox, fake_slack
):
    routes = [{"name": "db", "recipients": ["0612345678", "S0ONCALL"]}]
    fake_slack.script("usergroups.users.list", {"ok": False, "error": "ratelimited"})
    async with running_alert_app(slack_settings(routes=routes)) as alerts:
        status, answer = await alerts.alertmanager(raw("alertmanager_firing"))
        assert status == 503
        assert "S0ONCALL" in answer["error"]
        assert await alerts.service.recent() == []
        # Alertmanager retries; Slack answers again now, and the alert goes out in full.
        status, answer = await alerts.alertmanager(raw("alertmanager_firing"))
        assert (status, answer["queued"]) == (200, 2)


async def test_every_alert_sms_is_mirrored_with_its_document_id(
    slack_settings, sandbox, fake_slack
):
    routes = [{"name": "db", "recipients": ["0612345678"], "mirror_channel": "C0ALERTS"}]
    async with running_alert_app(slack_settings(routes=routes)) as alerts:
        status, _ = await alerts.alertmanager(raw("alertmanager_firing"))
        assert status == 200
        await fake_slack.wait_for(lambda: fake_slack.calls_to("chat.postMessage"))
    (post,) = fake_slack.calls_to("chat.postMessage")
    (sms,) = sandbox.messages()
    assert post.args["channel"] == "C0ALERTS"
    assert post.token == BOT_TOKEN
    text = post.args["text"]
    assert sms["document_id"] in text
    assert "+31 6 ****5678" in text and "+31612345678" not in text  # masked
    assert "route db" in text
    assert "> FIRING 3: HighCPU critical" in text


async def test_mirror_escapes_alert_text(slack_settings, sandbox, fake_slack):
    routes = [{"name": "db", "recipients": ["0612345678"], "mirror_channel": "C0ALERTS"}]
    body = raw("alertmanager_firing").replace(
        b"CPU usage above 90% on the database hosts", b"ping <!channel> & <@U0BOB>"
    )
    async with running_alert_app(slack_settings(routes=routes)) as alerts:
        await alerts.alertmanager(body)
        await fake_slack.wait_for(lambda: fake_slack.calls_to("chat.postMessage"))
    text = fake_slack.calls_to("chat.postMessage")[0].args["text"]
    assert "&lt;!channel&gt; &amp; &lt;@U0BOB&gt;" in text
    assert "<!channel>" not in text


async def test_storm_summary_points_to_the_mirror_channel_by_name(
    slack_settings, sandbox, fake_slack
):
    from tests.alerts.test_storm import REOPENED, WINDOW, post_all, storm_clock, storm_of

    routes = [{"name": "db", "recipients": ["0612345678"], "mirror_channel": "C0ALERTS"}]
    settings = slack_settings(routes=routes, storm_max=1, storm_window_seconds=WINDOW)
    clock = storm_clock()  # the window reopens when the test says, not after real seconds
    async with running_alert_app(settings, clock=clock) as alerts:
        await post_all(alerts, storm_of(5, alerts_each=1))
        await until(lambda: len(sandbox.messages()) == 1)
        clock.advance(REOPENED)
        await until(lambda: len(sandbox.messages()) == 2)
    assert sandbox.messages()[-1]["content"].startswith("Held back since ")
    assert sandbox.messages()[-1]["content"].endswith(": 4 firing, 0 resolved. See Slack #alerts")


async def test_mirror_without_a_bot_token_is_a_configuration_error(sandbox, sqlite_url):
    settings = alert_settings(
        sandbox.url,
        sqlite_url,
        routes=[{"name": "db", "recipients": ["0612345678"], "mirror_channel": "C0ALERTS"}],
    )
    with pytest.raises(ConfigurationError, match="SMSBOT_SLACK__BOT_TOKEN"):
        await built(settings)


@pytest.mark.parametrize(
    ("setting", "value"),
    [("max_parts", 0), ("storm_window_seconds", 0), ("repeat_window_seconds", -1)],
)
async def test_nonsense_numbers_stop_registration(sandbox, sqlite_url, setting, value):
    settings = alert_settings(sandbox.url, sqlite_url, **{setting: value})
    with pytest.raises(ConfigurationError, match=f"SMSBOT_ALERTS__{setting.upper()} is {value}"):
        await built(settings)


async def test_bad_routes_stop_registration_with_what_to_fix(sandbox, sqlite_url):
    settings = alert_settings(sandbox.url, sqlite_url, routes=[{"name": "x", "recipients": []}])
    with pytest.raises(ConfigurationError, match=r"alerts.routes\[0\] \('x'\): recipients"):
        await built(settings)
