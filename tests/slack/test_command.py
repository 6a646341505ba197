"""`/sms` end to end: signed requests to the running app; what reached Slack and the sandbox."""

from __future__ import annotations

import json
import re
from functools import partial

from smsbot.sms.request import Outcome
from tests.fakes import slack_requests as sr
from tests.slack.conftest import SlackBot

dumps = partial(json.dumps, ensure_ascii=False)


async def test_inline_send_confirms_in_the_channel(slack_bot: SlackBot) -> None:
    status, body, _ = await slack_bot.command("0612345678 Server room door is open")
    assert status == 200 and sr.is_sending_ack(body)
    await slack_bot.wait_for(lambda: slack_bot.fake.messages)
    [sms] = slack_bot.sandbox.messages()
    assert sms["mobile_number"] == "+31612345678"
    assert sms["content"] == "Server room door is open"
    assert sms["sender"] == "SMSBot"
    [confirmation] = slack_bot.fake.messages
    assert confirmation["channel"] == "C0GENERAL"
    shown = dumps(confirmation["blocks"])
    assert "<@U0ALICE>" in shown and "+31 6 ****5678" in shown
    assert sms["document_id"] in shown and "1 part · GSM-7" in shown
    assert "0612345678" not in dumps(confirmation) and "612345678" not in shown


async def test_escaping_round_trip(slack_bot: SlackBot) -> None:
    escaped = (
        "Tom &amp; Jerry &lt;3 see <https://example.com|example.com> or "
        "<https://status.example.com/x?a=1&amp;b=2> mail <mailto:ops@example.com|ops@example.com> "
        "ask <@U0BOB|bob> or <@U0CAROL>"
    )
    await slack_bot.command("0612345678 " + escaped)
    await slack_bot.wait_for(lambda: slack_bot.fake.messages)
    [sms] = slack_bot.sandbox.messages()
    assert sms["content"] == (
        "Tom & Jerry <3 see example.com or https://status.example.com/x?a=1&b=2 "
        "mail ops@example.com ask @bob or @carol"
    )
    quoted = dumps(slack_bot.fake.messages[0]["blocks"])
    assert "Tom &amp; Jerry &lt;3" in quoted


async def test_mentions_in_the_text_ping_nobody(slack_bot: SlackBot) -> None:
    await slack_bot.command("0612345678 <!channel> <!here> door &lt;!everyone&gt; open")
    await slack_bot.wait_for(lambda: slack_bot.fake.messages)
    [sms] = slack_bot.sandbox.messages()
    assert sms["content"] == "@channel @here door <!everyone> open"
    [call] = slack_bot.fake.calls_to("chat.postMessage")
    posted = dumps(call.args)
    for broadcast in ("<!channel>", "<!here>", "<!everyone>"):
        assert broadcast not in posted
    assert "&lt;!everyone&gt;" in posted
    assert all(b["text"].get("verbatim") for b in call.args["blocks"] if "text" in b)


async def test_send_to_a_person_uses_their_profile_phone(slack_bot: SlackBot) -> None:
    await slack_bot.command("<@U0BOB|bob> Can you call me?")
    await slack_bot.wait_for(lambda: slack_bot.fake.messages)
    [sms] = slack_bot.sandbox.messages()
    assert (sms["mobile_number"], sms["content"]) == ("+31633334444", "Can you call me?")
    assert "@bob (+31 6 ****4444)" in dumps(slack_bot.fake.messages[0]["blocks"])


async def test_person_without_a_usable_phone_is_told_why(slack_bot: SlackBot) -> None:
    _, _, no_phone = await slack_bot.command("<@U0DAVE> hello")
    _, _, foreign = await slack_bot.command("<@U0ERIN|erin> hello")
    await slack_bot.wait_for(
        lambda: slack_bot.fake.posts_to(no_phone) and slack_bot.fake.posts_to(foreign)
    )
    [dave] = slack_bot.fake.posts_to(no_phone)
    assert dave["response_type"] == "ephemeral"
    assert "has no phone number on their Slack profile" in dave["text"]
    [erin] = slack_bot.fake.posts_to(foreign)
    assert "@erin" in erin["text"] and "type a number instead" in erin["text"]
    assert "900123" not in erin["text"].replace("****0123", "")
    assert slack_bot.sandbox.messages() == [] and slack_bot.fake.messages == []


async def test_invalid_number_is_audited_and_explained(slack_bot: SlackBot) -> None:
    _, _, response_id = await slack_bot.command("0601234567 hello")
    await slack_bot.wait_for(lambda: slack_bot.fake.posts_to(response_id))
    [answer] = slack_bot.fake.posts_to(response_id)
    assert answer["response_type"] == "ephemeral"
    assert "060 numbers cannot receive SMS" in answer["text"]
    [record] = await slack_bot.service.recent()
    assert record.outcome is Outcome.INVALID and record.actor == "U0ALICE"
    assert slack_bot.sandbox.messages() == []


async def test_words_instead_of_a_number_get_usage_in_the_ack(slack_bot: SlackBot) -> None:
    status, body, _ = await slack_bot.command("alice hello")
    assert status == 200
    assert "'alice' is not a phone number" in json.loads(body)["text"]


async def test_help_in_the_ack(slack_bot: SlackBot) -> None:
    status, body, _ = await slack_bot.command("help")
    assert status == 200
    text = json.loads(body)["text"]
    assert "/sms 0612345678" in text and "/sms history" in text


async def test_history_is_ephemeral_and_masked(slack_bot: SlackBot) -> None:
    await slack_bot.command("0612345678 one")
    await slack_bot.wait_for(lambda: slack_bot.fake.messages)
    await slack_bot.command("0612345678 two", user="U0BOB")
    await slack_bot.wait_for(lambda: len(slack_bot.fake.messages) == 2)
    _, _, response_id = await slack_bot.command("history")
    await slack_bot.wait_for(lambda: slack_bot.fake.posts_to(response_id))
    [answer] = slack_bot.fake.posts_to(response_id)
    assert answer["response_type"] == "ephemeral"
    assert answer["text"].count("+31 6 ****5678") == 1  # alice's one send, not bob's
    assert slack_bot.sandbox.messages()[0]["document_id"] in answer["text"]
    assert "612345678" not in answer["text"]
    # The time in SMSBOT_TIMEZONE (Europe/Amsterdam by default), with its abbreviation.
    assert re.search(r"\b\d\d:\d\d CES?T\b", answer["text"]), answer["text"]


async def test_a_legal_sms_heavy_in_escapes_is_still_confirmed(slack_bot: SlackBot) -> None:
    # 1,000 characters (KPN's limit), each escaped by Slack and again in the confirmation:
    # over Slack's 3,000 per section unless cut, and Slack would refuse the whole message.
    typed = "&<>" * 333 + "&"
    escaped = typed.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    await slack_bot.command(f"0612345678 {escaped}")
    await slack_bot.wait_for(lambda: slack_bot.fake.messages)
    [sms] = slack_bot.sandbox.messages()
    assert sms["content"] == typed  # the SMS itself is never cut
    [confirmation] = slack_bot.fake.messages
    assert "cut: longer than Slack shows" in dumps(confirmation["blocks"])
    assert sms["document_id"] in dumps(confirmation["blocks"])
