"""SlackDirectory against the fake Slack Web API: answers, caching, expiry."""

from __future__ import annotations

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from smsbot.errors import InvalidNumber
from smsbot.slack.directory import SlackDirectory
from smsbot.slack.sending import profile_phone
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


async def test_a_custom_profile_field_can_hold_the_phone(fake_slack: FakeSlackApi) -> None:
    fake_slack.add_profile_field("Xf0MOBILE", "Mobile")
    fake_slack.add_user("U1", "alice", phone="020 123 4567", fields={"Xf0MOBILE": "0612345678"})
    fake_slack.add_user("U2", "bob", phone="06 3333 4444")  # the field left empty
    client = AsyncWebClient(token=BOT_TOKEN, base_url=fake_slack.api_url)
    for field in ("Mobile", "mobile", "Xf0MOBILE"):
        people = SlackDirectory(client, phone_field=field)
        alice = await people.person("U1")
        assert (alice.phone, alice.phone_source) == ("0612345678", field)
        assert (await people.person("U2")).phone == "06 3333 4444"
    assert len(fake_slack.calls_to("team.profile.get")) == 3  # once per directory


async def test_an_empty_phone_says_which_field_to_fill_in(fake_slack: FakeSlackApi) -> None:
    fake_slack.add_profile_field("Xf0MOBILE", "Mobile")
    fake_slack.add_user("U1", "dave")
    client = AsyncWebClient(token=BOT_TOKEN, base_url=fake_slack.api_url)
    with pytest.raises(InvalidNumber) as caught:
        await profile_phone(SlackDirectory(client, phone_field="Mobile"), "U1")
    assert "@dave has no phone number" in str(caught.value)
    assert "Profile > Edit profile > Mobile" in str(caught.value)
    with pytest.raises(InvalidNumber) as caught:
        await profile_phone(SlackDirectory(client), "U1")
    assert "Profile > Edit profile > Phone" in str(caught.value)
    with pytest.raises(InvalidNumber) as caught:
        await profile_phone(SlackDirectory(client, phone_field="Handy"), "U1")
    assert "no profile field 'Handy' (SMSBOT_SLACK__PHONE_FIELD)" in str(caught.value)
