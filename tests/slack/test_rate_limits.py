"""Slack's 429s: every call waits what `Retry-After` says and tries again, within bounds."""

from __future__ import annotations

import pytest
from slack_sdk.errors import SlackApiError

from smsbot.slack.retry import MAX_RETRIES, retry_handlers, web_client
from tests.fakes.slack_api import BOT_TOKEN, FakeSlackApi
from tests.slack.conftest import SlackBot


class RecordedSleep:
    """An instant sleep that remembers how long it was asked to wait."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def sleep() -> RecordedSleep:
    return RecordedSleep()


def client(fake: FakeSlackApi, sleep: RecordedSleep, **kwargs):
    return web_client(BOT_TOKEN, fake.api_url, handlers=retry_handlers(sleep=sleep, **kwargs))


async def test_a_429_waits_retry_after_and_tries_again(fake_slack, sleep) -> None:
    fake_slack.add_channel("C1", "ops")
    fake_slack.rate_limit("chat.postMessage", retry_after=7, times=2)
    await client(fake_slack, sleep).chat_postMessage(channel="C1", text="hi")
    assert len(fake_slack.calls_to("chat.postMessage")) == 3
    assert [round(wait) for wait in sleep.waits] == [7, 7]
    assert all(7 <= wait < 7.25 for wait in sleep.waits)  # Retry-After plus a little jitter
    assert len(fake_slack.messages) == 1


async def test_waiting_is_bounded_in_time_and_in_tries(fake_slack, sleep) -> None:
    fake_slack.rate_limit("users.info", retry_after=31)
    with pytest.raises(SlackApiError) as caught:
        await client(fake_slack, sleep, max_wait_seconds=30).users_info(user="U1")
    assert caught.value.response.status_code == 429 and sleep.waits == []  # not worth waiting

    fake_slack.rate_limit("users.info", retry_after=20, times=2)
    with pytest.raises(SlackApiError):  # 20 s, then 20 more would pass the 30 s bound
        await client(fake_slack, sleep, max_wait_seconds=30).users_info(user="U1")
    assert len(sleep.waits) == 1

    sleep.waits.clear()
    fake_slack.rate_limit("auth.test", retry_after=1, times=MAX_RETRIES + 1)
    with pytest.raises(SlackApiError):
        await client(fake_slack, sleep).auth_test()
    assert len(sleep.waits) == MAX_RETRIES


async def test_a_rate_limited_confirmation_still_arrives(slack_bot: SlackBot) -> None:
    slack_bot.fake.rate_limit("chat.postMessage", retry_after=0)
    await slack_bot.command("0612345678 door open")
    await slack_bot.wait_for(lambda: slack_bot.fake.messages)
    assert len(slack_bot.fake.calls_to("chat.postMessage")) == 2


async def test_a_rate_limited_group_lookup_still_lets_the_member_send(slack_bot: SlackBot) -> None:
    slack_bot.fake.rate_limit("usergroups.users.list", retry_after=0)
    await slack_bot.command("0612345678 from bob", user="U0BOB")
    await slack_bot.wait_for(lambda: slack_bot.fake.messages)
    assert len(slack_bot.sandbox.messages()) == 1
    assert len(slack_bot.fake.calls_to("usergroups.users.list")) == 2


async def test_a_rate_limited_response_url_post_is_tried_again(slack_bot: SlackBot) -> None:
    # A private channel: the answer goes through the response_url, which is rate-limited too.
    slack_bot.fake.rate_limit("response_url", retry_after=0)
    _, _, response_id = await slack_bot.command("0612345678 hi", channel="G0PRIVATE")
    await slack_bot.wait_for(lambda: slack_bot.fake.posts_to(response_id))
    assert slack_bot.fake.messages == []  # it was the response_url, not a DM, that answered
