"""A NUL on SQLite and on PostgreSQL, which cannot store one at all: an alert whose annotations
hold one (and other control characters) is accepted and sent; a person's text with one is
refused and its record stored."""

from __future__ import annotations

import pytest

from smsbot.bootstrap import open_service
from smsbot.sms.request import Outcome, SendRequest, Surface
from tests.alerts.harness import alert_settings, running_alert_app
from tests.alerts.payloads import load
from tests.fixtures.waiting import until
from tests.service.conftest import settings_for


async def test_an_alert_with_a_nul_in_an_annotation_is_accepted_and_sent(sandbox, database_url):
    body = load("alertmanager_firing")
    body["commonAnnotations"]["summary"] = "Disk\u0000full\u0007 on \u202edb1"
    body["groupKey"] = body["groupKey"] + "\u0000"
    for alert in body["alerts"]:
        alert["annotations"]["summary"] = "Disk\u0000full"
    async with running_alert_app(alert_settings(sandbox.url, database_url)) as alerts:
        status, answer = await alerts.alertmanager(body)
        assert (status, answer["queued"]) == (200, 1)
        await until(lambda: len(sandbox.messages()) == 1)
        [sms] = sandbox.messages()
        assert sms["content"].endswith(" - Disk full on db1")
        # The sandbox has it before the outbox records KPN's answer: wait for the record.
        [record] = await until(
            lambda: _final(alerts.service.recent()), "the SMS's outcome recorded"
        )
        assert record.outcome is Outcome.SENT


async def _final(records):
    found = await records
    return found if found and all(r.outcome.is_final for r in found) else None


@pytest.mark.parametrize("text", ["door\x00open", "pay \u202e01 ot"])
async def test_a_typed_nul_is_refused_and_recorded_on_every_store(sandbox, database_url, text):
    # With the audit keeping texts, the refused text is stored too: a NUL shows as U+FFFD.
    settings = settings_for(sandbox.url, database_url, audit={"store_text": True})
    async with open_service(settings) as service:
        request = SendRequest(actor="cli:ops", surface=Surface.CLI, to="0612345678", text=text)
        result = await service.submit(request)
        [record] = await service.recent()
    assert (result.outcome, record.outcome, record.rule) == (Outcome.INVALID,) * 2 + ("text",)
    assert record.text == text.replace("\x00", "\ufffd").replace("\u202e", "\ufffd")
    assert sandbox.send_requests == 0
