"""SlackDirectory against the fake Slack Web API: answers, caching, expiry."""

from __future__ import annotations

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from smsbot.slack.directory import SlackDirectory
from tests.fakes.slack_api import BOT_TOKEN, FakeSlackApi


def directory(fake: FakeSlackApi, clock: list[float]) -> SlackDirectory:
    client = AsyncWebClient(token=BOT_TOKEN, base_url=fake.api_url)
    return SlackDirectory(client, cache_seconds=60, clock=lambda: clock[0])


async def test_members_are_cached_until_they_expire(fake_slack: FakeSlackApi) -> None:
    fake_slack.add_usergroup("S1", ["U1", "U2"])
    clock = [0.0]
    people = directory(fake_slack, clock)
    assert await people.members("S1") == frozenset({"U1", "U2"})
    fake_slack.add_usergroup("S1", ["U3"])
    clock[0] = 59
    assert await people.members("S1") == frozenset({"U1", "U2"})
    clock[0] = 61
    assert await people.members("S1") == frozenset({"U3"})
    assert len(fake_slack.calls_to("usergroups.users.list")) == 2


async def test_phone_and_name(fake_slack: FakeSlackApi) -> None:
    fake_slack.add_user("U1", "alice", phone=" 06 1234 5678 ")
    fake_slack.add_user("U2", "bob")
    people = directory(fake_slack, [0.0])
    assert await people.phone_of("U1") == "06 1234 5678"
    assert await people.phone_of("U2") is None
    assert await people.name_of("U1") == "alice"


async def test_unknown_group_raises(fake_slack: FakeSlackApi) -> None:
    with pytest.raises(SlackApiError):
        await directory(fake_slack, [0.0]).members("S404")
