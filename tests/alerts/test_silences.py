"""The Alertmanager silences client: its pure parts, then against Debian's real Alertmanager."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from pydantic import SecretStr

from smsbot.alerts.replies import Action, parse_reply, target
from smsbot.alerts.silences import (
    Matcher,
    SilencesClient,
    basic_auth_header,
    check_response,
    matchers_for,
    silence_body,
)
from smsbot.errors import (
    AlertmanagerAuthError,
    AlertmanagerError,
    AlertmanagerRejected,
    AlertmanagerUnavailable,
    ConfigurationError,
    SilenceNotFound,
    SmsbotError,
)
from smsbot.settings import AlertSettings
from tests.fixtures.alertmanager import Alertmanager, free_port, running_alertmanager
from tests.fixtures.waiting import until

LABELS = {"alertname": "DiskFull", "instance": "db1:9100", "severity": "page"}
START = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


# --- pure parts ----------------------------------------------------------------------------


def test_matchers_are_the_groups_labels_as_equality_matchers():
    matchers = matchers_for({"severity": "page", "alertname": "DiskFull", "empty": ""})
    assert [m.model_dump(by_alias=True) for m in matchers] == [
        {"name": "alertname", "value": "DiskFull", "isRegex": False, "isEqual": True},
        {"name": "severity", "value": "page", "isRegex": False, "isEqual": True},
    ]


def test_a_group_without_labels_is_never_silenced_wholesale():
    with pytest.raises(ValueError, match="without labels cannot be silenced"):
        matchers_for({"alertname": ""})


def test_silence_body_has_rfc3339_times_creator_and_comment():
    body = silence_body(
        matchers=matchers_for({"alertname": "DiskFull"}),
        starts_at=START,
        ends_at=(START + timedelta(hours=2)).astimezone(),  # any zone: sent as UTC
        created_by="Alice",
        comment="by SMS from +31 6 ****5678",
    )
    assert body == {
        "matchers": [{"name": "alertname", "value": "DiskFull", "isRegex": False, "isEqual": True}],
        "startsAt": "2026-12-01T10:00:00.000Z",
        "endsAt": "2026-12-01T12:00:00.000Z",
        "createdBy": "Alice",
        "comment": "by SMS from +31 6 ****5678",
    }


@pytest.mark.parametrize(
    ("starts_at", "ends_at", "problem"),
    [
        (START, START, "end after it starts"),
        (START, START - timedelta(minutes=1), "end after it starts"),
        (START.replace(tzinfo=None), START + timedelta(hours=1), "timezone-aware"),
    ],
)
def test_silence_body_refuses_impossible_times(starts_at, ends_at, problem):
    with pytest.raises(ValueError, match=problem):
        silence_body(
            matchers=matchers_for(LABELS),
            starts_at=starts_at,
            ends_at=ends_at,
            created_by="a",
            comment="c",
        )


def test_matchers_in_alertmanagers_filter_syntax():
    assert Matcher(name="a", value='x"y').as_filter() == 'a="x\\"y"'
    assert Matcher(name="a", value="x.*", is_regex=True).as_filter() == 'a=~"x.*"'
    assert Matcher(name="a", value="x", is_equal=False).as_filter() == 'a!="x"'
    assert Matcher(name="a", value="x", is_equal=False, is_regex=True).as_filter() == 'a!~"x"'


@pytest.mark.parametrize(
    ("status", "body", "error", "says"),
    [
        (401, b"Unauthorized", AlertmanagerAuthError, "ALERTMANAGER_BASIC_USER"),
        (403, b"", AlertmanagerAuthError, "ALERTMANAGER_BEARER_TOKEN"),
        (404, b"", SilenceNotFound, "no such silence"),
        (
            400,
            b'"Failed to create silence: start time must be before end time"',
            AlertmanagerRejected,
            "start time must be before end time",
        ),
        (
            422,
            b'{"code":612,"message":"matchers in body should have at least 1 items"}',
            AlertmanagerRejected,
            "at least 1 items",
        ),
        (500, b'"silence not found"', AlertmanagerUnavailable, "try again later"),
        (502, b"<html>bad gateway</html>", AlertmanagerUnavailable, "bad gateway"),
        (200, b"<html>not the API</html>", AlertmanagerUnavailable, "not JSON"),
    ],
)
def test_every_answer_maps_to_one_error_saying_what_to_check(status, body, error, says):
    with pytest.raises(error, match=says) as caught:
        check_response("POST", "/api/v2/silences", status, body)
    assert isinstance(caught.value, AlertmanagerError) and isinstance(caught.value, SmsbotError)
    assert caught.value.status == status


def test_alertmanagers_reason_is_kept_short():
    with pytest.raises(AlertmanagerRejected) as caught:
        check_response("POST", "/api/v2/silences", 400, b"x" * 5000)
    assert caught.value.detail == "x" * 300


def test_success_answers_are_json():
    assert check_response("POST", "/", 200, b'{"silenceID": "abc"}') == {"silenceID": "abc"}
    assert check_response("DELETE", "/", 200, b"") is None


def test_settings_give_a_client_or_say_what_is_missing():
    with pytest.raises(ConfigurationError, match="SMSBOT_ALERTS__ALERTMANAGER_URL"):
        SilencesClient.from_settings(AlertSettings())
    with pytest.raises(ConfigurationError, match="go together"):
        SilencesClient.from_settings(
            AlertSettings(alertmanager_url="http://am:9093", alertmanager_basic_user="u")
        )
    with pytest.raises(ConfigurationError, match="not both"):
        SilencesClient.from_settings(
            AlertSettings(
                alertmanager_url="http://am:9093",
                alertmanager_basic_user="u",
                alertmanager_basic_password=SecretStr("p"),
                alertmanager_bearer_token=SecretStr("t"),
            )
        )
    with pytest.raises(ConfigurationError, match="http"):
        SilencesClient.from_settings(AlertSettings(), url="am:9093")
    client = SilencesClient.from_settings(
        AlertSettings(alertmanager_url="http://global:9093/"), url="http://route:9093/am/"
    )
    assert client.url == "http://route:9093/am"


# --- over loopback, without Alertmanager ---------------------------------------------------


async def test_nothing_listening_is_unavailable_naming_the_setting():
    async with SilencesClient(f"http://127.0.0.1:{free_port()}") as client:
        with pytest.raises(AlertmanagerUnavailable, match="ALERTMANAGER_URL"):
            await client.silences()


async def _serve(handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.AppRunner:
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return runner


def _url(runner: web.AppRunner) -> str:
    (address,) = runner.addresses
    return f"http://127.0.0.1:{address[1]}"


async def test_no_answer_in_time_is_unavailable():
    never = asyncio.Event()

    async def hang(request: web.Request) -> web.Response:
        await never.wait()
        return web.json_response([])

    runner = await _serve(hang)
    try:
        async with SilencesClient(_url(runner), timeout=0.2) as client:
            with pytest.raises(AlertmanagerUnavailable, match="did not answer"):
                await client.silences()
    finally:
        never.set()
        await runner.cleanup()


async def test_a_bearer_token_is_sent_to_the_proxy_in_front_of_alertmanager():
    seen: list[str | None] = []

    async def proxy(request: web.Request) -> web.Response:
        seen.append(request.headers.get("Authorization"))
        if request.headers.get("Authorization") != "Bearer t0ken":
            return web.Response(status=401)
        return web.json_response([])

    runner = await _serve(proxy)
    try:
        async with SilencesClient(_url(runner), bearer_token="t0ken") as client:
            assert await client.silences() == []
        async with SilencesClient(_url(runner), bearer_token="wrong") as client:
            with pytest.raises(AlertmanagerAuthError):
                await client.silences()
    finally:
        await runner.cleanup()
    assert seen == ["Bearer t0ken", "Bearer wrong"]


# --- against the real Alertmanager ---------------------------------------------------------


class Receiver:
    """Alertmanager's webhook receiver: every notification it got, in order."""

    def __init__(self) -> None:
        self.notifications: list[dict[str, Any]] = []
        self.runner: web.AppRunner | None = None

    async def start(self) -> str:
        async def hook(request: web.Request) -> web.Response:
            self.notifications.append(await request.json())
            return web.Response()

        self.runner = await _serve(hook)
        return _url(self.runner) + "/hook"

    def firing(self, alertname: str) -> list[dict[str, Any]]:
        """The notifications so far that carry a firing `alertname` alert."""
        return [
            n
            for n in self.notifications
            for a in n["alerts"]
            if a["status"] == "firing" and a["labels"].get("alertname") == alertname
        ]


def _config(hook_url: str) -> str:
    # One group for every alert (no group_by): each notification is a snapshot of all alerts
    # Alertmanager holds, with the muted ones left out. group_interval is short so a lifted
    # silence is seen at the next flush.
    return json.dumps(
        {
            "route": {
                "receiver": "hook",
                "group_wait": "0s",
                "group_interval": "1s",
                "repeat_interval": "1h",
            },
            "receivers": [{"name": "hook", "webhook_configs": [{"url": hook_url}]}],
        }
    )


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    receiver = Receiver()
    yield receiver
    if receiver.runner is not None:
        await receiver.runner.cleanup()


@pytest.fixture
async def alertmanager(
    alertmanager_binary: str, receiver: Receiver, tmp_path: Path
) -> AsyncIterator[Alertmanager]:
    hook = await receiver.start()
    async with running_alertmanager(
        _config(hook), workdir=tmp_path / "am", binary=alertmanager_binary
    ) as am:
        yield am


UNTIL = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)


async def _silence(client: SilencesClient, labels: dict[str, str]) -> str:
    return await client.create(
        matchers=matchers_for(labels),
        starts_at=datetime.now(UTC),
        ends_at=UNTIL,
        created_by="Alice",
        comment="silenced by SMS from +31 6 ****5678",
    )


async def test_create_read_and_expire_a_silence(alertmanager: Alertmanager):
    async with SilencesClient(alertmanager.url) as client:
        silence_id = await _silence(client, LABELS)
        other_id = await _silence(client, {"alertname": "CpuHot"})

        (silence,) = await client.silences(matchers_for({"alertname": "DiskFull"}))
        assert silence.id == silence_id
        assert silence.labels == LABELS
        assert all(not m.is_regex and m.is_equal for m in silence.matchers)
        assert silence.created_by == "Alice"
        assert silence.comment == "silenced by SMS from +31 6 ****5678"
        assert silence.status.state == "active"
        assert silence.ends_at == UNTIL
        assert {s.id for s in await client.silences()} == {silence_id, other_id}

        await client.expire(silence_id)
        assert (await client.get(silence_id)).status.state == "expired"
        assert (await client.get(other_id)).status.state == "active"
        await client.expire(silence_id)  # again: no error


async def test_unknown_silences_are_not_found(alertmanager: Alertmanager):
    unknown = "00000000-0000-4000-8000-000000000000"
    async with SilencesClient(alertmanager.url) as client:
        with pytest.raises(SilenceNotFound):
            await client.get(unknown)
        with pytest.raises(SilenceNotFound):  # Alertmanager answers 500 to this DELETE
            await client.expire(unknown)
        with pytest.raises(AlertmanagerRejected, match="uuid"):
            await client.expire("not-an-id")


async def test_alertmanager_refusing_a_silence_passes_its_reason_on(alertmanager: Alertmanager):
    async with SilencesClient(alertmanager.url) as client:
        with pytest.raises(AlertmanagerRejected) as caught:
            await client.create(
                matchers=[Matcher(name="alertname", value="(", is_regex=True)],
                starts_at=START,
                ends_at=START + timedelta(hours=1),
                created_by="Alice",
                comment="",
            )
    assert caught.value.status == 400 and caught.value.detail


async def test_a_silence_suppresses_the_groups_notification_until_it_is_lifted(
    alertmanager: Alertmanager, receiver: Receiver
):
    async with SilencesClient(alertmanager.url) as client:
        silence_id = await _silence(client, LABELS)
        # DiskFull first: Alertmanager takes alerts in order, so every notification that
        # carries CpuHot was put together with DiskFull already held.
        await alertmanager.post_alerts(
            [{"labels": LABELS}, {"labels": {"alertname": "CpuHot", "instance": "web1"}}]
        )

        async def disk_full_state() -> str | None:
            alerts = await alertmanager.get_json("/api/v2/alerts")
            for alert in alerts:
                if alert["labels"]["alertname"] == "DiskFull":
                    assert alert["status"]["silencedBy"] in ([], [silence_id])
                    if alert["status"]["state"] == "suppressed":
                        return alert["status"]["state"]
            return None

        assert await until(disk_full_state, "DiskFull suppressed by the silence")
        await until(lambda: receiver.firing("CpuHot"), "the CpuHot notification")
        assert receiver.firing("DiskFull") == []

        await client.expire(silence_id)
        (notification, *_) = await until(
            lambda: receiver.firing("DiskFull"), "DiskFull notified once lifted"
        )
    assert {a["labels"]["alertname"] for a in notification["alerts"]} == {"DiskFull", "CpuHot"}


# Basic auth on Alertmanager itself (`--web.config.file`); the hash is bcrypt (cost 4) of
# PASSWORD.
USER, PASSWORD = "smsbot", "am-test-password"
PASSWORD_HASH = "$2b$04$yl9/biSBz5tgTu5up4.uD.Je9J19aIE62Z3xj4BWzvy2JSJLCDAim"


async def test_basic_auth_against_alertmanagers_own_web_config(
    alertmanager_binary: str, tmp_path: Path
):
    web_config = tmp_path / "web.yml"
    web_config.write_text(json.dumps({"basic_auth_users": {USER: PASSWORD_HASH}}))
    async with running_alertmanager(
        _config("http://127.0.0.1:9/hook"),
        workdir=tmp_path / "am",
        binary=alertmanager_binary,
        extra_args=[f"--web.config.file={web_config}"],
        headers={"Authorization": basic_auth_header(USER, PASSWORD)},
    ) as am:
        settings = AlertSettings(
            alertmanager_url=am.url,
            alertmanager_basic_user=USER,
            alertmanager_basic_password=SecretStr(PASSWORD),
        )
        async with SilencesClient.from_settings(settings) as client:
            silence_id = await _silence(client, LABELS)
            assert [s.id for s in await client.silences()] == [silence_id]
        async with SilencesClient(am.url, basic_auth=(USER, "wrong")) as client:
            with pytest.raises(AlertmanagerAuthError, match="BASIC_USER"):
                await client.silences()
        async with SilencesClient(am.url) as client:
            with pytest.raises(AlertmanagerAuthError):
                await client.silences()


async def test_a_reply_1s_1h_then_1u_as_the_building_blocks_compose(alertmanager: Alertmanager):
    """What an alert reply will do once replies are wired: `1s 1h` silences the group its code
    names, with the group's labels as matchers; `1u` lifts that silence."""
    groups = [(1, {"alertname": "CpuHot"}), (2, LABELS)]  # the phone's open groups, by code
    silence = parse_reply("2s 1h", default_silence=timedelta(hours=2), max_silence=timedelta(1))
    assert (silence.action, silence.code) == (Action.SILENCE, 2)
    labels = target(silence.code, groups)
    assert labels is not None and silence.duration is not None
    now = datetime.now(UTC).replace(microsecond=0)
    async with SilencesClient(alertmanager.url) as client:
        silence_id = await client.create(
            matchers=matchers_for(labels),
            starts_at=now,
            ends_at=now + silence.duration,
            created_by="Alice",
            comment="by SMS from +31 6 ****5678",
        )
        (made,) = await client.silences()
        assert made.labels == LABELS and made.ends_at == now + timedelta(hours=1)

        lift = parse_reply("2u", default_silence=timedelta(hours=2), max_silence=timedelta(1))
        assert (lift.action, target(lift.code, groups)) == (Action.UNSILENCE, LABELS)
        await client.expire(silence_id)
        assert (await client.get(silence_id)).status.state == "expired"


@pytest.mark.parametrize(
    ("expire_status", "says"),
    [(200, "so the silence was ended again"), (503, "ending it again failed: end it in Alert")],
)
async def test_a_silence_id_longer_than_smsbot_keeps_is_ended_again_and_refused(
    expire_status: int, says: str
):
    # Alertmanager's ids are UUIDs; an API that answers otherwise would leave a silence that
    # smsbot could not record, and so could never lift.
    seen: list[tuple[str, str]] = []
    long_id = "s" * 100

    async def odd_alertmanager(request: web.Request) -> web.Response:
        seen.append((request.method, request.path))
        if request.method == "POST":
            return web.json_response({"silenceID": long_id})
        return web.Response(status=expire_status)

    runner = await _serve(odd_alertmanager)
    try:
        async with SilencesClient(_url(runner)) as client:
            with pytest.raises(AlertmanagerUnavailable, match=says):
                await client.create(
                    matchers=matchers_for({"alertname": "HighCPU"}),
                    starts_at=datetime(2026, 12, 1, 12, tzinfo=UTC),
                    ends_at=datetime(2026, 12, 1, 14, tzinfo=UTC),
                    created_by="Alice",
                    comment="test",
                )
    finally:
        await runner.cleanup()
    assert seen[:2] == [("POST", "/api/v2/silences"), ("DELETE", f"/api/v2/silence/{long_id}")]
