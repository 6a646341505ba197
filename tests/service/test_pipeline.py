"""The pipeline end to end: real sandbox over loopback HTTP, real store (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import pytest
from sqlalchemy import update

from smsbot.bootstrap import open_service
from smsbot.metrics import Metrics
from smsbot.outbox import OutboxOptions
from smsbot.policy import Refusal
from smsbot.sandbox.testing import SandboxHandle, running_sandbox
from smsbot.service import NO_ANSWER
from smsbot.sms.request import Outcome, SendRequest, Surface
from smsbot.store import utcnow
from smsbot.store.sqlalchemy_tables import sends
from smsbot.timezone import local_time
from tests.fixtures.waiting import until
from tests.service.conftest import RecordingNotifier, settings_for

NUMBER = "+31612345678"


def cli(text: str = "Disk full on db-1", to: str = "06 1234 5678", **kw) -> SendRequest:
    return SendRequest(actor="cli:ops", surface=Surface.CLI, to=to, text=text, **kw)


async def test_a_request_is_sent_recorded_and_notified(sandbox: SandboxHandle, database_url):
    metrics = Metrics()
    notifier = RecordingNotifier()
    async with open_service(
        settings_for(sandbox.url, database_url), metrics=metrics, notifiers={Surface.CLI: notifier}
    ) as service:
        result = await service.submit(cli(sender="Ops", reply={"thread": "t1"}))
        [record] = await service.recent()

    assert result.outcome == Outcome.SENT
    assert (result.to, result.parts, result.encoding) == (NUMBER, 1, "GSM-7")
    [message] = sandbox.messages()
    assert message["document_id"] == result.document_id
    assert (message["mobile_number"], message["sender"]) == (NUMBER, "Ops")
    assert message["content"] == "Disk full on db-1"
    assert (record.request_id, record.outcome, record.document_id) == (
        result.request_id,
        Outcome.SENT,
        result.document_id,
    )
    assert record.text is None  # not kept after sending unless SMSBOT_AUDIT__STORE_TEXT
    assert record.attempts == 1
    [(request, told)] = notifier.calls
    assert told == result and request.reply == {"thread": "t1"}
    assert metrics.sends.labels("cli", "sent")._value.get() == 1
    assert metrics.kpn_latency._sum.get() > 0


async def test_default_sender_comes_from_settings(sandbox: SandboxHandle, sqlite_url: str):
    settings = settings_for(sandbox.url, sqlite_url, kpn={"sender": "NOC"})
    async with open_service(settings) as service:
        await service.submit(cli())
    assert sandbox.messages()[0]["sender"] == "NOC"


@pytest.mark.parametrize(
    ("overrides", "field", "says"),
    [
        ({"to": "020 123 4567"}, "to", "landline"),
        ({"text": ""}, "text", ""),
        ({"text": "x" * 1001}, "text", "1001"),
        ({"sender": "MuchTooLongSender"}, "sender", "11"),
    ],
)
async def test_invalid_input_is_recorded_and_returned(
    sandbox: SandboxHandle, sqlite_url: str, overrides, field, says
):
    notifier = RecordingNotifier()
    async with open_service(
        settings_for(sandbox.url, sqlite_url), notifiers={Surface.CLI: notifier}
    ) as service:
        request = cli(**overrides)
        result = await service.submit(request)
        [record] = await service.recent()
    assert result.outcome == Outcome.INVALID
    assert result.rule == field
    assert says in result.reason
    assert (record.outcome, record.error) == (Outcome.INVALID, result.reason)
    assert sandbox.send_requests == 0
    assert [r for _, r in notifier.calls] == [result]


@pytest.mark.parametrize("mask", [True, False])
async def test_a_typed_number_is_masked_in_the_audit_unless_configured_otherwise(
    sandbox: SandboxHandle, sqlite_url: str, mask: bool
):
    settings = settings_for(sandbox.url, sqlite_url, audit={"mask_numbers": mask})
    async with open_service(settings) as service:
        result = await service.submit(cli(to="0601234567"))
        [record] = await service.recent()
    assert (record.outcome, record.recipient) == (Outcome.INVALID, None)
    assert record.error == result.reason
    if mask:
        assert "0601234567" not in record.error
        assert record.error.startswith("******4567 is not a mobile number: 060 numbers")
    else:
        assert record.error.startswith("0601234567 is not a mobile number")


async def test_allowlist_by_surface(sandbox: SandboxHandle, sqlite_url: str) -> None:
    settings = settings_for(
        sandbox.url,
        sqlite_url,
        allow={"users": ["U1"], "channels": ["COPS"]},
    )
    async with open_service(settings) as service:
        service.allowed_workflows = ["Wf1"]  # the Slack layer's: while the step is limited

        async def outcome(actor: str, surface: Surface, channel: str | None = None) -> Outcome:
            request = SendRequest(actor, surface, "0612345678", "hi", channel=channel)
            return (await service.submit(request)).outcome

        assert await outcome("U1", Surface.SLACK_COMMAND) == Outcome.SENT
        assert await outcome("U2", Surface.SLACK_MODAL, channel="COPS") == Outcome.SENT
        assert await outcome("U2", Surface.SLACK_SHORTCUT, channel="CRANDOM") == Outcome.REFUSED
        assert await outcome("U1", Surface.WORKFLOW) == Outcome.SENT
        assert await outcome("U2", Surface.WORKFLOW) == Outcome.REFUSED
        assert await outcome("workflow:Wf1", Surface.WORKFLOW) == Outcome.SENT
        assert await outcome("workflow:Wf2", Surface.WORKFLOW) == Outcome.REFUSED
        assert await outcome("alert:oncall", Surface.ALERTMANAGER) == Outcome.SENT
        refusals = [r for r in await service.recent() if r.outcome == Outcome.REFUSED]
    assert len(sandbox.messages()) == 5
    assert {r.rule for r in refusals} == {"allowlist"}
    assert any("SMSBOT_SLACK__STEP_PERMISSIONS" in r.error for r in refusals)
    assert any("SMSBOT_ALLOW__USERS" in r.error for r in refusals)


async def test_kpn_unreachable_is_a_failure_that_says_what_to_do(
    sandbox: SandboxHandle, sqlite_url: str
):
    settings = settings_for(sandbox.url, sqlite_url, kpn={"max_attempts": 2})
    sandbox.add_fault(status=503, count=2)
    async with open_service(settings) as service:
        result = await service.submit(cli())
    assert result.outcome == Outcome.FAILED
    assert result.reason.startswith("KPN is unavailable (")
    assert result.reason.endswith("Nothing was sent.")
    assert sandbox.messages() == []


@pytest.mark.parametrize("where", ["refused", "404"])
async def test_kpn_unreachable_keeps_the_clients_advice(
    sandbox: SandboxHandle, sqlite_url: str, unused_tcp_port: int, where: str
):
    base_url = f"http://127.0.0.1:{unused_tcp_port}" if where == "refused" else sandbox.url + "/x"
    settings = settings_for(base_url, sqlite_url, kpn={"max_attempts": 1})
    async with open_service(settings) as service:
        result = await service.submit(cli())
    assert result.outcome == Outcome.FAILED
    assert "Check SMSBOT_KPN__BASE_URL" in result.reason
    assert "SMS was not sent" in result.reason or result.reason.endswith("Nothing was sent.")


async def test_no_answer_is_unknown_and_never_retried(sandbox: SandboxHandle, database_url):
    sandbox.add_fault(drop=True)
    async with open_service(settings_for(sandbox.url, database_url)) as service:
        result = await service.submit(cli())
        [record] = await service.recent()
        again = await service.submit(cli())  # a new request (new key) is a new SMS
    assert (result.outcome, result.reason) == (Outcome.UNKNOWN, NO_ANSWER)
    assert record.outcome == Outcome.UNKNOWN
    assert sandbox.send_requests == 2  # one dropped, one for the second request
    assert again.outcome == Outcome.SENT


async def test_a_failing_notifier_does_not_change_the_outcome(
    sandbox: SandboxHandle, sqlite_url: str, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.ERROR, logger="smsbot.service")
    async with open_service(
        settings_for(sandbox.url, sqlite_url), notifiers={Surface.CLI: RecordingNotifier(fail=True)}
    ) as service:
        result = await service.submit(cli())
        [record] = await service.recent()
    assert result.outcome == Outcome.SENT == record.outcome
    assert "the cli notifier failed" in caplog.text


async def test_twenty_concurrent_requests_with_one_key_send_one_sms(
    sandbox: SandboxHandle, database_url: str
):
    async with open_service(settings_for(sandbox.url, database_url)) as service:
        results = await asyncio.gather(
            *(service.submit(cli(idempotency_key="slack-retry-1")) for _ in range(20))
        )
        # Later, once finished, a retry gets the final result of the first request.
        late = await service.submit(cli(idempotency_key="slack-retry-1"))
    assert len(sandbox.messages()) == 1
    assert sum(not r.duplicate for r in results) == 1
    assert len({r.request_id for r in results}) == 1
    assert (late.duplicate, late.outcome) == (True, Outcome.SENT)
    assert late.document_id == sandbox.messages()[0]["document_id"]


async def test_per_actor_limit_says_when_the_next_send_is_possible(
    sandbox: SandboxHandle, database_url: str
):
    settings = settings_for(sandbox.url, database_url, limits={"per_actor_per_hour": 2})
    async with open_service(settings) as service:
        first = await service.submit(cli(to="0612345671"))
        await service.submit(cli(to="0612345672"))
        refused = await service.submit(cli(to="0612345673"))
        other_actor = await service.submit(
            SendRequest("U1", Surface.SLACK_COMMAND, "0612345673", "hi")
        )
        [first_record] = [r for r in await service.recent() if r.request_id == first.request_id]
    assert (refused.outcome, refused.rule) == (Outcome.REFUSED, "rate_limit")
    assert refused.retry_at == first_record.time + timedelta(hours=1)
    assert local_time(refused.retry_at, "Europe/Amsterdam") in refused.reason
    assert "SMSBOT_LIMITS__PER_ACTOR_PER_HOUR" in refused.reason
    assert other_actor.outcome == Outcome.SENT
    assert len(sandbox.messages()) == 3


async def test_per_recipient_limit_masks_the_number(sandbox: SandboxHandle, sqlite_url: str):
    settings = settings_for(sandbox.url, sqlite_url, limits={"per_recipient_per_hour": 1})
    async with open_service(settings) as service:
        await service.submit(cli())
        refused = await service.submit(SendRequest("U1", Surface.SLACK_COMMAND, NUMBER, "hi"))
    assert (refused.outcome, refused.rule) == (Outcome.REFUSED, "rate_limit")
    assert "+31 6 ****5678" in refused.reason and NUMBER not in refused.reason
    assert refused.retry_at is not None and refused.retry_at > utcnow()


async def test_alerts_have_storm_control_instead_of_hourly_limits(
    sandbox: SandboxHandle, sqlite_url: str
):
    settings = settings_for(
        sandbox.url,
        sqlite_url,
        limits={"per_actor_per_hour": 1, "per_recipient_per_hour": 1},
        alerts={"storm_max": 3, "storm_window_seconds": 600},
    )
    async with open_service(settings) as service:
        results = [
            await service.submit(SendRequest("alert:oncall", surface, NUMBER, f"alert {i}"))
            for i, surface in enumerate([Surface.ALERTMANAGER, Surface.GRAFANA] * 2)
        ]
        person = await service.submit(SendRequest("U1", Surface.SLACK_COMMAND, NUMBER, "hi"))
    assert [r.outcome for r in results] == [Outcome.SENT] * 3 + [Outcome.REFUSED]
    assert results[-1].rule == "storm"
    assert "3 alert SMS in the last 10 minutes" in results[-1].reason
    assert person.outcome == Outcome.SENT  # alerts did not use up the person's allowance


async def test_quota_used_up_refuses_until_the_reset_without_asking_kpn(sqlite_url: str):
    async with running_sandbox(quota="2/hour") as sandbox:
        async with open_service(settings_for(sandbox.url, sqlite_url)) as service:
            sent = [await service.submit(cli(to=f"061234567{i}")) for i in range(2)]
            refused = await service.submit(cli(to="0612345679"))
        assert [r.outcome for r in sent] == [Outcome.SENT, Outcome.SENT]
        assert (refused.outcome, refused.rule) == (Outcome.REFUSED, "kpn_quota")
        assert refused.retry_at is not None and refused.retry_at > utcnow()
        assert "quota is used up until" in refused.reason
        assert sandbox.send_requests == 2


async def test_after_a_429_later_sends_wait_for_the_reset(sandbox: SandboxHandle, sqlite_url):
    settings = settings_for(sandbox.url, sqlite_url, kpn={"max_attempts": 1})
    sandbox.add_fault(status=429, retry_after=120)
    async with open_service(settings) as service:
        failed = await service.submit(cli())
        refused = await service.submit(cli())
    assert (failed.outcome, failed.rule) == (Outcome.FAILED, "kpn_quota")
    assert (refused.outcome, refused.rule) == (Outcome.REFUSED, "kpn_quota")
    assert timedelta(seconds=100) < refused.retry_at - utcnow() <= timedelta(seconds=120)
    assert sandbox.send_requests == 1


async def test_enqueue_returns_at_once_and_the_outbox_sends(sandbox: SandboxHandle, database_url):
    sandbox.add_fault(delay_ms=300)
    notifier = RecordingNotifier()
    async with open_service(
        settings_for(sandbox.url, database_url), notifiers={Surface.ALERTMANAGER: notifier}
    ) as service:
        request = SendRequest("alert:oncall", Surface.ALERTMANAGER, NUMBER, "db down")
        queued = await service.enqueue(request)
        assert queued.outcome == Outcome.QUEUED
        assert sandbox.messages() == []
        await notifier.wait_for(1)
        duplicate = await service.enqueue(request)
    [(told_request, told)] = notifier.calls
    assert told.outcome == Outcome.SENT and told.request_id == queued.request_id
    assert (told_request.text, told_request.idempotency_key) == ("db down", request.idempotency_key)
    assert (duplicate.duplicate, duplicate.outcome) == (True, Outcome.SENT)
    assert [m["content"] for m in sandbox.messages()] == ["db down"]


async def test_enqueue_with_a_claim_records_only_for_the_claimer(
    sandbox: SandboxHandle, database_url
):
    """`enqueue(claim=...)` takes the claim and records in one transaction: of copies arriving
    together one is recorded, the rest get None and leave nothing behind, also when the request
    is refused or invalid; a plain claim of the key then loses."""
    async with open_service(settings_for(sandbox.url, database_url), run_outbox=False) as service:

        def alert(key: str, to: str = NUMBER) -> SendRequest:
            return SendRequest(
                "alert:oncall", Surface.ALERTMANAGER, to, "db down", idempotency_key=key
            )

        results = await asyncio.gather(
            *(service.enqueue(alert(f"copy{n}"), claim=("alert:same", 60)) for n in range(5)),
            service.enqueue(alert("bad", to="12"), claim=("alert:bad", 60)),
        )
        recorded = [r for r in results[:5] if r is not None]
        assert len(recorded) == 1 and recorded[0].outcome == Outcome.QUEUED
        assert results[5] is not None and results[5].outcome == Outcome.INVALID
        assert len(await service.recent()) == 2
        # Held by the recorded copy: a later copy is not recorded.
        assert await service.enqueue(alert("copy5"), claim=("alert:same", 60)) is None
        assert await service.enqueue(alert("bad2", to="12"), claim=("alert:bad", 60)) is None
        assert await service.store.by_key("bad2") is None


async def test_enqueue_reports_refusals_through_the_notifier_too(
    sandbox: SandboxHandle, sqlite_url: str
):
    notifier = RecordingNotifier()
    async with open_service(
        settings_for(sandbox.url, sqlite_url), notifiers={Surface.SLACK_MODAL: notifier}
    ) as service:
        result = await service.enqueue(SendRequest("U9", Surface.SLACK_MODAL, NUMBER, "hi"))
    assert result.outcome == Outcome.REFUSED
    assert [r for _, r in notifier.calls] == [result]


async def test_history_is_per_actor(sandbox: SandboxHandle, sqlite_url: str) -> None:
    async with open_service(settings_for(sandbox.url, sqlite_url)) as service:
        await service.submit(cli())
        await service.submit(SendRequest("U1", Surface.SLACK_COMMAND, NUMBER, "hi"))
        assert [r.actor for r in await service.history("U1")] == ["U1"]
        assert len(await service.recent()) == 2
        assert await service.ready()


async def test_the_outbox_waits_out_a_429_and_then_sends_once(sandbox: SandboxHandle, sqlite_url):
    settings = settings_for(sandbox.url, sqlite_url, kpn={"max_attempts": 1})
    sandbox.add_fault(status=429, retry_after=1)
    notifier = RecordingNotifier()
    async with open_service(settings, notifiers={Surface.GRAFANA: notifier}) as service:
        queued = await service.enqueue(SendRequest("alert:g", Surface.GRAFANA, NUMBER, "cpu"))
        await notifier.wait_for(1)
        [record] = await service.recent()
    [(_, told)] = notifier.calls  # told once, when finally sent
    assert (told.outcome, told.request_id) == (Outcome.SENT, queued.request_id)
    assert sandbox.send_requests == 2  # the 429, then one send after the wait: no hammering
    assert record.attempts == 2 and len(sandbox.messages()) == 1


async def test_old_records_are_purged_when_the_service_starts(sandbox: SandboxHandle, sqlite_url):
    settings = settings_for(sandbox.url, sqlite_url, audit={"retention_days": 30})
    async with open_service(settings, run_outbox=False) as service:
        old = await service.submit(cli())
        kept = await service.submit(cli())
        async with service.store.engine.begin() as conn:
            await conn.execute(
                update(sends)
                .where(sends.c.id == old.request_id)
                .values(created_at=utcnow() - timedelta(days=31))
            )
    async with open_service(settings) as service:

        async def purged() -> list[str] | None:  # the worker's first round purges
            remaining = [r.request_id for r in await service.recent()]
            return remaining if len(remaining) == 1 else None

        remaining = await until(purged, "the purge of old records")
    assert remaining == [kept.request_id]


async def test_a_refusal_the_surface_decided_is_recorded_never_rechecked_or_sent(
    sandbox: SandboxHandle, sqlite_url: str
):
    notifier = RecordingNotifier()
    told = Refusal("allowlist", "Could not check your user groups with Slack.")
    async with open_service(
        settings_for(sandbox.url, sqlite_url), notifiers={Surface.SLACK_MODAL: notifier}
    ) as service:
        # U1 is on the allowlist: authorizing again would let this through.
        request = SendRequest("U1", Surface.SLACK_MODAL, "0612345678", "hi", idempotency_key="k1")
        result = await service.record_refusal(request, told)
        again = await service.record_refusal(request, told)
        bad = await service.record_refusal(
            SendRequest("U1", Surface.SLACK_MODAL, "0601234567", "hi"), told
        )
        records = await service.recent()
    assert (result.outcome, result.rule, result.reason) == (
        Outcome.REFUSED,
        "allowlist",
        told.message,
    )
    assert again.duplicate and again.request_id == result.request_id
    assert (bad.outcome, bad.rule) == (Outcome.INVALID, "to")
    assert len(records) == 2 and sandbox.send_requests == 0
    assert [r.outcome for _, r in notifier.calls] == [Outcome.REFUSED, Outcome.INVALID]


async def test_a_stop_cancels_sends_still_under_way_after_the_grace(
    sandbox: SandboxHandle, sqlite_url: str
):
    settings = settings_for(sandbox.url, sqlite_url, kpn={"read_timeout": 30.0})
    sandbox.add_fault(delay_ms=3000)  # KPN answers, but only after the stop's grace
    async with open_service(settings, outbox=OutboxOptions(stop_grace_seconds=0.1)) as service:
        queued = await service.enqueue(SendRequest("alert:g", Surface.GRAFANA, NUMBER, "cpu"))
        await until(lambda: sandbox_got_it(sandbox))
    # Not waited for (the default used to be stale_after, ~2 min): the row stays `sending`, to
    # become `unknown` later, and is never sent again.
    async with open_service(settings, run_outbox=False) as service:
        record = await service.store.get(queued.request_id)
    assert record.outcome == Outcome.SENDING


async def sandbox_got_it(sandbox: SandboxHandle) -> bool:
    return sandbox.send_requests > 0


@pytest.mark.parametrize(
    ("surface", "configured", "expected"),
    [
        (Surface.ALERTMANAGER, 3600.0, 3600.0),
        (Surface.GRAFANA, 3600.0, 3600.0),
        (Surface.SLACK_COMMAND, 3600.0, 120.0),
        (Surface.WORKFLOW, 3600.0, 120.0),
        (Surface.SLACK_MODAL, 30.0, 30.0),
    ],
)
def test_people_hear_of_a_kpn_outage_within_minutes_alerts_keep_trying(
    surface, configured, expected
):
    from smsbot.outbox import retry_bound_seconds
    from smsbot.settings import Settings

    settings = Settings(_env_file=None, kpn={"outbox_retry_seconds": configured})
    assert retry_bound_seconds(surface, settings) == expected
