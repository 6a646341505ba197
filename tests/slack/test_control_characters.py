"""Control characters and direction overrides in what people type into Slack: refused with a
message naming the character, recorded (a NUL shown as U+FFFD), never sent."""

from __future__ import annotations

import json

import pytest

from smsbot.sms.request import Outcome
from tests.fakes import slack_requests as sr
from tests.slack.conftest import SlackBot
from tests.slack.test_modal import open_from_command, submit

TYPED = [
    ("door\x00open", "U+0000 (NUL)"),
    ("bell\x07", "U+0007 (BEL)"),
    ("\x1b[31mred", "U+001B (ESC)"),
    ("pay \u202e01 ot", "U+202E (RIGHT-TO-LEFT OVERRIDE)"),
]


@pytest.mark.parametrize(("text", "named"), TYPED)
async def test_slash_command_refuses_naming_the_character(
    slack_bot: SlackBot, text: str, named: str
) -> None:
    status, body, response_id = await slack_bot.command(f"0612345678 {text}")
    assert status == 200 and sr.is_sending_ack(body)
    await slack_bot.wait_for(lambda: slack_bot.fake.answers(response_id))
    [answer] = slack_bot.fake.answers(response_id)
    assert answer["response_type"] == "ephemeral"
    assert named in answer["text"] and "Delete it" in answer["text"]
    [record] = await slack_bot.records(1)
    assert (record.outcome, record.rule) == (Outcome.INVALID, "text")
    assert "\x00" not in (record.text or "")
    assert slack_bot.sandbox.messages() == []


async def test_modal_marks_the_text_field(slack_bot: SlackBot) -> None:
    view = await open_from_command(slack_bot)
    status, body = await submit(slack_bot, view, number="0612345678", text="door\x00open")
    assert status == 200
    errors = json.loads(body)["errors"]
    assert set(errors) == {"text"} and "U+0000 (NUL)" in errors["text"]
    assert slack_bot.sandbox.messages() == []


@pytest.mark.parametrize(
    "text", ["line one\nline two", "tab\tseparated", "zero\u200bwidth", "emoji 👩\u200d💻"]
)
async def test_what_people_do_type_still_goes(slack_bot: SlackBot, text: str) -> None:
    await slack_bot.command(f"0612345678 {text}")
    await slack_bot.wait_for(lambda: slack_bot.sandbox.messages())
    assert slack_bot.sandbox.messages()[0]["content"] == text
