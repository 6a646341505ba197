"""`smsbot check`: are the settings complete, and do KPN and Slack accept the credentials?

One line per check, `OK` or `FAIL` with what to fix. Exit code 0 when all pass, 2 when settings
are missing or wrong (nothing was tried with them), 1 when KPN or Slack refused or could not be
reached. No SMS is sent: KPN is asked for a token, Slack for `auth.test`, whose
`x-oauth-scopes` header names the token's scopes (each missing one is named, with what it is
for). The workflow step's permissions in Slack are set to the allowlist, as at start-up.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from smsbot.bootstrap import SlackMode, secret_text, slack_mode
from smsbot.cli.serve_cmd import kpn_problems, slack_problems
from smsbot.errors import SmsbotError
from smsbot.policy.allowlist import Allowlist
from smsbot.settings import Settings, load_settings
from smsbot.slack import scopes
from smsbot.slack.directory import SlackDirectory
from smsbot.slack.retry import web_client
from smsbot.slack.step_permissions import SYNC as STEP_PERMISSIONS_SYNC
from smsbot.slack.step_permissions import StepPermissions

EXIT_OK, EXIT_CHECK_FAILED, EXIT_BAD_SETTINGS = 0, 1, 2
# Each remote check gets this long; a hanging endpoint is a failed check, not a hung command.
CHECK_TIMEOUT_SECONDS = 20.0


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    detail: str

    def line(self) -> str:
        return f"{'OK  ' if self.ok else 'FAIL'}  {self.name}: {self.detail}"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "check",
        help="validate settings, fetch a KPN token, call Slack auth.test",
        description="Validate the settings, then ask KPN for a token and Slack for auth.test. "
        "Exit 0 all good, 2 settings missing or wrong, 1 a check failed.",
    )
    parser.set_defaults(run=run)


async def run(args: argparse.Namespace) -> int:
    settings = load_settings()  # unreadable settings raise ConfigurationError: exit 2
    results = await run_checks(settings)
    for result in results:
        print(result.line(), flush=True)
    if any(not r.ok and r.name.startswith("settings") for r in results):
        return EXIT_BAD_SETTINGS
    return EXIT_OK if all(r.ok for r in results) else EXIT_CHECK_FAILED


async def run_checks(settings: Settings) -> list[CheckResult]:
    results: list[CheckResult] = []
    kpn_bad, slack_bad = kpn_problems(settings), slack_problems(settings)
    results += [CheckResult("settings (KPN)", False, p) for p in kpn_bad]
    results += [CheckResult("settings (Slack)", False, p) for p in slack_bad]
    if not kpn_bad:
        results.append(CheckResult("settings (KPN)", True, f"API at {settings.kpn.base_url}"))
        results.append(await _remote("KPN token", _kpn_token(settings)))
    if not slack_bad:
        mode = slack_mode(settings)
        results.append(CheckResult("settings (Slack)", True, f"{mode} mode"))
        client = _web_client(settings, secret_text(settings.slack.bot_token))
        auth: dict[str, Any] = {}
        results.append(await _remote("Slack auth.test", _slack_auth_test(client, auth)))
        if auth:
            results += _after_auth_test(settings, auth["answer"])
            if settings.slack.step_permissions == STEP_PERMISSIONS_SYNC:
                check = _step_permissions(settings, client, auth["answer"].get("bot_id"))
                results.append(await _remote("Slack step permissions", check))
        if mode is SlackMode.SOCKET:
            results.append(await _remote("Slack app token", _slack_app_token(settings)))
    return results


async def _remote(name: str, check: Awaitable[str]) -> CheckResult:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
            return CheckResult(name, True, await check)
    except TimeoutError:
        return CheckResult(name, False, f"no answer within {CHECK_TIMEOUT_SECONDS:.0f} s")
    except SmsbotError as exc:
        return CheckResult(name, False, str(exc))
    except SlackApiError as exc:
        return CheckResult(name, False, _slack_error_advice(exc))
    except Exception as exc:  # a check reports every failure instead of crashing
        return CheckResult(name, False, f"{type(exc).__name__}: {exc}")


async def _kpn_token(settings: Settings) -> str:
    from smsbot.kpn.client import KpnClient

    async with KpnClient(settings.kpn) as client:
        await client.fetch_token()
    return f"token issued for client id {settings.kpn.client_id}"


def _web_client(settings: Settings, token: str) -> AsyncWebClient:
    return web_client(token, settings.slack.api_url)


async def _slack_auth_test(client: AsyncWebClient, keep: dict[str, Any]) -> str:
    answer = await client.auth_test()
    keep["answer"] = answer
    return f"bot {answer.get('user')} in workspace {answer.get('team')}"


def _after_auth_test(settings: Settings, answer: AsyncSlackResponse) -> list[CheckResult]:
    """What `auth.test`'s answer tells: the token's scopes, and an org-wide install."""
    results = []
    header = answer.headers.get("x-oauth-scopes") if answer.headers else None
    lacking = scopes.missing(header)
    if header is None:
        results.append(CheckResult("Slack scopes", False, "Slack did not list the scopes"))
    elif lacking:
        named = "; ".join(f"{scope} ({scopes.BOT_SCOPES[scope]})" for scope in lacking)
        results.append(
            CheckResult(
                "Slack scopes",
                False,
                f"the bot token lacks {named}. Add them under OAuth & Permissions > Scopes (or "
                "update the app from manifest.yml) and reinstall the app",
            )
        )
    else:
        results.append(
            CheckResult("Slack scopes", True, f"all {len(scopes.BOT_SCOPES)} scopes granted")
        )
    if answer.get("is_enterprise_install") and settings.allow.usergroups:
        if settings.slack.team_id:
            detail = f"org-wide install; user groups are read in {settings.slack.team_id}"
            results.append(CheckResult("Slack org install", True, detail))
        else:
            results.append(
                CheckResult(
                    "Slack org install",
                    False,
                    "the app is installed org-wide, so Slack needs to know in which workspace "
                    "the allowlist's user groups are: set SMSBOT_SLACK__TEAM_ID (T...)",
                )
            )
    return results


async def _step_permissions(settings: Settings, client: AsyncWebClient, bot_id: str | None) -> str:
    directory = SlackDirectory(client, team_id=settings.slack.team_id)
    allowlist = Allowlist(
        users=settings.allow.users, usergroups=settings.allow.usergroups, directory=directory
    )
    permissions = StepPermissions(client, settings, allowlist, bot_id=bot_id)
    changed, wanted = await permissions.sync()
    return f"{wanted.describe()} may add Send SMS to workflows" + (
        " (updated now)" if changed else " (already so)"
    )


async def _slack_app_token(settings: Settings) -> str:
    # apps.connections.open is the call Socket Mode starts with; the URL it returns is not used.
    await _web_client(settings, "").apps_connections_open(
        app_token=secret_text(settings.slack.app_token)
    )
    return "Socket Mode connections can be opened"


_SLACK_ADVICE: dict[str, str] = {
    "invalid_auth": "Slack does not know this token; copy it again from the app settings",
    "not_authed": "no token was sent; set SMSBOT_SLACK__BOT_TOKEN",
    "account_inactive": "the app was uninstalled or the token revoked; reinstall the app",
    "token_revoked": "the token was revoked; reinstall the app and copy the new token",
    "not_allowed_token_type": "wrong kind of token: the bot token starts with xoxb-, "
    "the app token with xapp-",
    "missing_scope": "the token lacks a scope; give the app-level token connections:write",
    "function_not_found": "the app has no Send SMS step: update the app from manifest.yml "
    "(functions: send_sms, function_runtime: remote)",
    "app_not_found": "Slack does not know SMSBOT_SLACK__APP_ID; remove it or copy the app id "
    "from Basic Information",
    "access_denied": "the bot may not change who can use the Send SMS step; ask a Slack admin, "
    "or set SMSBOT_SLACK__STEP_PERMISSIONS=off (then runs naming no person may not send)",
}


def _slack_error_advice(exc: SlackApiError) -> str:
    error = str(exc.response.get("error", "")) if exc.response is not None else ""
    if error == "missing_scope" and exc.response.get("needed"):
        needed = exc.response["needed"]
        why = scopes.BOT_SCOPES.get(needed, "")
        return (
            f"Slack answered missing_scope: the token lacks {needed}"
            + (f" ({why})" if why else "")
            + ". Add it under OAuth & Permissions > Scopes and reinstall the app"
        )
    advice = _SLACK_ADVICE.get(error, "see the app settings")
    return f"Slack answered {error or 'an error'}: {advice}"
