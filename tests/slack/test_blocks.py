"""Block Kit builders: the counter line, the modal, and confirmations that cannot ping."""

from __future__ import annotations

import json

from smsbot.slack import blocks
from smsbot.sms.text import analyze


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
