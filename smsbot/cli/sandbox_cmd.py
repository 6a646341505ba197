"""`smsbot sandbox`: run the KPN-compatible sandbox with its web inbox until interrupted."""

from __future__ import annotations

import argparse
import asyncio
import signal
from dataclasses import replace

from pydantic import SecretStr

from smsbot.errors import ConfigurationError
from smsbot.sandbox.config import DEFAULT_QUOTA, QuotaRule, SandboxConfig
from smsbot.sandbox.server import serve_sandbox
from smsbot.settings import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET

DEFAULT_PORT = 8025


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "sandbox",
        help="run a KPN-compatible SMS sandbox with a web inbox",
        description=(
            "Serve KPN's token and send API with KPN's validation, error bodies and headers, "
            "keep every SMS in memory and show it at the inbox URL. Sends with a webhook_url "
            "get delivery reports; phones reply from the inbox (or POST /sandbox/inbound) to "
            "the --inbound-webhook. Faults and reports can be scripted with POST /sandbox/faults."
        ),
    )
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help="default 8025; 0: any free port"
    )
    parser.add_argument("--host", default="127.0.0.1", help="default 127.0.0.1 (this machine only)")
    parser.add_argument(
        "--quota",
        default=None,
        help="send requests allowed per time unit, e.g. 100/hour, 5/minute, 1000/day "
        f"(default {DEFAULT_QUOTA})",
    )
    parser.add_argument("--client-id", default=SANDBOX_CLIENT_ID, help="default 'sandbox'")
    parser.add_argument("--client-secret", default=SANDBOX_CLIENT_SECRET, help="default 'sandbox'")
    parser.add_argument(
        "--expires-in", type=int, default=3599, help="token lifetime in seconds (default 3599)"
    )
    parser.add_argument(
        "--delivery-delay-ms",
        type=int,
        default=2000,
        help="a send with a webhook_url is reported accepted at once and delivered this many "
        "ms later (default 2000)",
    )
    parser.add_argument(
        "--inbound-webhook",
        metavar="URL",
        default=None,
        help="where KPN would deliver inbound SMS: replies typed in the inbox are posted there, "
        "e.g. http://127.0.0.1:3000/kpn/inbound/<token> (default: none, replies refused)",
    )
    parser.set_defaults(run=run)


def config_from_args(args: argparse.Namespace) -> SandboxConfig:
    if not 0 <= args.port <= 65535:
        raise ConfigurationError(f"--port {args.port} is not a TCP port; use 1-65535, or 0")
    if args.expires_in < 1:
        raise ConfigurationError(f"--expires-in {args.expires_in}: a token must live 1 s or more")
    config = SandboxConfig(
        client_id=args.client_id,
        client_secret=SecretStr(args.client_secret),
        expires_in=args.expires_in,
        delivery_delay_ms=args.delivery_delay_ms,
        inbound_webhook=args.inbound_webhook,
    )
    if args.quota is not None:
        config = replace(config, quota=QuotaRule.parse(args.quota))
    return config


async def run(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    async with serve_sandbox(config, host=args.host, port=args.port, access_log=True) as served:
        print(f"smsbot sandbox: inbox at {served.url}/", flush=True)
        print(
            f"  KPN base URL {served.url}, client id {config.client_id!r}, quota {config.quota}\n"
            f"  try: smsbot send --sandbox {served.url} 0612345678 'Hello'\n"
            f"  delivery reports to each send's webhook_url, delivered after "
            f"{config.delivery_delay_ms} ms\n"
            f"  inbound SMS (replies) to {_shown(config.inbound_webhook)}",
            flush=True,
        )
        await _until_stopped()
    return 0


def _shown(url: str | None) -> str:
    if url is None:
        return "nowhere (set --inbound-webhook URL)"
    # The inbound route's last segment is a secret token: show where, not the token.
    head, _, last = url.rstrip("/").rpartition("/")
    return f"{head}/{last[:2]}…" if len(last) > 8 else url


async def _until_stopped() -> None:
    """Wait for Ctrl-C or SIGTERM (how a container is stopped), then let the server close."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    signals = (signal.SIGINT, signal.SIGTERM)
    for signum in signals:
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        for signum in signals:
            loop.remove_signal_handler(signum)
