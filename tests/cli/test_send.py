"""`smsbot send` end to end: the real CLI entry point, the pipeline, a SQLite store, and the
sandbox over loopback (the command runs in a thread with its own event loop, as from a shell)."""

from __future__ import annotations

import asyncio
import getpass
import io
import json
import os
from pathlib import Path

import pytest

from smsbot.cli.main import main
from smsbot.sandbox.testing import SandboxHandle
from smsbot.store import Store


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A clean environment: no SMSBOT_ settings but a database of this test; no stray .env."""
    for name in list(os.environ):
        if name.startswith("SMSBOT_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("SMSBOT_DATABASE_URL", url)
    return url


async def smsbot(*argv: str) -> int:
    return await asyncio.to_thread(main, list(argv))


async def test_send_prints_the_document_id_and_audits_the_os_user(
    sandbox: SandboxHandle, cli_env: str, capsys: pytest.CaptureFixture[str]
):
    code = await smsbot("send", "06-12345678", "Deploy done", "--sandbox", sandbox.url)
    out = capsys.readouterr().out
    [message] = sandbox.messages()
    assert code == 0
    assert out == f"{message['document_id']}\n"
    assert (message["mobile_number"], message["content"]) == ("+31612345678", "Deploy done")
    store = await Store.open(cli_env)
    [record] = await store.recent()
    await store.close()
    assert (record.actor, record.surface, record.document_id) == (
        f"cli:{getpass.getuser()}",
        "cli",
        message["document_id"],
    )


async def test_a_login_name_longer_than_a_system_allows_is_audited_cut(
    sandbox: SandboxHandle, cli_env: str, monkeypatch: pytest.MonkeyPatch
):
    # getpass trusts LOGNAME; the audit's actor column would refuse 200+ characters.
    monkeypatch.setenv("LOGNAME", "u" * 250)
    assert await smsbot("send", "0612345678", "Deploy done", "--sandbox", sandbox.url) == 0
    store = await Store.open(cli_env)
    [record] = await store.recent()
    await store.close()
    assert record.actor == "cli:" + "u" * 64


async def test_send_json_has_the_contract_keys(
    sandbox: SandboxHandle, cli_env: str, capsys: pytest.CaptureFixture[str]
):
    code = await smsbot(
        "send", "0612345678", "Temperatuur 21°C", "--sender", "Facility", "--json",
        "--sandbox", sandbox.url,
    )  # fmt: skip
    answer = json.loads(capsys.readouterr().out)
    assert code == 0
    assert answer["document_id"] == sandbox.messages()[0]["document_id"]
    assert {k: answer[k] for k in ("status", "to", "parts", "encoding")} == {
        "status": "OK",
        "to": "+31612345678",
        "parts": 1,
        "encoding": "UCS-2",  # ° is not in the GSM-7 alphabet
    }
    assert sandbox.messages()[0]["sender"] == "Facility"


async def test_text_from_standard_input(
    sandbox: SandboxHandle, cli_env: str, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr("sys.stdin", io.StringIO("line one\nline two\n"))
    assert await smsbot("send", "0612345678", "-", "--sandbox", sandbox.url) == 0
    assert sandbox.messages()[0]["content"] == "line one\nline two"


async def test_without_credentials_says_what_to_set(
    cli_env: str, capsys: pytest.CaptureFixture[str]
):
    code = await smsbot("send", "0612345678", "hi")
    err = capsys.readouterr().err
    assert code == 2
    for hint in ("SMSBOT_KPN__CLIENT_ID", "SMSBOT_KPN__CLIENT_SECRET", "--sandbox URL"):
        assert hint in err


async def test_credentials_kpn_refuses_exit_2_naming_the_variables(
    sandbox: SandboxHandle,
    cli_env: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
):
    monkeypatch.setenv("SMSBOT_KPN__BASE_URL", sandbox.url)
    monkeypatch.setenv("SMSBOT_KPN__CLIENT_ID", "sandbox")
    monkeypatch.setenv("SMSBOT_KPN__CLIENT_SECRET", "not-the-secret")
    code = await smsbot("send", "0612345678", "hi", "--json")
    captured = capsys.readouterr()
    assert code == 2
    for hint in ("SMSBOT_KPN__CLIENT_ID", "SMSBOT_KPN__CLIENT_SECRET"):
        assert hint in captured.err
    answer = json.loads(captured.out)
    assert (answer["outcome"], answer["rule"]) == ("failed", "kpn_credentials")
    assert sandbox.send_requests == 0


async def test_bad_number_exits_2_and_sends_nothing(
    sandbox: SandboxHandle, cli_env: str, capsys: pytest.CaptureFixture[str]
):
    code = await smsbot("send", "+32470123456", "hi", "--sandbox", sandbox.url)
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("smsbot: ") and "Dutch" in err
    assert sandbox.send_requests == 0


async def test_no_answer_exits_1_and_warns_it_may_have_been_sent(
    sandbox: SandboxHandle, cli_env: str, capsys: pytest.CaptureFixture[str]
):
    sandbox.add_fault(drop=True)
    code = await smsbot("send", "0612345678", "hi", "--json", "--sandbox", sandbox.url)
    captured = capsys.readouterr()
    assert code == 1
    assert "maybe sent" in captured.err and "before sending it again" in captured.err
    assert json.loads(captured.out)["outcome"] == "unknown"
    assert sandbox.send_requests == 1


async def test_unreachable_kpn_exits_1(
    sandbox: SandboxHandle, cli_env: str, capsys, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("SMSBOT_KPN__MAX_ATTEMPTS", "1")
    sandbox.add_fault(status=503)
    code = await smsbot("send", "0612345678", "hi", "--sandbox", sandbox.url)
    assert code == 1
    err = capsys.readouterr().err
    assert "not sent: KPN is unavailable (" in err and "Nothing was sent." in err


async def test_rate_limit_exits_1_with_the_next_possible_time(
    sandbox: SandboxHandle, cli_env: str, capsys, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("SMSBOT_LIMITS__PER_ACTOR_PER_HOUR", "1")
    assert await smsbot("send", "0612345678", "one", "--sandbox", sandbox.url) == 0
    code = await smsbot("send", "0687654321", "two", "--json", "--sandbox", sandbox.url)
    captured = capsys.readouterr()
    assert code == 1
    assert "next send is possible at" in captured.err
    answer = json.loads(captured.out.splitlines()[-1])
    assert (answer["outcome"], answer["rule"]) == ("refused", "rate_limit")
    assert answer["retry_at"] is not None
    assert len(sandbox.messages()) == 1


async def test_a_control_character_in_the_text_exits_2_naming_it(
    sandbox: SandboxHandle, cli_env: str, capsys: pytest.CaptureFixture[str]
):
    code = await smsbot("send", "0612345678", "disk\x1bfull", "--sandbox", sandbox.url)
    err = capsys.readouterr().err
    assert code == 2
    assert "U+001B (ESC)" in err and "Delete it" in err
    assert sandbox.send_requests == 0
