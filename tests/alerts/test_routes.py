"""The webhook routes over loopback HTTP, against the real service, store and sandbox."""

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from smsbot.sms.request import Outcome
from smsbot.store import ManualClock, utcnow
from tests.alerts.harness import ON_CALL, TOKEN, alert_settings, running_alert_app
from tests.alerts.payloads import load, raw
from tests.fixtures.waiting import until


async def test_firing_group_becomes_one_sms_to_the_on_call_phone(settings_for, sandbox):
    async with running_alert_app(settings_for()) as alerts:
        status, answer = await alerts.alertmanager(raw("alertmanager_firing"))
        assert status == 200
        assert answer["queued"] == 1 and answer["duplicates"] == 0
        await until(lambda: len(sandbox.messages()) == 1)
        (sms,) = sandbox.messages()
        assert sms["mobile_number"] == ON_CALL
        assert sms["sender"] == "SMSBot"
        assert sms["content"].startswith("FIRING 3: HighCPU critical db1.example.com")
        assert sms["segments"] == 1
        (record,) = await alerts.service.recent()
        assert record.actor == "alert:on-call"
        assert record.surface == "alertmanager"
        await until(
            lambda: alerts.metrics.alerts.labels("alertmanager", "queued")._value.get() == 1
        )


async def test_grafana_payload_is_accepted(settings_for, sandbox):
    async with running_alert_app(settings_for()) as alerts:
        status, answer = await alerts.grafana(raw("grafana_firing"))
        assert (status, answer["queued"]) == (200, 1)
        await until(lambda: len(sandbox.messages()) == 1)
        assert sandbox.messages()[0]["content"].startswith(
            "FIRING 2: High memory usage/High CPU usage - This alert was triggered"
        )


async def test_resolved_is_not_sent_unless_the_route_wants_it(settings_for, sandbox):
    async with running_alert_app(settings_for()) as alerts:
        status, answer = await alerts.alertmanager(raw("alertmanager_resolved"))
        assert (status, answer["queued"], answer["not_routed"]) == (200, 0, 1)
    wants = [{"name": "on-call", "recipients": [ON_CALL], "send_resolved": True}]
    async with running_alert_app(settings_for(routes=wants)) as alerts:
        status, answer = await alerts.alertmanager(raw("alertmanager_resolved"))
        assert (status, answer["queued"]) == (200, 1)
        await until(lambda: len(sandbox.messages()) == 1)
        assert sandbox.messages()[0]["content"].startswith("RESOLVED: ICMP ping failed")


async def test_one_phone_on_two_matching_routes_gets_one_sms(settings_for, sandbox):
    routes = [
        {"name": "db", "matchers": ['team="db"'], "recipients": [ON_CALL], "continue": True},
        {"name": "all", "recipients": [ON_CALL]},
    ]
    async with running_alert_app(settings_for(routes=routes)) as alerts:
        status, answer = await alerts.alertmanager(raw("alertmanager_firing"))
        assert (status, answer["queued"]) == (200, 1)


async def test_routes_with_continue_reach_several_phones(settings_for, sandbox):
    routes = [
        {"name": "db", "matchers": ['team="db"'], "recipients": ["0611111111"], "continue": True},
        {"name": "web", "matchers": ['team="web"'], "recipients": ["0622222222"]},
        {"name": "critical", "matchers": ['severity="critical"'], "recipients": ["0633333333"]},
    ]
    async with running_alert_app(settings_for(routes=routes)) as alerts:
        status, answer = await alerts.alertmanager(raw("alertmanager_firing"))
        assert (status, answer["queued"]) == (200, 2)
        await until(lambda: len(sandbox.messages()) == 2)
    assert sorted(m["mobile_number"] for m in sandbox.messages()) == [
        "+31611111111",
        "+31633333333",
    ]


async def test_quiet_hours_hold_back_all_but_critical_at_night(settings_for, sandbox):
    from datetime import UTC, datetime

    routes = [
        {
            "name": "night",
            "recipients": [ON_CALL],
            "quiet_hours": {"start": "23:00", "end": "07:00"},
        }
    ]
    warning = load("alertmanager_firing")
    for alert in warning["alerts"]:
        alert["labels"]["severity"] = "warning"
        alert["fingerprint"] = "f" + alert["fingerprint"][1:]  # other labels, other alert
    warning["commonLabels"]["severity"] = "warning"
    async with running_alert_app(settings_for(routes=routes)) as alerts:
        # 02:30 UTC on 15 January is 03:30 in Amsterdam.
        alerts.parts.intake.clock = lambda: datetime(2024, 1, 15, 2, 30, tzinfo=UTC)
        status, answer = await alerts.alertmanager(warning)
        assert (status, answer["queued"], answer["not_routed"]) == (200, 0, 3)
        status, answer = await alerts.alertmanager(raw("alertmanager_firing"))  # critical
        assert (status, answer["queued"]) == (200, 1)
        # 12:00 UTC is daytime: the warning goes out.
        alerts.parts.intake.clock = lambda: datetime(2024, 1, 15, 12, 0, tzinfo=UTC)
        status, answer = await alerts.alertmanager(warning)
        assert (status, answer["queued"]) == (200, 1)
        await until(lambda: len(sandbox.messages()) == 2)


# ----- authentication -----


async def test_nothing_configured_refuses_everything(sandbox, sqlite_url):
    from tests.alerts.harness import alert_settings

    settings = alert_settings(sandbox.url, sqlite_url, token=None)
    async with running_alert_app(settings) as alerts:
        for post in (alerts.alertmanager, alerts.grafana):
            status, answer = await post(raw("alertmanager_firing"), token="anything")
            assert status == 401
            assert "SMSBOT_ALERTS__TOKEN" in answer["error"]
    assert sandbox.messages() == []


@pytest.mark.parametrize(("token", "says"), [(None, "no credentials"), ("wrong", "is wrong")])
async def test_missing_or_wrong_token_is_401(settings_for, sandbox, token, says):
    async with running_alert_app(settings_for()) as alerts:
        async with alerts.session.post(
            alerts.url + "/alerts/alertmanager",
            data=raw("alertmanager_firing"),
            headers={"Authorization": f"Bearer {token}"} if token else {},
        ) as resp:
            assert resp.status == 401
            assert resp.headers["WWW-Authenticate"].startswith("Bearer")
            assert says in (await resp.json())["error"]
        assert await alerts.service.recent() == []


async def test_basic_auth(settings_for, sandbox):
    settings = settings_for(token=None, basic_user="alertmanager", basic_password="pa55")
    async with running_alert_app(settings) as alerts:

        def basic(password: str) -> dict[str, str]:
            pair = base64.b64encode(f"alertmanager:{password}".encode()).decode()
            return {"Authorization": f"Basic {pair}"}

        ok, _ = await alerts.alertmanager(
            raw("alertmanager_firing"), token=None, headers=basic("pa55")
        )
        bad, _ = await alerts.alertmanager(
            raw("alertmanager_firing"), token=None, headers=basic("x")
        )
        assert (ok, bad) == (200, 401)


def grafana_signature(secret: str, body: bytes, stamp: str | None = None) -> str:
    signed = body if stamp is None else f"{stamp}:".encode() + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


async def test_grafana_hmac_right_wrong_and_stale(settings_for, sandbox):
    settings = settings_for(
        token=None, grafana_hmac_secret="hmac-key", grafana_timestamp_header="X-Grafana-Timestamp"
    )
    body = raw("grafana_firing")
    now = str(int(time.time()))
    stale = str(int(time.time()) - 600)
    async with running_alert_app(settings) as alerts:

        async def post(signature: str, stamp: str) -> int:
            headers = {"X-Grafana-Alerting-Signature": signature, "X-Grafana-Timestamp": stamp}
            status, _ = await alerts.grafana(body, token=None, headers=headers)
            return status

        assert await post(grafana_signature("hmac-key", body, now), now) == 200
        assert await post(grafana_signature("other-key", body, now), now) == 401
        assert await post(grafana_signature("hmac-key", body, stale), stale) == 401
        # Signed without the timestamp although one is configured: refused.
        assert await post(grafana_signature("hmac-key", body), now) == 401
        # The signature is Grafana's: it does not open the Alertmanager route.
        headers = {
            "X-Grafana-Alerting-Signature": grafana_signature("hmac-key", body, now),
            "X-Grafana-Timestamp": now,
        }
        status, _ = await alerts.alertmanager(body, token=None, headers=headers)
        assert status == 401
        await until(lambda: len(sandbox.messages()) == 1)


# ----- bad requests -----


async def test_body_over_the_limit_is_413(settings_for, sandbox):
    async with running_alert_app(settings_for(max_body_bytes=1500)) as alerts:
        status, answer = await alerts.alertmanager(raw("alertmanager_firing"))
        assert status == 413
        assert "alerts.max_body_bytes" in answer["error"]

        # Without a Content-Length (chunked) the limit holds while reading.
        async def chunks():
            for _ in range(10):
                yield b" " * 200

        async with alerts.session.post(
            alerts.url + "/alerts/alertmanager",
            data=chunks(),
            headers={"Authorization": f"Bearer {TOKEN}"},
        ) as resp:
            assert resp.status == 413


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"{oops", "not valid JSON"),
        (b'{"status": "firing"}', "alerts: Field required"),
        (b'{"status": "firing", "alerts": [{"status": "pending"}]}', "alerts.0.status"),
    ],
)
async def test_bad_bodies_are_400_saying_what_is_wrong(settings_for, sandbox, body, says):
    async with running_alert_app(settings_for()) as alerts:
        status, answer = await alerts.alertmanager(body)
        assert status == 400
        assert says in answer["error"]


# ----- answers that make the senders behave -----


async def test_kpn_down_for_a_while_still_answers_200_and_the_sms_arrives_once_kpn_is_back(
    settings_for, sandbox
):
    settings = settings_for()
    # More 503s than the client's own attempts: the outbox's first try fails as a whole.
    sandbox.add_fault(status=503, count=settings.kpn.max_attempts + 2)
    async with running_alert_app(settings) as alerts:
        status, answer = await alerts.alertmanager(raw("alertmanager_firing"))
        assert (status, answer["queued"]) == (200, 1)
        (request_id,) = answer["request_ids"]
        await until(lambda: len(sandbox.messages()) == 1)
        record = await final_record(alerts, request_id)
    assert record.outcome == Outcome.SENT
    assert record.attempts >= 2  # put back in the queue, then sent
    assert len(sandbox.messages()) == 1


async def test_kpn_down_past_the_retry_bound_records_the_failure(settings_for, sandbox):
    settings = with_kpn(settings_for(), outbox_retry_seconds=0)
    sandbox.add_fault(status=503, count=10)
    async with running_alert_app(settings) as alerts:
        status, answer = await alerts.alertmanager(raw("alertmanager_firing"))
        assert (status, answer["queued"]) == (200, 1)
        (request_id,) = answer["request_ids"]
        record = await final_record(alerts, request_id)
    assert record.outcome == Outcome.FAILED
    assert sandbox.messages() == []


async def test_a_copy_of_an_alert_whose_sms_failed_is_sent_not_dropped_as_a_repeat(
    settings_for, sandbox
):
    settings = with_kpn(settings_for(), outbox_retry_seconds=0)
    sandbox.add_fault(status=503, count=10)
    async with running_alert_app(settings) as alerts:
        body = raw("alertmanager_firing")
        status, answer = await alerts.alertmanager(body)
        (failed_id,) = answer["request_ids"]
        assert (await final_record(alerts, failed_id)).outcome == Outcome.FAILED
        sandbox.clear()  # KPN is back
        # Alertmanager's next copy within the repeat window: a new attempt, not a duplicate.
        status, answer = await alerts.alertmanager(body)
        assert (status, answer["queued"], answer["duplicates"]) == (200, 1, 0)
        (request_id,) = answer["request_ids"]
        assert (await final_record(alerts, request_id)).outcome == Outcome.SENT
        # A copy after that finds the SMS sent: a repeat.
        status, answer = await alerts.alertmanager(body)
        assert (status, answer["queued"], answer["duplicates"]) == (200, 0, 1)
    assert len(sandbox.messages()) == 1


async def test_copies_of_an_alert_whose_sms_keeps_failing_are_each_a_new_attempt(
    database_url, sandbox
):
    # Each failed attempt's successor has its own key; forty of them in one repeat window
    # stay distinct (a key that grew with each attempt would pass its column's length).
    settings = with_kpn(alert_settings(sandbox.url, database_url), outbox_retry_seconds=0)
    sandbox.add_fault(status=400, count=1000)  # KPN refuses every send: each fails at once
    async with running_alert_app(settings) as alerts:
        body = raw("alertmanager_firing")
        attempts = set()
        for _ in range(40):
            status, answer = await alerts.alertmanager(body)
            assert (status, answer["queued"], answer["duplicates"]) == (200, 1, 0)
            (failed_id,) = answer["request_ids"]
            assert (await final_record(alerts, failed_id)).outcome == Outcome.FAILED
            attempts.add(failed_id)
        assert len(attempts) == 40
        sandbox.clear()  # KPN takes sends again
        status, answer = await alerts.alertmanager(body)
        (request_id,) = answer["request_ids"]
        assert (await final_record(alerts, request_id)).outcome == Outcome.SENT
        status, answer = await alerts.alertmanager(body)
        assert (status, answer["queued"], answer["duplicates"]) == (200, 0, 1)
    assert len(sandbox.messages()) == 1


def with_kpn(settings, **kpn):
    return settings.model_copy(update={"kpn": settings.kpn.model_copy(update=kpn)})


async def final_record(alerts, request_id):
    async def finished():
        record = await alerts.service.store.get(request_id)
        return record if record.outcome.is_final else None

    return await until(finished, "the outbox finishing the row")


async def test_recording_failure_is_503_so_the_sender_retries(settings_for, sandbox):
    async with running_alert_app(settings_for()) as alerts:
        engine = alerts.service.store.engine
        async with engine.begin() as conn:
            await conn.execute(text("DROP TABLE smsbot_claims"))
        status, answer = await alerts.alertmanager(raw("alertmanager_firing"))
        assert status == 503
        assert "retry" in answer["error"]
        assert alerts.metrics.alerts.labels("alertmanager", "error")._value.get() == 1
    assert sandbox.messages() == []


# ----- de-duplication -----


async def final_records(alerts):
    """The audit once the outbox has finished every row."""

    async def finished():
        records = await alerts.service.recent()
        return records if all(r.outcome.is_final for r in records) else None

    return await until(finished, "the outbox finishing every row")


async def test_same_notification_twice_at_once_sends_one_sms(settings_for, sandbox):
    async with running_alert_app(settings_for()) as alerts:
        body = raw("alertmanager_firing")
        answers = await asyncio.gather(*(alerts.alertmanager(body) for _ in range(2)))
        assert [status for status, _ in answers] == [200, 200]
        assert sorted(a["queued"] for _, a in answers) == [0, 1]
        assert sorted(a["duplicates"] for _, a in answers) == [0, 1]
        await until(lambda: len(sandbox.messages()) == 1)
        # And again later within the repeat window: still nothing new.
        status, answer = await alerts.alertmanager(body)
        assert (status, answer["duplicates"]) == (200, 1)
        assert alerts.metrics.alerts.labels("alertmanager", "duplicate")._value.get() == 2
        # The audit shows the SMS once and each repeat as refused: duplicate (each recorded
        # before its answer, so a second SMS would be queued by now, and sent once final).
        records = await final_records(alerts)
        assert len(sandbox.messages()) == 1
        assert sorted((r.outcome, r.rule) for r in records) == [
            (Outcome.REFUSED, "duplicate"),
            (Outcome.REFUSED, "duplicate"),
            (Outcome.SENT, None),
        ]
        repeat = next(r for r in records if r.rule == "duplicate")
        assert "alerts.repeat_window_seconds" in repeat.error
        assert (repeat.recipient, repeat.actor) == (ON_CALL, "alert:on-call")


async def test_replicas_whose_clocks_straddle_a_slot_boundary_record_one_sms(settings_for, sandbox):
    """The SMS's key names the repeat-window slot of the claimer's clock. A copy arriving at a
    replica whose clock is a moment behind, still in the slot before, finds the claimer's
    record in the next slot: a repeat, not a second SMS."""
    settings = settings_for()
    window = settings.alerts.repeat_window_seconds
    boundary = datetime.fromtimestamp((utcnow().timestamp() // window + 1) * window, UTC)
    tick = timedelta(milliseconds=1)  # rows stamped one after the other stay ordered
    ahead = ManualClock(boundary + timedelta(seconds=0.1), tick=tick)
    behind = ManualClock(boundary - timedelta(seconds=0.1), tick=tick)
    body = raw("alertmanager_firing")
    async with (
        running_alert_app(settings, clock=ahead) as one,
        running_alert_app(settings, clock=behind) as two,
    ):
        status, answer = await one.alertmanager(body)
        assert (status, answer["queued"], answer["duplicates"]) == (200, 1, 0)
        status, answer = await two.alertmanager(body)
        assert (status, answer["queued"], answer["duplicates"]) == (200, 0, 1)
        records = await final_records(one)
    assert sorted((r.outcome, r.rule) for r in records) == [
        (Outcome.REFUSED, "duplicate"),
        (Outcome.SENT, None),
    ]
    assert len(sandbox.messages()) == 1


async def test_a_changed_group_is_not_a_duplicate(settings_for, sandbox):
    async with running_alert_app(settings_for()) as alerts:
        body = load("alertmanager_firing")
        await alerts.alertmanager(body)
        body["alerts"] = body["alerts"][:2]  # one alert of the group stopped firing
        status, answer = await alerts.alertmanager(json.dumps(body).encode())
        assert (status, answer["queued"]) == (200, 1)
        await until(lambda: len(sandbox.messages()) == 2)


async def test_repeat_after_the_window_is_sent_again(settings_for, sandbox):
    clock = ManualClock(tick=timedelta(microseconds=1))
    async with running_alert_app(settings_for(repeat_window_seconds=60), clock=clock) as alerts:
        body = raw("alertmanager_firing")
        await alerts.alertmanager(body)
        status, answer = await alerts.alertmanager(body)
        assert (status, answer["queued"], answer["duplicates"]) == (200, 0, 1)  # in the window
        clock.advance(timedelta(seconds=61))
        status, answer = await alerts.alertmanager(body)
        assert (status, answer["queued"]) == (200, 1)
        await until(lambda: len(sandbox.messages()) == 2)


async def raw_post(url: str, path: str, headers: bytes, body: bytes) -> tuple[int, bytes]:
    """One HTTP/1.1 request written byte for byte (a client may send header bytes that are
    not ASCII; aiohttp's own client would not)."""
    host, port = url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(
            b"POST " + path.encode() + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
            b"Content-Type: application/json\r\n"
            + headers
            + b"Content-Length: "
            + str(len(body)).encode()
            + b"\r\n\r\n"
            + body
        )
        answer = await reader.read()
    finally:
        writer.close()
    status = int(answer.split(b" ", 2)[1])
    return status, answer.partition(b"\r\n\r\n")[2]


@pytest.mark.parametrize(
    "header",
    [b"Bearer \xe9t\xe9", "Bearer été".encode(), b"Basic \xe9t\xe9", b"\xe9t\xe9 x"],
)
@pytest.mark.parametrize("path", ["/alerts/alertmanager", "/alerts/grafana"])
async def test_non_ascii_authorization_is_401_not_500(settings_for, sandbox, header, path):
    settings = settings_for(basic_user="am", basic_password="pw")
    async with running_alert_app(settings) as alerts:
        status, body = await raw_post(
            alerts.url, path, b"Authorization: " + header + b"\r\n", raw("alertmanager_firing")
        )
        assert status == 401, body
        assert "error" in json.loads(body)
        assert await alerts.service.recent() == []


async def test_every_401_is_logged_with_the_failed_check_and_no_secret(
    settings_for, sandbox, caplog
):
    async with running_alert_app(settings_for()) as alerts:
        with caplog.at_level(logging.WARNING):
            await alerts.alertmanager(raw("alertmanager_firing"), token="guess-" + TOKEN)
            await alerts.grafana(raw("grafana_firing"), token=None)
    lines = [r.getMessage() for r in caplog.records if "refused with 401" in r.getMessage()]
    assert len(lines) == 2
    assert "/alerts/alertmanager" in lines[0] and "wrong_bearer_token" in lines[0]
    assert "/alerts/grafana" in lines[1] and "no_credentials" in lines[1]
    assert "127.0.0.1" in lines[0]
    assert not any(TOKEN in r.getMessage() for r in caplog.records)


async def test_zero_routes_with_the_intake_on_is_a_start_up_warning(settings_for, sandbox, caplog):
    with caplog.at_level(logging.WARNING, logger="smsbot.alerts.routes"):
        async with running_alert_app(settings_for(routes=[])):
            pass
    assert any("no alert routes are configured" in m for m in caplog.messages)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="smsbot.alerts.routes"):
        async with running_alert_app(settings_for()):
            pass
    assert not any("no alert routes" in m for m in caplog.messages)


async def test_a_group_no_route_matched_is_logged_once(settings_for, sandbox, caplog):
    routes = [{"name": "web", "matchers": ['team="web"'], "recipients": [ON_CALL]}]
    async with running_alert_app(settings_for(routes=routes)) as alerts:
        with caplog.at_level(logging.WARNING, logger="smsbot.alerts.routing"):
            for _ in range(3):  # Alertmanager's repeats, and the HA pair's copies
                status, answer = await alerts.alertmanager(raw("alertmanager_firing"))
                assert (status, answer["queued"], answer["not_routed"]) == (200, 0, 3)
    lines = [m for m in caplog.messages if "matched no route" in m]
    assert len(lines) == 1
    group_key = load("alertmanager_firing")["groupKey"]
    assert group_key in lines[0] and "alertname=HighCPU" in lines[0]
    assert ON_CALL not in lines[0]
