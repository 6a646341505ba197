"""What the sender sees while and after their SMS goes: "Sending to …" at once, then the
outcome in its place; confirmations in a message's thread; confirmations only for the sender."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from smsbot.sandbox.testing import SandboxHandle
from smsbot.slack import blocks, texts
from tests.fakes import slack_requests as sr
from tests.fakes.block_kit import block_problems
from tests.fakes.slack_api import FakeSlackApi
from tests.slack.conftest import SlackBot, bot_settings, serving_bot, set_up_workspace
from tests.slack.test_modal import form_values


async def test_sending_shows_at_once_and_goes_when_the_channel_has_the_confirmation(
    slack_bot: SlackBot,
) -> None:
    _, body, response_id = await slack_bot.command("0612345678 door open")
    # The ack itself is the line: no call to Slack for it.
    pending = json.loads(body)
    assert pending["response_type"] == "ephemeral"
    assert pending["text"] == "Sending to +31 6 ****5678…"
    await slack_bot.wait_for(lambda: slack_bot.fake.messages)
    await slack_bot.wait_for(lambda: slack_bot.fake.posts_to(response_id))
    # The channel's confirmation says it: the line goes.
    assert slack_bot.fake.posts_to(response_id) == [{"delete_original": True}]


async def test_a_refusal_takes_the_place_of_the_sending_line(slack_bot: SlackBot) -> None:
    _, body, response_id = await slack_bot.command("0612345678 hi", user="U0DAVE")
    assert json.loads(body)["text"].startswith("Sending to")
    await slack_bot.wait_for(lambda: slack_bot.fake.answers(response_id))
    [shown] = slack_bot.fake.visible(response_id)
    assert shown["replace_original"] is True and "not allowed" in shown["text"]


async def test_a_message_shortcuts_confirmation_goes_in_the_messages_thread(
    slack_bot: SlackBot,
) -> None:
    _, url = slack_bot.new_response_url()
    payload = sr.message_shortcut_payload(
        user_id="U0ALICE", channel_id="C0OPS", message_text="door open", response_url=url
    )
    assert (await slack_bot.slack.interaction(payload))[0] == 200
    await slack_bot.wait_for(lambda: slack_bot.fake.views)
    view = next(iter(slack_bot.fake.views.values()))
    submission = sr.view_submission_payload(
        user_id="U0ALICE", view=view, values=form_values(number="0612345678", text="door open")
    )
    assert await slack_bot.slack.interaction(submission) == (200, "")
    await slack_bot.wait_for(lambda: slack_bot.fake.messages)
    [confirmation] = slack_bot.fake.messages
    assert confirmation["channel"] == "C0OPS"
    assert confirmation["thread_ts"] == payload["message"]["ts"]


async def test_confirmations_for_the_sender_only(
    fake_slack: FakeSlackApi, sandbox: SandboxHandle, tmp_path: Path
) -> None:
    set_up_workspace(fake_slack)
    settings = bot_settings(fake_slack, sandbox, tmp_path)
    settings.slack.confirmations = "sender"
    async with serving_bot(settings) as (_service, _metrics, slack):
        response_id, url = "only-me", fake_slack.response_url("only-me")
        form = sr.slash_command_form(
            "0612345678 quiet", user_id="U0ALICE", channel_id="C0GENERAL", response_url=url
        )
        await slack.command(form)
        await fake_slack.wait_for(lambda: fake_slack.answers(response_id))
    [shown] = fake_slack.visible(response_id)
    assert shown["response_type"] == "ephemeral" and shown["replace_original"] is True
    assert sandbox.messages()[0]["document_id"] in json.dumps(shown)
    assert fake_slack.messages == []  # nothing in the channel


async def test_people_whose_slack_is_dutch_read_dutch(slack_bot: SlackBot) -> None:
    slack_bot.fake.users["U0DAVE"].locale = "nl-NL"
    _, first, response_id = await slack_bot.command("0612345678 hoi", user="U0DAVE")
    await slack_bot.wait_for(lambda: slack_bot.fake.answers(response_id))
    [shown] = slack_bot.fake.visible(response_id)
    assert shown["text"].startswith("Niet verstuurd: ")
    # The first ack could not wait for Slack's answer about the language; from then on:
    assert json.loads(first)["text"].startswith("Sending to")
    _, again, _ = await slack_bot.command("0612345678 hoi", user="U0DAVE")
    assert json.loads(again)["text"] == "Versturen naar +31 6 ****5678…"
    # Everyone else still reads English.
    _, _, other = await slack_bot.command("0612345678 hi", user="U0ERIN")
    await slack_bot.wait_for(lambda: slack_bot.fake.answers(other))
    assert slack_bot.fake.visible(other)[0]["text"].startswith("Not sent: ")


@pytest.mark.parametrize(
    ("locale", "language"),
    [("nl-NL", "nl"), ("nl_BE", "nl"), ("nl", "nl"), ("en-GB", "en"), (None, "en"), ("", "en")],
)
def test_the_catalogue_follows_the_slack_language(locale, language) -> None:
    assert texts.for_locale(locale).language == language


def test_both_catalogues_say_everything_and_fit_slacks_limits() -> None:
    for catalogue in (texts.ENGLISH, texts.DUTCH):
        assert all(getattr(catalogue, f) for f in catalogue.__dataclass_fields__)
        _, message = blocks.confirmation(
            actor="U1", to="+31 6 ****5678", text="&" * 1000, parts=7, encoding="GSM-7",
            document_id="d", texts=catalogue,
        )  # fmt: skip
        assert block_problems(message) == []
        assert message[1]["text"]["text"].endswith(catalogue.cut_note)
        assert block_problems(blocks.pending("+31 6 ****5678", catalogue)[1]) == []
