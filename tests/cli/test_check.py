"""`smsbot check` against the sandbox (KPN) and the fake Slack Web API, both on loopback."""

from __future__ import annotations

import asyncio
from pathlib import Path

from pydantic import SecretStr

from smsbot.cli.check_cmd import run_checks
from smsbot.settings import Settings
from tests.cli.process import start_smsbot
from tests.fakes.slack_api import APP_TOKEN, BOT_TOKEN
from tests.fakes.slack_requests import SIGNING_SECRET


def good_settings(sandbox, fake_slack, **slack) -> Settings:
    return Settings(
        _env_file=None,
        slack={
            "bot_token": BOT_TOKEN,
            "app_token": APP_TOKEN,
            "api_url": fake_slack.api_url,
            **slack,
        },
    ).with_sandbox(sandbox.url)


def summary(results) -> list[tuple[str, bool]]:
    return [(r.name, r.ok) for r in results]


async def run_check_command(env: dict[str, str], cwd: Path) -> tuple[int, str, str]:
    """`python -m smsbot check` in a clean environment; the loopback fakes keep serving."""
    process = await start_smsbot("check", env=env, cwd=cwd)
    out, err = await asyncio.wait_for(process.communicate(), 60)
    return process.returncode, out.decode(), err.decode()


async def test_all_checks_pass_against_sandbox_and_slack(sandbox, fake_slack):
    results = await run_checks(good_settings(sandbox, fake_slack))
    assert summary(results) == [
        ("settings (KPN)", True),
        ("KPN token", True),
        ("settings (Slack)", True),
        ("Slack auth.test", True),
        ("Slack scopes", True),
        ("Slack step permissions", True),
        ("Slack app token", True),
    ]
    assert sandbox.token_requests == 1
    assert [c.token for c in fake_slack.calls_to("auth.test")] == [BOT_TOKEN]
    assert "Fake Workspace" in results[3].detail
    assert sandbox.messages() == []  # a check never sends an SMS


async def test_http_mode_does_not_check_an_app_token(sandbox, fake_slack):
    settings = good_settings(sandbox, fake_slack, app_token=None, signing_secret=SIGNING_SECRET)
    results = await run_checks(settings)
    assert ("Slack app token", True) not in summary(results)
    assert ("settings (Slack)", True) in summary(results)
    assert "http mode" in results[2].detail
    assert fake_slack.calls_to("apps.connections.open") == []


async def test_wrong_kpn_secret_fails_the_token_check(sandbox, fake_slack):
    settings = good_settings(sandbox, fake_slack)
    settings.kpn.client_secret = SecretStr("not-the-secret")
    results = await run_checks(settings)
    [kpn] = [r for r in results if r.name == "KPN token"]
    assert not kpn.ok
    assert "not-the-secret" not in kpn.line()  # secrets never printed
    assert all(r.ok for r in results if r.name != "KPN token")


async def test_revoked_slack_token_fails_with_advice(sandbox, fake_slack):
    fake_slack.script("auth.test", {"ok": False, "error": "token_revoked"})
    results = await run_checks(good_settings(sandbox, fake_slack))
    [auth] = [r for r in results if r.name == "Slack auth.test"]
    assert not auth.ok
    assert "token_revoked" in auth.detail and "reinstall" in auth.detail


async def test_wrong_app_token_fails_the_app_token_check(sandbox, fake_slack):
    results = await run_checks(good_settings(sandbox, fake_slack, app_token="xapp-other"))
    [app_token] = [r for r in results if r.name == "Slack app token"]
    assert not app_token.ok
    assert "invalid_auth" in app_token.detail


async def test_unreachable_kpn_is_a_failed_check(fake_slack, unused_tcp_port):
    settings = Settings(
        _env_file=None, slack={"bot_token": BOT_TOKEN, "app_token": APP_TOKEN}
    ).with_sandbox(f"http://127.0.0.1:{unused_tcp_port}")
    settings.slack.api_url = fake_slack.api_url
    settings.kpn.max_attempts = 1
    results = await run_checks(settings)
    [kpn] = [r for r in results if r.name == "KPN token"]
    assert not kpn.ok and kpn.detail


async def test_command_exit_codes_and_lines(sandbox, fake_slack, tmp_path):
    env = {
        "SMSBOT_KPN__BASE_URL": sandbox.url,
        "SMSBOT_KPN__CLIENT_ID": "sandbox",
        "SMSBOT_KPN__CLIENT_SECRET": "sandbox",
        "SMSBOT_SLACK__API_URL": fake_slack.api_url,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_APP_TOKEN": APP_TOKEN,
    }
    # Three independent runs, at once (each is mostly Python starting up).
    good, revoked, unset = await asyncio.gather(
        run_check_command(env, tmp_path),
        run_check_command({**env, "SLACK_BOT_TOKEN": "xoxb-revoked"}, tmp_path),
        run_check_command({}, tmp_path),
    )
    code, out, _ = good
    assert code == 0, out
    assert [line.split()[0] for line in out.splitlines()] == ["OK"] * 7

    code, out, _ = revoked
    assert code == 1
    assert "FAIL  Slack auth.test: Slack answered invalid_auth" in out

    code, out, _ = unset
    assert code == 2
    assert "SMSBOT_KPN__CLIENT_ID" in out and "SMSBOT_SLACK__BOT_TOKEN" in out
    assert "OK" not in out.split()


async def test_each_missing_scope_is_named_with_what_it_is_for(sandbox, fake_slack):
    fake_slack.scopes -= {"groups:read", "chat:write.public"}
    results = await run_checks(good_settings(sandbox, fake_slack))
    [scopes] = [r for r in results if r.name == "Slack scopes"]
    assert not scopes.ok
    assert "chat:write.public (confirmations in public channels" in scopes.detail
    assert "groups:read (conversations.info when the alert mirror channel is private)" in (
        scopes.detail
    )
    assert "reinstall" in scopes.detail and "commands" not in scopes.detail


async def test_the_step_permissions_are_set_to_the_allowlist(sandbox, fake_slack):
    fake_slack.add_user("U1", "alice")
    fake_slack.add_user("U2", "bob")
    fake_slack.add_usergroup("S1", ["U2"])
    settings = good_settings(sandbox, fake_slack)
    settings.allow.users, settings.allow.usergroups = ["U1"], ["S1"]
    [step] = [r for r in await run_checks(settings) if r.name == "Slack step permissions"]
    assert step.ok and "2 people on the allowlist" in step.detail and "updated" in step.detail
    assert fake_slack.distributions["send_sms"]["user_ids"] == ["U1", "U2"]
    [step] = [r for r in await run_checks(settings) if r.name == "Slack step permissions"]
    assert "already so" in step.detail
    assert len(fake_slack.calls_to("functions.distributions.permissions.set")) == 1


async def test_step_permissions_slack_refuses_fail_with_advice(sandbox, fake_slack):
    fake_slack.script(
        "functions.distributions.permissions.list", {"ok": False, "error": "function_not_found"}
    )
    results = await run_checks(good_settings(sandbox, fake_slack))
    [step] = [r for r in results if r.name == "Slack step permissions"]
    assert not step.ok and "manifest.yml" in step.detail
    settings = good_settings(sandbox, fake_slack, step_permissions="off")
    assert "Slack step permissions" not in [r.name for r in await run_checks(settings)]


async def test_the_retired_workflows_allowlist_stops_with_the_migration(sandbox, fake_slack):
    settings = good_settings(sandbox, fake_slack)
    settings.allow.workflows = ["A0SMSBOT"]
    [bad] = [r for r in await run_checks(settings) if not r.ok]
    assert bad.name == "settings (Slack)"
    assert "SMSBOT_ALLOW__WORKFLOWS is retired" in bad.detail and "Remove it" in bad.detail


async def test_an_org_wide_install_needs_the_team_of_the_user_groups(sandbox, fake_slack):
    fake_slack.enterprise_install = True
    settings = good_settings(sandbox, fake_slack)
    settings.allow.usergroups = ["S1"]
    [org] = [r for r in await run_checks(settings) if r.name == "Slack org install"]
    assert not org.ok and "SMSBOT_SLACK__TEAM_ID" in org.detail
