"""The fake Slack Web API answers the way slack_sdk expects, so the app's tests mean something."""

from __future__ import annotations

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from tests.fakes.slack_api import BOT_TOKEN, BOT_USER_ID, FakeSlackApi


def client(fake: FakeSlackApi, token: str = BOT_TOKEN) -> AsyncWebClient:
    return AsyncWebClient(token=token, base_url=fake.api_url)


async def test_auth_test_checks_the_token(fake_slack: FakeSlackApi) -> None:
    answer = await client(fake_slack).auth_test()
    assert answer["user_id"] == BOT_USER_ID
    with pytest.raises(SlackApiError) as caught:
        await client(fake_slack, "xoxb-wrong").auth_test()
    assert caught.value.response["error"] == "invalid_auth"
    assert [call.token for call in fake_slack.calls_to("auth.test")] == [BOT_TOKEN, "xoxb-wrong"]


async def test_post_message_needs_membership(fake_slack: FakeSlackApi) -> None:
    fake_slack.add_channel("C1", "ops")
    fake_slack.add_channel("C2", "elsewhere", bot_is_member=False)
    fake_slack.add_channel("G3", "secret", bot_is_member=False, is_private=True)
    sent = await client(fake_slack).chat_postMessage(channel="C1", text="hi", blocks=[])
    assert sent["channel"] == "C1" and sent["message"]["text"] == "hi"
    for channel, error in (("C2", "not_in_channel"), ("G3", "channel_not_found")):
        with pytest.raises(SlackApiError) as caught:
            await client(fake_slack).chat_postMessage(channel=channel, text="hi")
        assert caught.value.response["error"] == error
    assert [m["channel"] for m in fake_slack.messages] == ["C1"]


async def test_views_have_ids_and_hashes(fake_slack: FakeSlackApi) -> None:
    view = {"type": "modal", "title": {"type": "plain_text", "text": "x"}, "blocks": []}
    opened = (await client(fake_slack).views_open(trigger_id="1.2.3", view=view))["view"]
    updated = await client(fake_slack).views_update(
        view_id=opened["id"], hash=opened["hash"], view=view
    )
    assert updated["view"]["id"] == opened["id"]
    assert updated["view"]["hash"] != opened["hash"]
    with pytest.raises(SlackApiError) as caught:
        await client(fake_slack).views_update(view_id=opened["id"], hash=opened["hash"], view=view)
    assert caught.value.response["error"] == "hash_conflict"


async def test_directory_methods(fake_slack: FakeSlackApi) -> None:
    fake_slack.add_user("U1", "alice", phone="06 1234 5678")
    fake_slack.add_usergroup("S1", ["U1", "U2"])
    api = client(fake_slack)
    assert (await api.users_profile_get(user="U1"))["profile"]["phone"] == "06 1234 5678"
    assert (await api.users_info(user="U1"))["user"]["name"] == "alice"
    assert (await api.usergroups_users_list(usergroup="S1"))["users"] == ["U1", "U2"]
    with pytest.raises(SlackApiError):
        await api.users_info(user="U404")
    assert fake_slack.calls_to("users.profile.get")[0].args == {"user": "U1"}


async def test_scripted_answers_come_first(fake_slack: FakeSlackApi) -> None:
    fake_slack.script("auth.test", {"ok": False, "error": "ratelimited"})
    with pytest.raises(SlackApiError):
        await client(fake_slack).auth_test()
    assert (await client(fake_slack).auth_test())["ok"] is True


async def test_response_url_posts_are_recorded(fake_slack: FakeSlackApi) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.post(fake_slack.response_url("r1"), json={"text": "hi"}) as resp:
            assert resp.status == 200
    await fake_slack.wait_for(lambda: fake_slack.posts_to("r1"))
    assert fake_slack.posts_to("r1") == [{"text": "hi"}]
