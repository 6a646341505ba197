"""Who may add the Send SMS step to workflows, set in (the fake) Slack from the allowlist."""

from __future__ import annotations

import pytest
from pydantic import SecretStr
from slack_sdk.errors import SlackApiError

from smsbot.policy.allowlist import Allowlist
from smsbot.settings import Settings
from smsbot.slack.directory import SlackDirectory
from smsbot.slack.retry import web_client
from smsbot.slack.step_permissions import StepPermissions
from tests.fakes.slack_api import APP_ID, BOT_TOKEN, FakeSlackApi


def permissions(fake: FakeSlackApi, users=(), usergroups=()) -> StepPermissions:
    client = web_client(BOT_TOKEN, fake.api_url)
    settings = Settings(_env_file=None, slack={"bot_token": SecretStr(BOT_TOKEN)})
    allowlist = Allowlist(users=users, usergroups=usergroups, directory=SlackDirectory(client))
    return StepPermissions(client, settings, allowlist)


async def test_the_allowlisted_people_may_add_the_step(fake_slack: FakeSlackApi) -> None:
    for user in ("U1", "U2", "U3"):
        fake_slack.add_user(user, user.lower())
    fake_slack.add_usergroup("S1", ["U2", "U3"])
    step = permissions(fake_slack, users=["U1"], usergroups=["S1"])
    assert APP_ID not in step  # not before Slack has it
    assert await step.sync() == (True, (await step.wanted()))
    assert fake_slack.distributions["send_sms"] == {
        "permission_type": "named_entities",
        "user_ids": ["U1", "U2", "U3"],
    }
    assert APP_ID in step and list(step) == [APP_ID] and "A0OTHER" not in step
    changed, _ = await step.sync()
    assert not changed  # already so: nothing set
    assert len(fake_slack.calls_to("functions.distributions.permissions.set")) == 1


async def test_an_empty_allowlist_leaves_the_step_to_nobody(fake_slack: FakeSlackApi) -> None:
    fake_slack.distributions["send_sms"] = {"permission_type": "everyone", "user_ids": []}
    step = permissions(fake_slack)
    await step.sync()
    assert fake_slack.distributions["send_sms"]["permission_type"] == "app_collaborators"
    assert APP_ID not in step  # and runs naming no person may not send


async def test_a_refused_sync_lets_no_unnamed_run_send(fake_slack: FakeSlackApi) -> None:
    fake_slack.add_user("U1", "alice")
    step = permissions(fake_slack, users=["U1"])
    await step.sync()
    fake_slack.script(
        "functions.distributions.permissions.list", {"ok": False, "error": "access_denied"}
    )
    with pytest.raises(SlackApiError):
        await step.sync()
    assert APP_ID not in step
