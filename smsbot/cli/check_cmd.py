"""`smsbot check`: are the settings complete, and do KPN and Slack accept the credentials?

One line per check, `OK` or `FAIL` with what to fix. Exit code 0 when all pass, 2 when settings
are missing or wrong (nothing was tried with them), 1 when KPN or Slack refused or could not be
reached. Nothing is sent: KPN is asked for a token, Slack for `auth.test`.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from smsbot.cli.serve_cmd import (
    SlackMode,
    kpn_problems,
    secret_text,
    slack_mode,
    slack_problems,
)
from smsbot.errors import SmsbotError
from smsbot.settings import Settings, load_settings

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
        results.append(await _remote("Slack auth.test", _slack_auth_test(settings)))
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
    api_url = settings.slack.api_url
    return AsyncWebClient(token=token, base_url=api_url if api_url.endswith("/") else api_url + "/")


async def _slack_auth_test(settings: Settings) -> str:
    answer = await _web_client(settings, secret_text(settings.slack.bot_token)).auth_test()
    return f"bot {answer.get('user')} in workspace {answer.get('team')}"


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
}


def _slack_error_advice(exc: SlackApiError) -> str:
    error = str(exc.response.get("error", "")) if exc.response is not None else ""
    advice = _SLACK_ADVICE.get(error, "see the app settings")
    return f"Slack answered {error or 'an error'}: {advice}"
