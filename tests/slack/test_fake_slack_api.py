"""The fake Slack Web API answers the way slack_sdk expects, so the app's tests mean something."""

from __future__ import annotations

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from tests.fakes.block_kit import block_problems, view_problems
from tests.fakes.slack_api import BOT_TOKEN, BOT_USER_ID, FakeSlackApi, manifest_scopes


def client(fake: FakeSlackApi, token: str = BOT_TOKEN) -> AsyncWebClient:
    return AsyncWebClient(token=token, base_url=fake.api_url)


async def test_auth_test_checks_the_token(fake_slack: FakeSlackApi) -> None:
    answer = await client(fake_slack).auth_test()
    assert answer["user_id"] == BOT_USER_ID
    with pytest.raises(SlackApiError) as caught:
        await client(fake_slack, "xoxb-wrong").auth_test()
    assert caught.value.response["error"] == "invalid_auth"
    assert [call.token for call in fake_slack.calls_to("auth.test")] == [BOT_TOKEN, "xoxb-wrong"]


async def test_post_message_needs_membership_or_chat_write_public(
    fake_slack: FakeSlackApi,
) -> None:
    fake_slack.add_channel("C1", "ops")
    fake_slack.add_channel("C2", "elsewhere", bot_is_member=False)
    fake_slack.add_channel("G3", "secret", bot_is_member=False, is_private=True)
    sent = await client(fake_slack).chat_postMessage(channel="C1", text="hi", blocks=[])
    assert sent["channel"] == "C1" and sent["message"]["text"] == "hi"
    # chat:write.public (the manifest asks for it): any public channel, never a private one.
    await client(fake_slack).chat_postMessage(channel="C2", text="hi")
    with pytest.raises(SlackApiError) as caught:
        await client(fake_slack).chat_postMessage(channel="G3", text="hi")
    assert caught.value.response["error"] == "channel_not_found"
    fake_slack.scopes -= {"chat:write.public"}
    with pytest.raises(SlackApiError) as caught:
        await client(fake_slack).chat_postMessage(channel="C2", text="hi")
    assert caught.value.response["error"] == "not_in_channel"
    assert [m["channel"] for m in fake_slack.messages] == ["C1", "C2"]


async def test_views_have_ids_and_hashes(fake_slack: FakeSlackApi) -> None:
    view = {
        "type": "modal",
        "title": {"type": "plain_text", "text": "x"},
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "hi"}}],
    }
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


def section(text: str) -> dict[str, object]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


async def test_blocks_over_slacks_limits_are_invalid_blocks(fake_slack: FakeSlackApi) -> None:
    fake_slack.add_channel("C1", "ops")
    fake_slack.add_user("U1", "alice")
    api = client(fake_slack)
    assert block_problems([section("a" * 3000)]) == []
    for blocks in ([section("a" * 3001)], [section("a")] * 51):
        assert block_problems(blocks)
        with pytest.raises(SlackApiError) as caught:
            await api.chat_postMessage(channel="C1", text="x", blocks=blocks)
        assert caught.value.response["error"] == "invalid_blocks"
        with pytest.raises(SlackApiError) as caught:
            await api.chat_postEphemeral(channel="C1", user="U1", text="x", blocks=blocks)
        assert caught.value.response["error"] == "invalid_blocks"
    too_long_title = {
        "type": "modal",
        "title": {"type": "plain_text", "text": "x" * 25},
        "blocks": [section("a")],
    }
    assert view_problems(too_long_title)
    with pytest.raises(SlackApiError) as caught:
        await api.views_open(trigger_id="1.2.3", view=too_long_title)
    assert caught.value.response["error"] == "invalid_blocks"
    assert fake_slack.messages == [] and fake_slack.ephemerals == []


async def test_rate_limited_calls_get_429_with_retry_after(fake_slack: FakeSlackApi) -> None:
    fake_slack.rate_limit("auth.test", retry_after=7)
    with pytest.raises(SlackApiError) as caught:
        await client(fake_slack).auth_test()
    assert caught.value.response.status_code == 429
    assert caught.value.response.headers["Retry-After"] == "7"
    assert caught.value.response["error"] == "ratelimited"
    assert (await client(fake_slack).auth_test())["ok"] is True


async def test_every_method_needs_its_scope(fake_slack: FakeSlackApi) -> None:
    fake_slack.add_user("U1", "alice")
    answer = await client(fake_slack).auth_test()
    assert set(answer.headers["x-oauth-scopes"].split(",")) == manifest_scopes()
    fake_slack.scopes -= {"users:read"}
    with pytest.raises(SlackApiError) as caught:
        await client(fake_slack).users_info(user="U1")
    assert caught.value.response["error"] == "missing_scope"
    assert caught.value.response["needed"] == "users:read"


async def test_ephemeral_needs_the_person_in_the_channel(fake_slack: FakeSlackApi) -> None:
    fake_slack.add_user("U1", "alice")
    fake_slack.add_user("U2", "bob")
    fake_slack.add_channel("C1", "ops", members={"U1"})
    await client(fake_slack).chat_postEphemeral(channel="C1", user="U1", text="hi")
    with pytest.raises(SlackApiError) as caught:
        await client(fake_slack).chat_postEphemeral(channel="C1", user="U2", text="hi")
    assert caught.value.response["error"] == "user_not_in_channel"


async def post(url: str, body: dict[str, object]) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session, session.post(url, json=body) as resp:
        return resp.status, await resp.text()


async def test_a_response_url_takes_five_posts_within_thirty_minutes(
    fake_slack: FakeSlackApi,
) -> None:
    used = fake_slack.response_url("used")
    for n in range(5):
        assert await post(used, {"text": f"answer {n}"}) == (200, "ok")
    assert await post(used, {"text": "sixth"}) == (404, "used_url")
    assert await post(fake_slack.response_url("big"), {"blocks": [section("a" * 3001)]}) == (
        400,
        "invalid_blocks",
    )
    late = fake_slack.response_url("late")
    fake_slack.advance(30 * 60 + 1)
    assert await post(late, {"text": "too late"}) == (404, "expired_url")
    assert len(fake_slack.posts_to("used")) == 5 and fake_slack.posts_to("late") == []


async def test_a_step_completes_once_with_its_own_token_for_15_minutes(
    fake_slack: FakeSlackApi,
) -> None:
    token = fake_slack.function_token("Fx1")
    step = client(fake_slack, token)
    await step.functions_completeSuccess(function_execution_id="Fx1", outputs={"a": "1"})
    assert fake_slack.executions["Fx1"].outputs == {"a": "1"}
    with pytest.raises(SlackApiError) as caught:  # the token is revoked by the completion
        await step.functions_completeError(function_execution_id="Fx1", error="again")
    assert caught.value.response["error"] == "invalid_auth"
    with pytest.raises(SlackApiError) as caught:
        await client(fake_slack).functions_completeError(function_execution_id="Fx1", error="x")
    assert caught.value.response["error"] == "execution_not_in_running_state"

    late = client(fake_slack, fake_slack.function_token("Fx2"))
    fake_slack.advance(15 * 60 + 1)
    with pytest.raises(SlackApiError) as caught:
        await late.functions_completeError(function_execution_id="Fx2", error="late")
    assert caught.value.response["error"] == "invalid_auth"
    assert fake_slack.executions["Fx2"].state == "running"
