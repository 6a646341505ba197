"""The modal and the shortcuts end to end: open, live counter, inline errors, submit."""

from __future__ import annotations

import json
from typing import Any

from smsbot.sms.request import Outcome
from tests.fakes import slack_requests as sr
from tests.slack.conftest import ADMIN_CONTACT, SlackBot


def form_values(
    *, number: str | None = None, person: str | None = None, sender: str | None = None,
    text: str | None = None,
) -> dict[str, dict[str, Any]]:  # fmt: skip
    return {
        "to": {"sms_number": sr.text_value(number)},
        "person": {"sms_person": {"type": "users_select", "selected_user": person}},
        "sender": {"sms_sender": sr.text_value(sender)},
        "text": {"sms_message": sr.text_value(text)},
    }


async def open_from_command(
    bot: SlackBot, *, user: str = "U0ALICE", channel: str = "C0OPS"
) -> dict[str, Any]:
    status, body, _ = await bot.command("", user=user, channel=channel)
    assert (status, body) == (200, "")
    await bot.wait_for(lambda: bot.fake.calls_to("views.open"))
    [call] = bot.fake.calls_to("views.open")
    return bot.fake.views[next(iter(bot.fake.views))] | {"trigger_id": call.args["trigger_id"]}


async def submit(bot: SlackBot, view: dict[str, Any], user: str = "U0ALICE", **values: Any):
    payload = sr.view_submission_payload(user_id=user, view=view, values=form_values(**values))
    return await bot.slack.interaction(payload)


async def test_empty_command_opens_the_modal(slack_bot: SlackBot) -> None:
    form, _ = slack_bot.command_form("", channel="C0OPS", trigger="123.456.abc")
    assert await slack_bot.slack.command(form) == (200, "")
    await slack_bot.wait_for(lambda: slack_bot.fake.calls_to("views.open"))
    [call] = slack_bot.fake.calls_to("views.open")
    assert call.args["trigger_id"] == "123.456.abc"
    view = call.args["view"]
    assert view["callback_id"] == "sms_modal"
    assert json.loads(view["private_metadata"])["channel"] == "C0OPS"


async def test_counter_follows_typing(slack_bot: SlackBot) -> None:
    view = await open_from_command(slack_bot)
    payload = sr.block_actions_payload(
        user_id="U0ALICE",
        view=view,
        values=form_values(text="a" * 161),
        action={"type": "plain_text_input", "block_id": "text", "action_id": "sms_message",
                "value": "a" * 161},
    )  # fmt: skip
    assert (await slack_bot.slack.interaction(payload))[0] == 200
    await slack_bot.wait_for(lambda: slack_bot.fake.calls_to("views.update"))
    [update] = slack_bot.fake.calls_to("views.update")
    assert (update.args["view_id"], update.args["hash"]) == (view["id"], view["hash"])
    counter = update.args["view"]["blocks"][-1]["elements"][0]["text"]
    assert counter == "161 characters · GSM-7 · 2 parts"
    # Same input blocks, same ids: Slack keeps what the person typed.
    assert update.args["view"]["blocks"][:-1] == view["blocks"][:-1]


async def test_stale_hash_is_not_an_error(slack_bot: SlackBot) -> None:
    view = await open_from_command(slack_bot)
    stale = view | {"hash": "stale"}
    payload = sr.block_actions_payload(
        user_id="U0ALICE", view=stale, values=form_values(text="x"),
        action={"type": "plain_text_input", "action_id": "sms_message", "value": "x"},
    )  # fmt: skip
    assert (await slack_bot.slack.interaction(payload))[0] == 200
    await slack_bot.wait_for(lambda: slack_bot.fake.calls_to("views.update"))
    assert slack_bot.fake.views[view["id"]]["hash"] == view["hash"]


async def test_errors_come_back_inline_per_field(slack_bot: SlackBot) -> None:
    view = await open_from_command(slack_bot)
    status, body = await submit(
        slack_bot, view, number="0601234567", sender="MuchTooLongSender", text="x" * 1001
    )
    assert status == 200
    answer = json.loads(body)
    assert answer["response_action"] == "errors"
    errors = answer["errors"]
    assert set(errors) == {"to", "sender", "text"}
    assert "060 numbers cannot receive SMS" in errors["to"]
    assert "11" in errors["sender"]
    assert "1001" in errors["text"]
    status, body = await submit(slack_bot, view, number="0612345678", person="U0BOB", text="hi")
    assert json.loads(body)["errors"] == {"to": "Give a number or pick a person, not both."}
    await pick_person(slack_bot, view, "U0DAVE")
    status, body = await submit(slack_bot, view, person="U0DAVE", text="hi")
    assert "no phone number" in json.loads(body)["errors"]["person"]
    assert slack_bot.sandbox.messages() == [] and await slack_bot.service.recent() == []


async def pick_person(bot: SlackBot, view: dict[str, Any], user: str) -> None:
    """The person picker's action, as Slack sends it; returns once their profile is cached."""
    payload = sr.block_actions_payload(
        user_id="U0ALICE", view=view, values=form_values(person=user),
        action={"type": "users_select", "block_id": "person", "action_id": "sms_person",
                "selected_user": user},
    )  # fmt: skip
    assert (await bot.slack.interaction(payload))[0] == 200
    directory = bot.service.allowlist.directory
    await bot.wait_for(lambda: directory.cached_person(user) is not None)


async def test_no_slack_call_before_the_ack_a_person_not_yet_known_is_told_after(
    slack_bot: SlackBot,
) -> None:
    view = await open_from_command(slack_bot)
    # Opening the form looks up the opener's language in the background; let it finish first.
    directory = slack_bot.service.allowlist.directory
    await slack_bot.wait_for(lambda: directory.cached_person("U0ALICE") is not None)
    calls_before = len(slack_bot.fake.calls)
    slack_is_slow = slack_bot.fake.hold("users.info")
    # Picked, then submitted before the profile could be read: the form closes at once,
    # while Slack has not answered users.info ...
    assert await submit(slack_bot, view, person="U0DAVE", text="hi") == (200, "")
    slack_is_slow.set()
    # ... and what the profile says reaches the sender privately, through the response_url.
    await slack_bot.wait_for(lambda: slack_bot.fake.response_posts)
    [post] = slack_bot.fake.response_posts
    assert post.body["response_type"] == "ephemeral"
    assert "no phone number" in post.body["text"]
    assert [c.method for c in slack_bot.fake.calls[calls_before:]] == ["users.info"]
    assert slack_bot.sandbox.messages() == []


async def test_submit_sends_once_and_confirms_where_it_was_opened(slack_bot: SlackBot) -> None:
    view = await open_from_command(slack_bot)
    first = await submit(slack_bot, view, number="06 1234 5678", sender="Facilities", text="Hi ’")
    again = await submit(slack_bot, view, number="06 1234 5678", sender="Facilities", text="Hi ’")
    assert first == again == (200, "")  # an empty ack closes the modal
    await slack_bot.wait_for(lambda: slack_bot.fake.messages)
    [sms] = slack_bot.sandbox.messages()
    assert (sms["sender"], sms["content"], sms["encoding"]) == ("Facilities", "Hi ’", "UCS-2")
    [record] = await slack_bot.service.recent()
    assert record.surface == "slack_modal" and record.outcome is Outcome.SENT
    [confirmation] = slack_bot.fake.messages
    assert confirmation["channel"] == "C0OPS"
    assert "UCS-2" in json.dumps(confirmation["blocks"])


async def test_submit_to_a_person(slack_bot: SlackBot) -> None:
    view = await open_from_command(slack_bot)
    assert await submit(slack_bot, view, person="U0BOB", text="call me") == (200, "")
    await slack_bot.wait_for(lambda: slack_bot.fake.messages)
    assert slack_bot.sandbox.messages()[0]["mobile_number"] == "+31633334444"
    assert "@bob (+31 6 ****4444)" in json.dumps(slack_bot.fake.messages[0]["blocks"])


async def test_refusal_is_inline_and_audited(slack_bot: SlackBot) -> None:
    # In #general nobody lets dave send (in #ops the channel would).
    view = await open_from_command(slack_bot, user="U0DAVE", channel="C0GENERAL")
    # Opening the form looked up the allowlist's user group: the refusal can be inline.
    allowlist = slack_bot.service.allowlist
    await slack_bot.wait_for(lambda: allowlist.decided("U0DAVE", "C0GENERAL") is not None)
    status, body = await submit(slack_bot, view, user="U0DAVE", number="0612345678", text="hi")
    assert status == 200
    assert ADMIN_CONTACT in json.loads(body)["errors"]["to"]
    [record] = await slack_bot.records(1)
    assert (record.actor, record.outcome, record.rule) == ("U0DAVE", Outcome.REFUSED, "allowlist")
    # Told inline already: no second answer.
    assert slack_bot.fake.response_posts == [] and slack_bot.fake.messages == []
    assert slack_bot.sandbox.messages() == []


async def test_a_group_slack_could_not_tell_while_the_form_was_open_is_asked_after_the_ack(
    slack_bot: SlackBot,
) -> None:
    # bob may send through the user group S0ONCALL; the lookup when the form opens fails.
    slack_bot.fake.script("usergroups.users.list", {"ok": False, "error": "internal_error"})
    view = await open_from_command(slack_bot, user="U0BOB", channel="C0GENERAL")
    await slack_bot.wait_for(lambda: slack_bot.fake.calls_to("usergroups.users.list"))
    assert await submit(slack_bot, view, user="U0BOB", number="0612345678", text="hi") == (
        200,
        "",
    )
    # Not decided before the ack (nothing waits on Slack then): the service asks again.
    await slack_bot.wait_for(lambda: slack_bot.fake.messages)
    assert len(slack_bot.fake.calls_to("usergroups.users.list")) == 2
    assert len(slack_bot.sandbox.messages()) == 1


async def test_global_shortcut_confirms_by_direct_message(slack_bot: SlackBot) -> None:
    payload = sr.global_shortcut_payload(user_id="U0ALICE")
    assert await slack_bot.slack.interaction(payload) == (200, "")
    await slack_bot.wait_for(lambda: slack_bot.fake.views)
    view = next(iter(slack_bot.fake.views.values()))
    assert json.loads(view["private_metadata"])["channel"] is None
    assert await submit(slack_bot, view, number="0612345678", text="from the shortcut") == (
        200,
        "",
    )
    await slack_bot.wait_for(lambda: slack_bot.fake.messages)
    [dm] = slack_bot.fake.calls_to("chat.postMessage")
    assert dm.args["channel"] == "U0ALICE"
    assert slack_bot.sandbox.messages()[0]["content"] == "from the shortcut"


async def test_message_shortcut_prefills_what_the_message_says(slack_bot: SlackBot) -> None:
    _, url = slack_bot.new_response_url()
    payload = sr.message_shortcut_payload(
        user_id="U0ALICE",
        channel_id="C0OPS",
        message_text="Deploy &amp; restart <https://ci.example.com|ci.example.com> <@U0BOB>",
        response_url=url,
    )
    assert await slack_bot.slack.interaction(payload) == (200, "")
    await slack_bot.wait_for(lambda: slack_bot.fake.calls_to("views.update"))
    # The form opens first (a trigger_id lasts 3 s); bob's name is asked after, and shown.
    methods = [call.method for call in slack_bot.fake.calls]
    assert methods.index("views.open") < methods.index("users.info")
    opened = slack_bot.fake.calls_to("views.open")[0].args["view"]
    assert "@U0BOB" in json.dumps(opened)
    view = next(iter(slack_bot.fake.views.values()))
    by_id = {block["block_id"]: block for block in view["blocks"]}
    assert by_id["text_named"]["element"]["initial_value"] == (
        "Deploy & restart ci.example.com @bob"
    )
    assert by_id["counter"]["elements"][0]["text"].startswith("36 characters · GSM-7 · 1 part")
    origin = json.loads(view["private_metadata"])
    assert (origin["channel"], origin["response_url"]) == ("C0OPS", url)


async def test_message_longer_than_slack_can_prefill(slack_bot: SlackBot) -> None:
    _, url = slack_bot.new_response_url()
    payload = sr.message_shortcut_payload(
        user_id="U0ALICE", channel_id="C0OPS", message_text="x" * 3500, response_url=url
    )
    assert await slack_bot.slack.interaction(payload) == (200, "")
    await slack_bot.wait_for(lambda: slack_bot.fake.views)
    view = next(iter(slack_bot.fake.views.values()))
    by_id = {block["block_id"]: block for block in view["blocks"]}
    assert len(by_id["text"]["element"]["initial_value"]) == 3000
    assert "over the 1000-character limit" in by_id["counter"]["elements"][0]["text"]


async def test_form_that_slack_will_not_open_is_explained(slack_bot: SlackBot) -> None:
    slack_bot.fake.script("views.open", {"ok": False, "error": "expired_trigger_id"}, times=2)
    _, _, response_id = await slack_bot.command("")
    await slack_bot.wait_for(lambda: slack_bot.fake.posts_to(response_id))
    [answer] = slack_bot.fake.posts_to(response_id)
    assert answer["response_type"] == "ephemeral"
    assert "expired_trigger_id" in answer["text"] and "/sms 0612345678" in answer["text"]
    # The global shortcut has no response_url: the person hears it directly.
    await slack_bot.slack.interaction(sr.global_shortcut_payload(user_id="U0ALICE"))
    await slack_bot.wait_for(lambda: slack_bot.fake.messages)
    assert slack_bot.fake.messages[0]["channel"] == "D0ALICE"
    assert "did not open the SMS form" in slack_bot.fake.messages[0]["text"]


async def test_fast_typing_costs_two_updates_the_first_and_the_last(slack_bot: SlackBot) -> None:
    view = await open_from_command(slack_bot)
    release = slack_bot.fake.hold("views.update")

    async def type_(text: str) -> None:
        payload = sr.block_actions_payload(
            user_id="U0ALICE", view=view, values=form_values(text=text),
            action={"type": "plain_text_input", "action_id": "sms_message", "value": text},
        )  # fmt: skip
        assert (await slack_bot.slack.interaction(payload))[0] == 200

    await type_("a")
    await slack_bot.wait_for(lambda: slack_bot.fake.calls_to("views.update"))
    for n in range(2, 12):  # typed while the first update is still under way
        await type_("a" * n)
    release.set()
    await slack_bot.wait_for(lambda: len(slack_bot.fake.calls_to("views.update")) == 2)
    first, last = slack_bot.fake.calls_to("views.update")
    assert first.args["view"]["blocks"][-1]["elements"][0]["text"].startswith("1 character")
    assert last.args["view"]["blocks"][-1]["elements"][0]["text"].startswith("11 characters")
    # The second goes with the hash Slack gave the first: no hash_conflict.
    assert last.args["hash"] != view["hash"]
    assert slack_bot.fake.views[view["id"]]["blocks"][-1]["elements"][0]["text"].startswith("11")
