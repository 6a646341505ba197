"""Who may send, where answers go, and what the HTTP endpoint does with retries, forged or
stale signatures, and a slow KPN."""

from __future__ import annotations

import asyncio
import gc
import time
from pathlib import Path
from urllib.parse import urlencode

import pytest

from smsbot.sms.request import Outcome
from tests.fakes import slack_requests as sr
from tests.fixtures.answers import assert_one_record, record_answers
from tests.fixtures.waiting import until
from tests.slack.conftest import ADMIN_CONTACT, SlackBot


@pytest.mark.parametrize(
    ("user", "channel"),
    [
        ("U0ALICE", "C0GENERAL"),  # listed by user id
        ("U0BOB", "C0GENERAL"),  # member of a listed user group
        ("U0CAROL", "C0OPS"),  # in a listed channel
    ],
)
async def test_allowlist_lets_listed_people_send(slack_bot: SlackBot, user: str, channel: str):
    await slack_bot.command("0612345678 allowed", user=user, channel=channel)
    await slack_bot.wait_for(lambda: slack_bot.fake.messages)
    assert [m["content"] for m in slack_bot.sandbox.messages()] == ["allowed"]
    group_lookups = slack_bot.fake.calls_to("usergroups.users.list")
    # Only a person matched by neither id nor channel needs the group asked of Slack.
    assert bool(group_lookups) == (user == "U0BOB")


async def test_refusal_is_private_audited_and_says_who_to_ask(slack_bot: SlackBot) -> None:
    status, body, response_id = await slack_bot.command("0612345678 hi", user="U0CAROL")
    assert status == 200 and sr.is_sending_ack(body)
    await slack_bot.wait_for(lambda: slack_bot.fake.answers(response_id))
    [answer] = slack_bot.fake.answers(response_id)
    assert answer["response_type"] == "ephemeral"
    assert ADMIN_CONTACT in answer["text"]
    [record] = await slack_bot.records(1)
    assert (record.actor, record.outcome, record.rule) == ("U0CAROL", Outcome.REFUSED, "allowlist")
    assert slack_bot.sandbox.messages() == [] and slack_bot.fake.messages == []


async def test_group_membership_is_cached(slack_bot: SlackBot) -> None:
    for n in range(3):
        await slack_bot.command(f"0612345678 n{n}", user="U0BOB")
    await slack_bot.wait_for(lambda: len(slack_bot.fake.messages) == 3)
    assert len(slack_bot.fake.calls_to("usergroups.users.list")) == 1


async def test_confirmation_falls_back_to_response_url(slack_bot: SlackBot) -> None:
    _, _, response_id = await slack_bot.command("0612345678 hi", channel="G0PRIVATE")
    await slack_bot.wait_for(lambda: slack_bot.fake.answers(response_id))
    [post] = slack_bot.fake.answers(response_id)
    assert post["response_type"] == "in_channel"
    assert slack_bot.sandbox.messages()[0]["document_id"] in post["text"]
    [attempt] = slack_bot.fake.calls_to("chat.postMessage")
    assert attempt.args["channel"] == "G0PRIVATE"  # tried the channel first
    assert slack_bot.fake.messages == []


async def test_a_public_channel_the_bot_is_not_in_still_gets_the_confirmation(
    slack_bot: SlackBot,
) -> None:
    # chat:write.public (in the manifest) lets the bot post in any public channel.
    _, _, response_id = await slack_bot.command("0612345678 hi", channel="C0OUTSIDE")
    await slack_bot.wait_for(lambda: slack_bot.fake.messages)
    assert slack_bot.fake.messages[0]["channel"] == "C0OUTSIDE"
    assert slack_bot.fake.answers(response_id) == []


async def test_slack_retry_sends_nothing_twice(
    slack_bot: SlackBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What the service answered each delivery: the positive signal that both listeners ran.
    results = record_answers(monkeypatch, slack_bot.service)
    form, response_id = slack_bot.command_form("0612345678 once only")
    retry = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    answers = await asyncio.gather(
        slack_bot.slack.command(form), slack_bot.slack.command(form, headers=retry)
    )
    assert [(s, sr.is_sending_ack(b)) for s, b in answers] == [(200, True)] * 2
    await slack_bot.wait_for(lambda: slack_bot.fake.messages)
    await slack_bot.wait_for(lambda: len(results) == 2, within=10)
    assert_one_record(results)
    assert len(slack_bot.sandbox.messages()) == 1
    assert len(slack_bot.fake.messages) == 1
    assert len(await slack_bot.service.recent()) == 1
    assert slack_bot.fake.answers(response_id) == []


async def test_forged_and_stale_signatures_are_refused(slack_bot: SlackBot) -> None:
    [start] = slack_bot.fake.calls  # auth.test, asked once before serving
    form, _ = slack_bot.command_form("0612345678 forged")
    assert (await slack_bot.slack.command(form, secret="not-the-secret"))[0] == 401
    stale = int(time.time()) - 6 * 60  # Slack's window is five minutes
    assert (await slack_bot.slack.command(form, timestamp=stale))[0] == 401
    tampered = dict(form, text="0612345678 tampered")
    status, _ = await slack_bot.slack.post_raw(
        urlencode(tampered),
        "application/x-www-form-urlencoded",
        headers=sr.signature_headers(urlencode(form)),
    )
    assert status == 401
    assert start.method == "auth.test"
    assert slack_bot.fake.calls == [start] and slack_bot.sandbox.send_requests == 0


async def test_slow_kpn_does_not_delay_the_ack(slack_bot: SlackBot) -> None:
    slack_bot.sandbox.hold_answers()  # KPN takes the SMS in and answers when the test says
    command = asyncio.ensure_future(slack_bot.command("0612345678 slow network"))
    # Acked while KPN has not answered (nor can, until released): the ack waits for nothing
    # of KPN's. Nothing confirmed yet.
    await until(command.done, "the ack while KPN holds its answer")
    status, body, _ = command.result()
    assert status == 200 and sr.is_sending_ack(body)
    assert slack_bot.fake.messages == []
    [acks] = [
        sample.value
        for sample in slack_bot.metrics.ack_latency.collect()[0].samples
        if sample.name.endswith("_count")
    ]
    assert acks == 1  # the ack's latency is measured
    # The send is under way, its answer held: still nothing confirmed until KPN answers.
    await until(lambda: slack_bot.sandbox.answers_held == 1, "the send waiting on KPN's answer")
    assert slack_bot.fake.messages == []
    slack_bot.sandbox.release_answers()
    await slack_bot.wait_for(lambda: slack_bot.fake.messages, within=10)
    assert [m["content"] for m in slack_bot.sandbox.messages()] == ["slow network"]


def replace_with_directory(database: Path) -> None:
    database.rename(database.with_suffix(".gone"))
    database.mkdir()


# aiosqlite leaves the Connection of a failed connect for the garbage collector, which warns;
# it is collected inside this test so the warning stays here and is not blamed on another.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
async def test_store_failure_after_the_ack_is_still_answered(slack_bot: SlackBot) -> None:
    # The database goes away under the running bot: its file is replaced by a directory.
    await slack_bot.service.store.close()
    await asyncio.to_thread(
        replace_with_directory, Path(slack_bot.settings.database_url.removeprefix("sqlite:///"))
    )
    status, body, response_id = await slack_bot.command("0612345678 lost?")
    assert status == 200 and sr.is_sending_ack(body)
    await slack_bot.wait_for(lambda: slack_bot.fake.answers(response_id))
    [answer] = slack_bot.fake.answers(response_id)
    assert answer["response_type"] == "ephemeral"
    assert "most likely not sent" in answer["text"] and ADMIN_CONTACT in answer["text"]
    assert slack_bot.sandbox.messages() == []
    gc.collect()
