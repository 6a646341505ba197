"""`smsbot audit`: recent records from the store, numbers masked."""

from __future__ import annotations

import ast
import asyncio
import inspect
import json
import os
from pathlib import Path

import pytest

from smsbot.cli import audit_cmd
from smsbot.cli.main import main
from smsbot.sms.request import Outcome, Surface
from smsbot.store import Delivery, DeliveryReport, NewRecord, Store


@pytest.fixture
async def recorded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A database holding one sent and one refused request, named in SMSBOT_DATABASE_URL."""
    for name in list(os.environ):
        if name.startswith("SMSBOT_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path / 'audit.db'}"
    monkeypatch.setenv("SMSBOT_DATABASE_URL", url)
    store = await Store.open(url)
    sent = await store.admit(
        NewRecord(
            "U1",
            Surface.SLACK_COMMAND,
            "a",
            Outcome.QUEUED,
            5,
            recipient="+31612345678",
            parts=1,
            encoding="GSM-7",
            text="hello",
        )
    )
    await store.take_due(1)
    await store.finish(sent.record.request_id, Outcome.SENT, document_id="doc-123")
    await store.apply_delivery(sent.record.request_id, DeliveryReport(Delivery.FAILED, code="007"))
    await store.admit(
        NewRecord("alert:db", Surface.ALERTMANAGER, "b", Outcome.REFUSED, 9,
                  recipient="+31687654321", rule="storm", error="Storm control: too many")
    )  # fmt: skip
    await store.close()
    return url


async def smsbot(*argv: str) -> int:
    return await asyncio.to_thread(main, list(argv))


async def test_json_lists_newest_first_with_numbers_masked(recorded: str, capsys):
    assert await smsbot("audit", "--json") == 0
    records = json.loads(capsys.readouterr().out)
    assert [r["outcome"] for r in records] == ["refused", "sent"]
    newest, oldest = records
    assert oldest["to"] == "+31 6 ****5678"
    assert (oldest["actor"], oldest["surface"], oldest["document_id"]) == (
        "U1",
        "slack_command",
        "doc-123",
    )
    assert (newest["rule"], newest["error"]) == ("storm", "Storm control: too many")
    for key in ("time", "actor", "surface", "to", "parts", "outcome", "document_id"):
        assert key in newest
    assert (oldest["delivery"], oldest["delivery_code"]) == ("failed", "007")
    assert oldest["delivered_at"] is not None
    assert (newest["delivery"], newest["delivered_at"]) == (None, None)
    assert "+31612345678" not in json.dumps(records)


async def test_limit_and_plain_table(recorded: str, capsys):
    assert await smsbot("audit", "--limit", "1") == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2  # header and one record
    assert lines[0].split()[:3] == ["time", "actor", "surface"]
    assert "+31 6 ****4321" in lines[1] and "Storm control" in lines[1]


async def test_plain_table_shows_delivery(recorded: str, capsys):
    assert await smsbot("audit") == 0
    header, _refused, sent = capsys.readouterr().out.splitlines()
    assert "delivery" in header.split()
    assert "failed 007" in sent and "doc-123" in sent


async def test_unmasked_when_the_operator_turns_masking_off(recorded: str, capsys, monkeypatch):
    monkeypatch.setenv("SMSBOT_AUDIT__MASK_NUMBERS", "false")
    assert await smsbot("audit", "--json") == 0
    assert json.loads(capsys.readouterr().out)[1]["to"] == "+31612345678"


async def test_empty_database(tmp_path: Path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SMSBOT_DATABASE_URL", f"sqlite:///{tmp_path / 'new.db'}")
    assert await smsbot("audit") == 0
    assert capsys.readouterr().out == "No SMS requests recorded yet.\n"


def test_limit_must_be_positive(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["audit", "--limit", "0"])
    assert exited.value.code == 2
    assert "1 or more" in capsys.readouterr().err


def test_audit_reads_through_the_service_not_the_store():
    # Surfaces (the CLI among them) go through the service; only bootstrap opens the store.
    imported = {
        (node.module, alias.name)
        for node in ast.walk(ast.parse(inspect.getsource(audit_cmd)))
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }
    assert ("smsbot.bootstrap", "open_service") in imported
    assert ("smsbot.store", "Store") not in imported


async def test_plain_table_times_follow_smsbot_timezone(recorded: str, capsys, monkeypatch):
    assert await smsbot("audit", "--json") == 0
    utc_time = json.loads(capsys.readouterr().out)[0]["time"]
    assert await smsbot("audit", "--limit", "1") == 0
    [_, row] = capsys.readouterr().out.splitlines()
    assert row.split()[2] in ("CET", "CEST")  # Europe/Amsterdam by default
    monkeypatch.setenv("SMSBOT_TIMEZONE", "UTC")
    assert await smsbot("audit", "--limit", "1") == 0
    [_, row] = capsys.readouterr().out.splitlines()
    assert row.split()[:3] == [utc_time[:10], utc_time[11:19], "UTC"]
