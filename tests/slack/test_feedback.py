"""What the sender sees while and after their SMS goes: "Sending to …" at once, then the
outcome in its place; confirmations in a message's thread; confirmations only for the sender."""

from __future__ import annotations

import json
from pathlib import Path

from smsbot.sandbox.testing import SandboxHandle
from tests.fakes import slack_requests as sr
from tests.fakes.slack_api import FakeSlackApi
from tests.slack.conftest import SlackBot, bot_settings, serving_bot, set_up_workspace
from tests.slack.test_modal import form_values


async def test_sending_shows_at_once_and_goes_when_the_channel_has_the_confirmation(
    slack_bot: SlackBot,
) -> None:
    _, _, response_id = await slack_bot.command("0612345678 door open")
    await slack_bot.wait_for(lambda: slack_bot.fake.messages)
    await slack_bot.wait_for(lambda: len(slack_bot.fake.posts_to(response_id)) == 2)
    pending, cleared = slack_bot.fake.posts_to(response_id)
    assert pending["response_type"] == "ephemeral"
    assert pending["text"] == "Sending to +31 6 ****5678…"
    assert cleared == {"delete_original": True}
    assert slack_bot.fake.visible(response_id) == []  # the channel's confirmation says it


async def test_a_refusal_takes_the_place_of_the_sending_line(slack_bot: SlackBot) -> None:
    _, _, response_id = await slack_bot.command("0612345678 hi", user="U0DAVE")
    await slack_bot.wait_for(lambda: slack_bot.fake.answers(response_id))
    [shown] = slack_bot.fake.visible(response_id)
    assert shown["replace_original"] is True and "not allowed" in shown["text"]
    assert slack_bot.fake.posts_to(response_id)[0]["text"].startswith("Sending to")


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
