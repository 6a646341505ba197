"""`smsbot demo`: the KPN sandbox and the bot together, on embedded defaults.

Zero configuration is enough: SMS go to an in-process sandbox (its web inbox shows them), the
audit goes to a local SQLite file, health, metrics and alert intake are served. With Slack
tokens set the bot also connects to Slack (real Slack, sandbox SMS: the safe way to try it in a
workspace). The allowlist keeps its safe default (nobody); the banner says how to add yourself.
"""

from __future__ import annotations

import argparse
import contextlib
import secrets
import socket

from pydantic import SecretStr

from smsbot.bootstrap import SlackMode, secret_text, slack_configured, slack_mode
from smsbot.cli.serve_cmd import DEFAULT_PORT, serve_until_stopped, slack_problems
from smsbot.errors import ConfigurationError
from smsbot.settings import Settings, load_settings

DEFAULT_SANDBOX_PORT = 8025
# Its own file, so a demo never mixes its sandbox sends into a real audit trail.
DEMO_DATABASE_URL = "sqlite:///smsbot-demo.db"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="run the KPN sandbox and the bot together (no configuration needed)",
        description="Run the KPN sandbox and the bot together. SMS go to the sandbox inbox; "
        "with Slack tokens set, the bot connects to your Slack workspace.",
    )
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="bot port, default 3000")
    parser.add_argument("--host", default="127.0.0.1", help="bot address, default 127.0.0.1")
    parser.add_argument(
        "--sandbox-port",
        type=int,
        default=DEFAULT_SANDBOX_PORT,
        help=f"sandbox port, default {DEFAULT_SANDBOX_PORT}",
    )
    parser.set_defaults(run=run)


async def run(args: argparse.Namespace) -> int:
    from smsbot.sandbox.testing import running_sandbox

    settings = demo_settings(load_settings())
    mode, slack_note = demo_slack_mode(settings)
    async with contextlib.AsyncExitStack() as stack:
        try:
            sandbox = await stack.enter_async_context(running_sandbox(port=args.sandbox_port))
        except OSError as exc:
            raise ConfigurationError(
                f"the sandbox cannot listen on port {args.sandbox_port} ({exc.strerror or exc}); "
                "choose another with --sandbox-port"
            ) from exc
        port = args.port or free_port(args.host)
        settings = two_way(settings.with_sandbox(sandbox.url), args.host, port)
        # The sandbox delivers phones' replies to the bot, as KPN would (its inbox's reply box).
        sandbox.set_inbound_webhook(inbound_url(settings, local_url(args.host, port)))
        print(banner(settings, sandbox.url, slack_note), flush=True)
        return await serve_until_stopped(settings, host=args.host, port=port, mode=mode)


def free_port(host: str) -> int:
    """A port free now, so the bot's public URL is known before it listens (`--port 0`)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def local_url(host: str, port: int) -> str:
    """Where the bot is reached from this machine."""
    return f"http://{'127.0.0.1' if host in ('0.0.0.0', '::', '') else host}:{port}"


def two_way(settings: Settings, host: str, port: int) -> Settings:
    """The whole loop on the demo's own parts, unless configured otherwise: SMS go out from the
    sandbox's virtual number, the inbound webhook has a fresh secret token, and the bot's public
    URL (for delivery reports) is where it listens, unless a fixed SMSBOT_KPN__WEBHOOK_URL is
    set."""
    from smsbot.sandbox.config import SandboxConfig

    kpn = settings.kpn.model_copy(
        update={
            "reply_number": settings.kpn.reply_number or SandboxConfig().virtual_number,
            "inbound_token": settings.kpn.inbound_token or SecretStr(secrets.token_urlsafe(24)),
        }
    )
    public_url = settings.public_url
    if public_url is None and not settings.kpn.webhook_url:
        public_url = local_url(host, port)
    return settings.model_copy(update={"kpn": kpn, "public_url": public_url})


def inbound_url(settings: Settings, bot_url: str) -> str:
    token = settings.kpn.inbound_token
    assert token is not None
    return f"{bot_url}/kpn/inbound/{token.get_secret_value()}"


def demo_settings(settings: Settings) -> Settings:
    """The settings as configured, with a demo database unless one was chosen."""
    if "database_url" in settings.model_fields_set:
        return settings
    return settings.model_copy(update={"database_url": DEMO_DATABASE_URL})


def demo_slack_mode(settings: Settings) -> tuple[SlackMode | None, str]:
    """How the demo talks to Slack, and a line saying so (or what to set to connect)."""
    if not slack_configured(settings):
        return None, (
            "off. To try /sms in your workspace: create the app from manifest.yml, then set "
            "SMSBOT_SLACK__BOT_TOKEN (xoxb-) and SMSBOT_SLACK__APP_TOKEN (xapp-) and run again"
        )
    problems = slack_problems(settings)
    if problems:
        return None, "off, because " + "; ".join(problems)
    mode = slack_mode(settings)
    if mode is SlackMode.SOCKET:
        return mode, "connecting over Socket Mode (real Slack, sandbox SMS)"
    return mode, "HTTP mode at /slack/events (real Slack, sandbox SMS)"


def banner(settings: Settings, sandbox_url: str, slack_note: str) -> str:
    lines = [
        "smsbot demo: every SMS goes to the sandbox; nothing reaches a real phone.",
        f"  inbox      {sandbox_url}/",
        f'  try        smsbot send --sandbox {sandbox_url} 0612345678 "Hello from smsbot"',
        f"  slack      {slack_note}",
    ]
    allow = settings.allow
    if not (allow.users or allow.usergroups or allow.channels):
        lines.append(
            "  allowlist  empty: nobody may send from Slack. Add yourself with "
            "SMSBOT_ALLOW__USERS=<your member ID> (Slack: your profile > ... > Copy member ID)"
        )
    alerts = settings.alerts
    if not (secret_text(alerts.token) or alerts.basic_user or alerts.grafana_hmac_secret):
        lines.append(
            "  alerts     refused until SMSBOT_ALERTS__TOKEN is set "
            "(then POST /alerts/alertmanager with Authorization: Bearer <token>)"
        )
    lines.append(
        "  replies    answer an SMS from its phone card in the inbox: the reply goes to the bot"
        " (in its Slack thread, or with Slack off in this log) and the audit"
    )
    lines.append(f"  audit      {settings.database_url}")
    return "\n".join(lines)
