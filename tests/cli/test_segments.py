"""`smsbot segments`: through the real CLI entry point, and once as `python -m smsbot`."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from smsbot.cli.main import main

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def clean_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No stray .env, TOML file or SMSBOT_ variable changes the limits under test."""
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("SMSBOT_"):
            monkeypatch.delenv(name)


def run_json(capsys: pytest.CaptureFixture[str], text: str) -> dict:
    assert main(["segments", "--json", text]) == 0
    return json.loads(capsys.readouterr().out)


def test_json_has_the_contract_shape(capsys: pytest.CaptureFixture[str]) -> None:
    report = run_json(capsys, "a" * 160 + "’")
    assert {k: report[k] for k in ("encoding", "characters", "parts", "ucs2_characters")} == {
        "encoding": "UCS-2",
        "characters": 161,
        "parts": 3,
        "ucs2_characters": ["’"],
    }
    assert report["units"] == 161
    assert report["per_part"] == 67
    assert report["replacements"] == {"’": "'"}
    assert report["if_replaced"] == {"encoding": "GSM-7", "parts": 2}


def test_json_for_plain_gsm7(capsys: pytest.CaptureFixture[str]) -> None:
    report = run_json(capsys, "Disk full on db1 {prod} 5€")
    assert report["encoding"] == "GSM-7"
    assert report["characters"] == 26
    assert report["units"] == 29  # {, } and € cost two septets each
    assert report["parts"] == 1
    assert report["ucs2_characters"] == []
    assert "replacements" not in report


def test_text_output_shows_why_and_how_to_fix(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["segments", "It’s down: " + "x" * 140]) == 0
    out = capsys.readouterr().out
    assert "Encoding:   UCS-2" in out
    assert "Characters: 151" in out
    assert "Parts:      3 SMS" in out
    assert '’  U+2019 RIGHT SINGLE QUOTATION MARK  use "\'" instead' in out
    assert "With those replaced it is GSM-7: 1 SMS instead of 3." in out


def test_text_output_names_characters_without_stand_in(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["segments", "Server up 😀"]) == 0
    out = capsys.readouterr().out
    assert "U+1F600 GRINNING FACE" in out
    assert "No GSM-7 stand-in for 😀: the message stays UCS-2." in out


def test_gsm7_text_output_has_no_ucs2_section(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["segments", "a" * 161]) == 0
    out = capsys.readouterr().out
    assert "Encoding:   GSM-7" in out
    assert "161 septets (160 fit in one SMS, 153 per part when split)" in out
    assert "Parts:      2 SMS" in out
    assert "not in GSM-7" not in out


def test_dash_reads_standard_input(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("line one\nline two\n"))
    report = run_json(capsys, "-")
    assert report["characters"] == len("line one\nline two")


def test_empty_text_exits_2_with_a_message(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["segments", ""]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "Message is empty; write the text to send." in captured.err


def test_text_over_the_limit_exits_2_with_the_count(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["segments", "x" * 1203]) == 2
    assert "Message is 1203 characters; KPN accepts at most 1000. Shorten it by 203." in (
        capsys.readouterr().err
    )


def test_the_configured_maximum_is_honoured(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SMSBOT_SMS__MAX_CHARACTERS", "100")
    assert main(["segments", "x" * 101]) == 2
    assert "SMSBOT_SMS__MAX_CHARACTERS) is 100. Shorten it by 1." in capsys.readouterr().err


def test_python_dash_m_smsbot(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMSBOT_")}
    env["PYTHONPATH"] = str(REPO)
    done = subprocess.run(
        [sys.executable, "-m", "smsbot", "segments", "--json", "Jij’s op call"],
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=tmp_path,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert (report["encoding"], report["parts"], report["ucs2_characters"]) == (
        "UCS-2",
        1,
        ["’"],
    )
