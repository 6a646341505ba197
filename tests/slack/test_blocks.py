"""Block Kit builders: the counter line, the modal, and confirmations that cannot ping."""

from __future__ import annotations

import json
import re

import pytest

from smsbot.slack import blocks
from smsbot.sms.text import analyze
from tests.fakes.block_kit import block_problems, view_problems


def test_counter_line_follows_the_text() -> None:
    assert blocks.counter_text(None, 1000) == "0 characters · GSM-7 · 0 parts"
    assert blocks.counter_text(analyze("a" * 161), 1000) == "161 characters · GSM-7 · 2 parts"
    line = blocks.counter_text(analyze("it’s ok"), 1000)
    assert line.startswith("7 characters · UCS-2 · 1 part") and "because of ’" in line
    assert "over the 5-character limit" in blocks.counter_text(analyze("abcdef"), 5)


def test_modal_carries_origin_and_prefill() -> None:
    origin = blocks.ModalOrigin("slack_modal", "C1", "https://hooks.example/r")
    view = blocks.modal_view(
        origin=origin, default_sender="SMSBot", counter="x", text="hi", number="06", user="U1"
    )
    assert blocks.ModalOrigin.load(view["private_metadata"]) == origin
    by_id = {block["block_id"]: block for block in view["blocks"]}
    assert by_id["text"]["element"]["initial_value"] == "hi"
    assert by_id["text"]["dispatch_action"] is True
    assert by_id["to"]["element"]["initial_value"] == "06"
    assert by_id["person"]["element"]["initial_user"] == "U1"


def test_with_counter_keeps_inputs_and_replaces_only_the_counter() -> None:
    origin = blocks.ModalOrigin("slack_shortcut")
    view = blocks.modal_view(origin=origin, default_sender="S", counter="old")
    echoed = {**view, "id": "V1", "hash": "h", "state": {"values": {}}, "team_id": "T"}
    updated = blocks.with_counter(echoed, "new")
    assert set(updated) == {
        "type",
        "callback_id",
        "title",
        "submit",
        "close",
        "private_metadata",
        "blocks",
    }
    assert [b["block_id"] for b in updated["blocks"]] == [b["block_id"] for b in view["blocks"]]
    assert updated["blocks"][-1]["elements"][0]["text"] == "new"
    assert updated["blocks"][:-1] == view["blocks"][:-1]


def test_confirmation_escapes_user_text() -> None:
    fallback, message = blocks.confirmation(
        actor="U1",
        to="+31 6 ****5678",
        text="<!channel> <https://evil.example|click> & co",
        parts=1,
        encoding="GSM-7",
        document_id="doc-1",
    )
    rendered = json.dumps(message)
    assert "<!channel>" not in rendered and "<https://evil" not in rendered
    assert "&lt;!channel&gt;" in rendered and "&amp; co" in rendered
    assert all(block.get("text", {}).get("verbatim", True) for block in message)
    assert "doc-1" in fallback and "+31 6 ****5678" in fallback and "channel" not in fallback


# The worst a legal SMS can do to a confirmation: 1,000 characters that all need escaping
# (5,000 characters of mrkdwn), or 1,000 lines each quoted with "> ".
ESCAPE_HEAVY = "&<>" * 333 + "&"
LINE_HEAVY = "\n" * 999 + "x"
LONG_REASON = "KPN said: " + "no " * 2000


@pytest.mark.parametrize("text", [ESCAPE_HEAVY, LINE_HEAVY, "plain"])
def test_confirmations_stay_within_slacks_limits(text: str) -> None:
    fallback, message = blocks.confirmation(
        actor="U1",
        to="@" + "n" * 500 + " (+31 6 ****5678)",
        text=text,
        parts=7,
        encoding="UCS-2",
        document_id="d" * 36,
    )
    assert block_problems(message) == []
    assert len(fallback) <= blocks.MESSAGE_TEXT_LIMIT


def test_a_cut_text_says_so_and_never_splits_an_entity() -> None:
    _, message = blocks.confirmation(
        actor="U1", to="x", text=ESCAPE_HEAVY, parts=7, encoding="GSM-7", document_id="d"
    )
    quoted = message[1]["text"]["text"]
    assert blocks.TEXT_LIMIT - 5 <= len(quoted) <= blocks.TEXT_LIMIT
    assert quoted.endswith(blocks.CUT_NOTE)
    body = quoted.removesuffix(blocks.CUT_NOTE).removeprefix("> ")
    assert re.fullmatch(r"(&amp;|&lt;|&gt;)+", body)  # whole entities only
    assert blocks.fit("short") == "short"


def test_problems_help_and_history_stay_within_slacks_limits() -> None:
    _, problem = blocks.problem(LONG_REASON, LONG_REASON)
    assert block_problems(problem) == []
    assert problem[0]["text"]["text"].endswith(blocks.CUT_NOTE)
    lines = [
        blocks.HistoryLine("2026-01-01 10:00 UTC", "+31 6 ****5678", "sent", 7, "d" * 400)
        for _ in range(10)
    ]
    for text_and_blocks in (blocks.history_blocks(lines), blocks.history_blocks([])):
        assert block_problems(text_and_blocks[1]) == []
    assert block_problems([{"type": "section", "text": blocks._mrkdwn(blocks.help_text())}]) == []


@pytest.mark.parametrize("prefill", [None, "x" * 3000, ESCAPE_HEAVY])
def test_the_modal_and_its_counter_updates_stay_within_slacks_limits(prefill) -> None:
    origin = blocks.ModalOrigin("slack_modal", "C1", "https://hooks.slack.com/commands/" + "x" * 90)
    counter = blocks.counter_text(analyze(prefill or ""), 1000)
    view = blocks.modal_view(
        origin=origin,
        default_sender="SMSBotSMSBo",
        counter=counter,
        text=prefill,
        number="0612345678",
        user="U1",
    )
    assert view_problems(view) == []
    echoed = {**view, "id": "V1", "hash": "h", "state": {"values": {}}}
    assert view_problems(blocks.with_counter(echoed, counter)) == []
