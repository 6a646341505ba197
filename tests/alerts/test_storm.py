"""Storm control end to end: the service's cap holds alert SMS back, one summary follows."""

import asyncio
import json
import re
from datetime import UTC, timedelta

import pytest
from sqlalchemy import select, update

from smsbot.alerts.history import AlertHistory
from smsbot.alerts.routing import load_routes
from smsbot.alerts.storm import StormSummaries
from smsbot.bootstrap import open_service
from smsbot.policy.limits import STORM_RULE
from smsbot.sms.request import Outcome, SendRequest, SendResult, Surface
from smsbot.store import ManualClock, utcnow
from smsbot.store.sqlalchemy_tables import claims, sends
from tests.alerts.harness import ON_CALL, alert_settings, running_alert_app
from tests.alerts.payloads import load
from tests.fixtures.database import claim_without_record
from tests.fixtures.waiting import until

CAP = 3
# Seconds of the injected clock, which stands still until the test moves it past the window;
# small, so the summary task (a tenth of the window, at least 0.2 s) ticks often in real time.
WINDOW = 2
REOPENED = timedelta(seconds=WINDOW + 1)


def storm_clock() -> ManualClock:
    """The bot's clock: each reading a microsecond on, so records keep their order."""
    return ManualClock(tick=timedelta(microseconds=1))


async def later_ticks(*apps, count: int = 2) -> None:
    """Until each app's summary task has flushed `count` more times: it had its chance to send
    another summary."""
    summaries = [app.parts.storm for app in apps]
    seen = [s.ticks for s in summaries]
    await until(
        lambda: all(s.ticks >= n + count for s, n in zip(summaries, seen, strict=True)),
        f"{count} more ticks of the storm summary task",
    )


async def summary_records(app) -> list[str]:
    """The summaries' records (their text is not kept once sent; their key names them)."""
    records = await app.service.recent(1000)
    return [r.request_id for r in records if r.idempotency_key.startswith("alert-storm-summary:")]


def storm_of(count: int, *, alerts_each: int = 5, tag: str = "") -> list[bytes]:
    """`count` distinct notifications (new groups), each with `alerts_each` alerts."""
    template = load("alertmanager_firing")
    bodies = []
    for n in range(count):
        body = json.loads(json.dumps(template))
        body["groupKey"] = f'{{}}:{{alertname="Storm{tag}{n}"}}'
        first = body["alerts"][0]
        body["alerts"] = [
            {
                **first,
                "labels": {**first["labels"], "alertname": f"Storm{n}", "instance": f"h{i}"},
                "fingerprint": f"{tag}{n:06d}{i:04d}",
            }
            for i in range(alerts_each)
        ]
        bodies.append(json.dumps(body).encode())
    return bodies


async def post_all(app, bodies, concurrency=10):
    gate = asyncio.Semaphore(concurrency)

    async def one(body):
        async with gate:
            return await app.alertmanager(body)

    return await asyncio.gather(*(one(b) for b in bodies))


async def test_500_alerts_send_the_cap_and_then_one_summary(sandbox, sqlite_url):
    settings = alert_settings(sandbox.url, sqlite_url, storm_max=CAP, storm_window_seconds=WINDOW)
    clock = storm_clock()
    async with running_alert_app(settings, clock=clock) as alerts:
        started = clock()
        answers = await post_all(alerts, storm_of(100))  # 100 groups x 5 alerts
        posting = clock() - started
        assert all(status == 200 for status, _ in answers)
        assert sum(a["queued"] for _, a in answers) == CAP
        assert sum(a["storm_held"] for _, a in answers) == 100 - CAP
        assert posting < timedelta(seconds=WINDOW), "the storm must fit one window"

        await until(lambda: len(sandbox.messages()) == CAP)
        assert alerts.parts.storm.pending == 1

        # The window reopens: exactly one summary, counting what was held back.
        clock.advance(REOPENED)
        await until(lambda: len(sandbox.messages()) == CAP + 1)
        summary = sandbox.messages()[-1]
        assert summary["mobile_number"] == ON_CALL
        assert re.fullmatch(
            r"Held back since \d\d:\d\d CES?T: 97 firing, 0 resolved\. See Alertmanager",
            summary["content"],
        )
        assert alerts.parts.storm.pending == 0
        await later_ticks(alerts)
        assert len(await summary_records(alerts)) == 1
        assert len(sandbox.messages()) == CAP + 1


async def test_two_replicas_send_one_summary_counting_both(sandbox, sqlite_url):
    settings = alert_settings(sandbox.url, sqlite_url, storm_max=CAP, storm_window_seconds=WINDOW)
    clock = storm_clock()
    async with (
        running_alert_app(settings, clock=clock) as one,
        running_alert_app(settings, clock=clock) as two,
    ):
        bodies = storm_of(40)
        await asyncio.gather(post_all(one, bodies[::2]), post_all(two, bodies[1::2]))
        await until(lambda: len(sandbox.messages()) == CAP)
        assert one.parts.storm.pending == two.parts.storm.pending == 1

        clock.advance(REOPENED)
        await until(lambda: len(sandbox.messages()) == CAP + 1)
        await until(lambda: one.parts.storm.pending == two.parts.storm.pending == 0)
        await later_ticks(one, two)
        assert len(await summary_records(one)) == 1
    summaries = [m["content"] for m in sandbox.messages() if is_summary(m["content"])]
    assert [held_counts(s) for s in summaries] == ["37 firing, 0 resolved"]


def test_summary_text_counts_firing_and_resolved_apart_in_smsbot_timezone():
    from datetime import UTC, datetime

    from smsbot.alerts.storm import summary_text

    since = datetime(2024, 1, 15, 2, 10, tzinfo=UTC)  # 03:10 in Amsterdam (CET)
    now = since + timedelta(minutes=20)
    plain, mirrored, quiet = load_routes(
        [
            {"name": "a", "recipients": [ON_CALL]},
            {"name": "b", "recipients": [ON_CALL], "mirror_channel": "#alerts"},
            {
                "name": "c",
                "recipients": [ON_CALL],
                "mirror_channel": "C0ALERTS",
                "quiet_hours": {"start": "22:00", "end": "06:00", "timezone": "Asia/Tokyo"},
            },
        ]
    )
    held = {"firing": 10, "resolved": 2}
    assert summary_text(held, since, mirrored, Surface.ALERTMANAGER, now=now) == (
        "Held back since 03:10 CET: 10 firing, 2 resolved. See Slack #alerts"
    )
    assert summary_text({"firing": 1}, since, plain, Surface.GRAFANA, now=now) == (
        "Held back since 03:10 CET: 1 firing, 0 resolved. See Grafana"
    )
    # One rule for every time a person reads: SMSBOT_TIMEZONE, not a route's quiet hours.
    text = summary_text(held, since, quiet, Surface.ALERTMANAGER, "ops-alerts", now=now)
    assert text == "Held back since 03:10 CET: 10 firing, 2 resolved. See Slack #ops-alerts"
    assert summary_text(held, since, plain, Surface.ALERTMANAGER, timezone="UTC", now=now) == (
        "Held back since 02:10 UTC: 10 firing, 2 resolved. See Alertmanager"
    )


def is_summary(text: str | None) -> bool:
    return bool(text) and text.startswith("Held back since ")  # type: ignore[union-attr]


def held_counts(text: str) -> str:
    """ "Held back since 03:10 CET: 3 firing, 0 resolved. See ..." -> "3 firing, 0 resolved" """
    found = re.search(r": (\d+ firing, \d+ resolved)\.", text)
    assert found, text
    return found.group(1)


class FailsOnce:
    """`inner`, except that its first call of `method` fails as an unreachable store would (and
    its store is out of reach: the summaries write through the service only)."""

    def __init__(self, inner, method):
        self._inner, self._method, self.failed = inner, method, False

    def __getattr__(self, name):
        if name == "store":
            raise AttributeError("the storm summaries reached past the service to its store")
        if name == self._method and not self.failed:

            async def fail(*args, **kwargs):
                self.failed = True
                raise ConnectionError("the store is unreachable")

            return fail
        return getattr(self._inner, name)


@pytest.mark.parametrize("failing", ["enqueue"])  # the summary and its claim: one write
async def test_a_summary_the_store_failed_to_take_stays_pending(sandbox, sqlite_url, failing):
    settings = alert_settings(sandbox.url, sqlite_url, storm_max=1, storm_window_seconds=60)
    [route] = load_routes([{"name": "on-call", "recipients": [ON_CALL]}])
    minute = timedelta(seconds=61)
    async with open_service(settings, run_outbox=False) as service:
        since = utcnow()
        for n in range(2):
            request = SendRequest("alert:on-call", Surface.ALERTMANAGER, ON_CALL, f"alert {n}")
            result = await service.enqueue(request)
        assert (result.outcome, result.rule) == (Outcome.REFUSED, STORM_RULE)
        # A minute on: the window has room again.
        async with service.store.engine.begin() as conn:
            await conn.execute(update(sends).values(created_at=since - minute))
        since -= minute + timedelta(seconds=1)
        flaky = FailsOnce(service, failing)
        summaries = StormSummaries(settings.alerts, flaky, AlertHistory(service.store))
        summaries.refused(ON_CALL, route, Surface.ALERTMANAGER, since)
        assert await summaries.flush() == 0  # the store failed: logged, still pending
        assert summaries.pending == 1
        assert await summaries.flush() == 1
        assert summaries.pending == 0
        texts = [r.text for r in await service.recent()]
    assert [held_counts(t) for t in texts if is_summary(t)] == ["1 firing, 0 resolved"]


class RefusesOnce:
    """`inner`, except that its first `enqueue` is refused by the storm cap, as when another
    burst fills the reopened window between the summary's check and its record (the claim
    taken with it stands, as the refused row and the claim commit together)."""

    def __init__(self, inner):
        self._inner, self.refused = inner, False

    def __getattr__(self, name):
        if name == "enqueue" and not self.refused:

            async def refuse(request, *, claim=None):
                self.refused = True
                if claim is not None:
                    assert await claim_without_record(self._inner.store, *claim)
                return SendResult(Outcome.REFUSED, request_id="refused", rule=STORM_RULE)

            return refuse
        return getattr(self._inner, name)


async def test_a_refused_summary_keeps_its_claim_and_goes_out_next_time(sandbox, sqlite_url):
    settings = alert_settings(sandbox.url, sqlite_url, storm_max=1, storm_window_seconds=60)
    [route] = load_routes([{"name": "on-call", "recipients": [ON_CALL]}])
    minute = timedelta(seconds=61)
    async with open_service(settings, run_outbox=False) as service:
        since = utcnow()
        for n in range(2):
            request = SendRequest("alert:on-call", Surface.ALERTMANAGER, ON_CALL, f"alert {n}")
            await service.enqueue(request)
        async with service.store.engine.begin() as conn:
            await conn.execute(update(sends).values(created_at=since - minute))
        since -= minute + timedelta(seconds=1)
        summaries = StormSummaries(
            settings.alerts, RefusesOnce(service), AlertHistory(service.store)
        )
        summaries.refused(ON_CALL, route, Surface.ALERTMANAGER, since)
        assert await summaries.flush() == 0  # refused: still pending, the claim still ours
        assert summaries.pending == 1
        assert await summaries.flush() == 1
        assert summaries.pending == 0


async def a_minute_passes(service, *, stamped_early: str | None = None):
    """Move every record and claim a minute (and a second) into the past; the record with
    `stamped_early` as its idempotency key ends up stamped just before the first record, as a
    refusal whose transaction waited for the write lock while another replica recorded a send."""
    minute = timedelta(seconds=61)
    records = await service.recent(100)
    first = min(r.time for r in records)
    async with service.store.engine.begin() as conn:
        for r in records:
            await conn.execute(
                update(sends)
                .where(sends.c.id == r.request_id)
                .values(
                    created_at=first - timedelta(milliseconds=5)
                    if r.idempotency_key == stamped_early
                    else r.time - minute,
                    retry_at=r.retry_at and r.retry_at - minute,
                )
            )
        for key, expires_at in (await conn.execute(select(claims))).all():
            moved = expires_at.replace(tzinfo=UTC) - minute
            await conn.execute(update(claims).where(claims.c.key == key).values(expires_at=moved))


async def test_the_summary_counts_what_another_replica_held_back_before_it(sandbox, sqlite_url):
    """Replica one's refusals are recorded before replica two first sees the cap refuse (one
    of them even stamped before the send that filled the window); replica two sends the
    summary, counting the whole storm. The next storm's summary counts only what followed."""
    settings = alert_settings(sandbox.url, sqlite_url, storm_max=1, storm_window_seconds=60)
    [route] = load_routes([{"name": "on-call", "recipients": [ON_CALL]}])

    async def alert(n):
        request = SendRequest(
            "alert:on-call", Surface.ALERTMANAGER, ON_CALL, f"alert {n}", idempotency_key=f"a{n}"
        )
        return await service.enqueue(request)

    async with open_service(settings, run_outbox=False) as service:
        results = [await alert(n) for n in range(4)]
        assert [r.outcome for r in results] == [Outcome.QUEUED] + [Outcome.REFUSED] * 3
        await a_minute_passes(service, stamped_early="a1")
        ahead = timedelta(0)  # the summaries' key names the window slot of their clock
        history = AlertHistory(service.store)
        one = StormSummaries(settings.alerts, service, history, clock=lambda: utcnow() + ahead)
        two = StormSummaries(settings.alerts, service, history)
        reopens = results[1].retry_at - timedelta(seconds=61)
        stamped = {r.idempotency_key: r.time for r in await service.recent(100)}
        one.refused(ON_CALL, route, Surface.ALERTMANAGER, stamped["a1"], reopens)
        two.refused(ON_CALL, route, Surface.ALERTMANAGER, stamped["a3"], reopens)
        assert await two.flush() == 1
        assert await one.flush() == 0  # the window is full again: the summary used it
        assert one.pending == 1

        # The summary refilled the window: the next alert starts a new storm.
        results.append(await alert(4))
        assert (results[-1].outcome, results[-1].rule) == (Outcome.REFUSED, STORM_RULE)
        await a_minute_passes(service)
        ahead = timedelta(seconds=61)
        stamped = {r.idempotency_key: r.time for r in await service.recent(100)}
        one.refused(
            ON_CALL,
            route,
            Surface.ALERTMANAGER,
            stamped["a4"],
            results[-1].retry_at - timedelta(seconds=61),
        )
        assert await one.flush() == 1
        texts = [r.text for r in await service.recent(100) if is_summary(r.text)]
    assert sorted(held_counts(t) for t in texts) == ["1 firing, 0 resolved", "3 firing, 0 resolved"]


async def test_a_storm_pending_at_a_restart_still_gets_its_summary(sandbox, sqlite_url):
    settings = alert_settings(sandbox.url, sqlite_url, storm_max=CAP, storm_window_seconds=WINDOW)
    clock = storm_clock()
    async with running_alert_app(settings, clock=clock) as before:
        answers = await post_all(before, storm_of(20))
        assert sum(a["storm_held"] for _, a in answers) == 20 - CAP
        await until(lambda: len(sandbox.messages()) == CAP)
        assert before.parts.storm.pending == 1
    # Stopped before the window reopened: the pending summary left with the process.
    async with running_alert_app(settings, clock=clock) as after:
        await until(lambda: after.parts.storm.recovered)
        clock.advance(REOPENED)
        await until(lambda: len(sandbox.messages()) == CAP + 1)
        await later_ticks(after)
        assert len(await summary_records(after)) == 1
    summaries = [m["content"] for m in sandbox.messages() if is_summary(m["content"])]
    assert [held_counts(s) for s in summaries] == [f"{20 - CAP} firing, 0 resolved"]


async def test_a_summary_sent_before_a_restart_is_not_sent_again(sandbox, sqlite_url, caplog):
    settings = alert_settings(sandbox.url, sqlite_url, storm_max=CAP, storm_window_seconds=WINDOW)
    clock = storm_clock()
    async with running_alert_app(settings, clock=clock) as before:
        await post_all(before, storm_of(10))
        await until(lambda: len(sandbox.messages()) == CAP)
        clock.advance(REOPENED)
        await until(lambda: len(sandbox.messages()) == CAP + 1)
    with caplog.at_level("INFO", logger="smsbot.alerts.storm"):
        async with running_alert_app(settings, clock=clock) as after:
            summaries = after.parts.storm
            await until(lambda: summaries.recovered)
            # The storm's summary went out before the restart: nothing is owed, nor said to be.
            assert summaries.pending == 0
            assert await summaries.recover() == 0
            assert await summaries.flush() == 0
    assert not [m for m in caplog.messages if "still owing a summary" in m]
    assert len(sandbox.messages()) == CAP + 1


async def test_resolved_notifications_are_counted_apart_in_the_summary(sandbox, sqlite_url):
    routes = [{"name": "on-call", "recipients": [ON_CALL], "send_resolved": True}]
    settings = alert_settings(
        sandbox.url, sqlite_url, storm_max=CAP, storm_window_seconds=WINDOW, routes=routes
    )
    firing = storm_of(CAP + 4)
    resolved = [
        json.dumps(
            {
                **json.loads(body),
                "status": "resolved",
                "alerts": [{**a, "status": "resolved"} for a in json.loads(body)["alerts"]],
            }
        ).encode()
        for body in firing[:2]
    ]
    clock = storm_clock()
    async with running_alert_app(settings, clock=clock) as alerts:
        for body in [*firing, *resolved]:  # in order: the cap takes the first firing ones
            status, _ = await alerts.alertmanager(body)
            assert status == 200
        clock.advance(REOPENED)
        await until(lambda: len(sandbox.messages()) == CAP + 1)
    summary = sandbox.messages()[-1]["content"]
    assert held_counts(summary) == "4 firing, 2 resolved"


async def test_a_copy_of_a_held_back_notification_says_it_was_held_back(sandbox, sqlite_url):
    settings = alert_settings(sandbox.url, sqlite_url, storm_max=1, storm_window_seconds=600)
    first, second = storm_of(2)
    async with running_alert_app(settings) as alerts:
        await alerts.alertmanager(first)
        _, held = await alerts.alertmanager(second)
        _, copy = await alerts.alertmanager(second)  # the HA pair's other node
        assert (held["storm_held"], copy["duplicates"]) == (1, 1)
        records = await alerts.service.recent()
    [repeat] = [r for r in records if r.rule == "duplicate"]
    assert "held back by storm control" in repeat.error
    assert "went to this number" not in repeat.error


async def test_the_store_counts_held_back_rows_per_status(store) -> None:
    from datetime import datetime

    from smsbot.store import NewRecord

    since = datetime.now(UTC) - timedelta(minutes=1)
    for n, reply in enumerate(
        [{"status": "firing"}, {"status": "resolved"}, {"status": "resolved"}, {}]
    ):
        await store.admit(
            NewRecord(
                actor="alert:on-call",
                surface=Surface.ALERTMANAGER,
                idempotency_key=f"held-{n}",
                outcome=Outcome.REFUSED,
                text_length=5,
                recipient=ON_CALL,
                rule=STORM_RULE,
                error="Storm control",
                reply=reply,
            )
        )
    counts = await store.held_by_status(
        to=ON_CALL, since=since, rule=STORM_RULE, surfaces=[Surface.ALERTMANAGER]
    )
    assert counts == {"firing": 1, "resolved": 2, None: 1}
    assert (
        await store.held_by_status(
            to="+31687654321", since=since, rule=STORM_RULE, surfaces=[Surface.ALERTMANAGER]
        )
        == {}
    )
