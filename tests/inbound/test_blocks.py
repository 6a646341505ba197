"""What the two-way pieces post into Slack and open there, checked by slack_sdk's validators
(as the fake Slack Web API checks them): the reply message, the Reply by SMS form."""

from __future__ import annotations

from smsbot.inbound.threads import Reply
from smsbot.slack import blocks
from smsbot.slack.thread_replies import REPLY_PREFIX, reply_blocks
from tests.fakes.block_kit import block_problems, view_problems


def test_a_long_reply_of_escapes_stays_within_slacks_limits() -> None:
    fallback, message_blocks = reply_blocks(Reply("+31 6 ****5678", "&<>" * 3000, "abc"))
    assert block_problems(message_blocks) == [] and "5678" in fallback
    assert "&lt;" in str(message_blocks) and "<>" not in str(message_blocks)
    [button] = message_blocks[-1]["elements"]
    assert button["value"] == REPLY_PREFIX + "abc" and "5678" not in button["value"]


def test_the_reply_form_fixes_the_recipient_and_names_the_reply_number() -> None:
    origin = blocks.ModalOrigin(
        surface="slack_modal", channel="C1", reply_to="abc", thread_ts="1.2"
    )
    view = blocks.modal_view(
        origin=origin,
        default_sender="SMSBot",
        counter="",
        fixed_to="+31 6 ****5678",
        reply_number="+3197012345678",
    )
    assert view_problems(view) == []
    block_ids = [b.get("block_id") for b in view["blocks"]]
    assert blocks.TO_BLOCK not in block_ids and blocks.PERSON_BLOCK not in block_ids
    [sender] = [b for b in view["blocks"] if b.get("block_id") == blocks.SENDER_BLOCK]
    assert "cannot be replied to" in sender["hint"]["text"]
    assert blocks.ModalOrigin.load(view["private_metadata"]) == origin


def test_the_ordinary_form_says_a_name_cannot_be_replied_to_when_there_is_a_reply_number() -> None:
    origin = blocks.ModalOrigin(surface="slack_modal")
    plain = blocks.modal_view(origin=origin, default_sender="SMSBot", counter="")
    two_way = blocks.modal_view(
        origin=origin, default_sender="SMSBot", counter="", reply_number="+3197012345678"
    )
    hint = {
        name: next(b for b in v["blocks"] if b.get("block_id") == blocks.SENDER_BLOCK)["hint"]
        for name, v in (("plain", plain), ("two_way", two_way))
    }
    assert "replied" not in hint["plain"]["text"]
    assert (
        "+3197012345678" in hint["two_way"]["text"]
        and "cannot be replied to" in hint["two_way"]["text"]
    )
