"""`smsbot send TO TEXT [--sender S] [--json] [--sandbox URL] [--wait]`: one SMS through the
pipeline.

The same pipeline as Slack and alerts (validation, rate limits, audit, KPN), as actor
`cli:<os user>`. Prints the document_id, or with `--json` one object
`{"document_id", "status", "to", "parts", "encoding", "request_id"}`; when nothing was sent the
object has `outcome` and `error` instead and the reason goes to standard error.

`--wait` then waits, at most WAIT_SECONDS, for the SMS's delivery report: the bot
(`smsbot serve`, reached by KPN at `SMSBOT_PUBLIC_URL`) stores it in the database this command
shares, which is polled. It prints the delivery (`--json`: keys `delivery`, `delivered_at`,
`delivery_code`, `delivery_meaning`); exit 0 delivered, 1 not delivered (failed, rejected,
expired) or no report in time.

Exit codes: 0 sent; 2 bad input or settings (the number, sender or text, or KPN credentials that
are missing or that KPN refused: rule `kpn_credentials`); 1 not sent: refused by a limit, failed
at KPN, or unknown (KPN did not answer: it may have been sent, so check before sending again).
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import os
import sys
import time
from datetime import datetime
from typing import Any

from smsbot.bootstrap import open_service
from smsbot.errors import ConfigurationError
from smsbot.kpn.delivery import failure_meaning
from smsbot.service import KPN_CREDENTIALS_RULE
from smsbot.settings import load_settings
from smsbot.sms.request import Outcome, SendRequest, SendResult, Surface
from smsbot.store import AuditRecord, Store
from smsbot.timezone import local_time

EXIT_SENT, EXIT_NOT_SENT, EXIT_BAD_INPUT = 0, 1, 2
NO_CREDENTIALS = (
    "no KPN credentials are configured. Set SMSBOT_KPN__CLIENT_ID and SMSBOT_KPN__CLIENT_SECRET "
    "(the Key and Secret of your app in the KPN API Store), or add --sandbox URL to send to a "
    "sandbox (start one with `smsbot sandbox`)."
)
NO_PUBLIC_URL = (
    "--wait needs delivery reports, which KPN posts to the bot: set SMSBOT_PUBLIC_URL to the URL "
    "where `smsbot serve` is reachable (and share its SMSBOT_DATABASE_URL), or leave out --wait."
)
WAIT_SECONDS = 120.0  # KPN reports within seconds; a phone out of coverage takes longer
POLL_SECONDS = 0.5


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "send",
        help="send one SMS through the same pipeline as Slack",
        description="Send TEXT to TO (a Dutch mobile number) through smsbot's pipeline: "
        "validation, rate limits, audit, KPN. Prints the document_id. Exit 0 sent, 2 bad input "
        "or settings, 1 not sent (refused, failed, or unknown: check before resending).",
    )
    parser.add_argument("to", metavar="TO", help="Dutch mobile number, e.g. 0612345678")
    parser.add_argument("text", metavar="TEXT", help="the message; - reads standard input")
    parser.add_argument("--sender", help="sender name, at most 11 characters "
                        "(default SMSBOT_KPN__SENDER)")  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--sandbox",
        metavar="URL",
        help="send to the sandbox at URL with its default credentials (e.g. http://127.0.0.1:8025)",
    )
    parser.add_argument(
        "--wait",
        action="store_true",
        help=f"wait (at most {WAIT_SECONDS:.0f} s) for the delivery report and print it",
    )
    parser.set_defaults(run=run)


async def run(args: argparse.Namespace) -> int:
    settings = load_settings()
    if args.sandbox:
        settings = settings.with_sandbox(args.sandbox)
    if not settings.kpn.has_credentials:
        raise ConfigurationError(NO_CREDENTIALS)
    if args.wait and settings.public_url is None:
        raise ConfigurationError(NO_PUBLIC_URL)
    text = sys.stdin.read().removesuffix("\n") if args.text == "-" else args.text
    request = SendRequest(
        actor=f"cli:{os_user()}", surface=Surface.CLI, to=args.to, text=text, sender=args.sender
    )
    # No outbox worker: the bot's queued rows are the bot's to send, with its Slack notifiers.
    async with open_service(settings, run_outbox=False) as service:
        result = await service.submit(request)
        if not (args.wait and result.outcome == Outcome.SENT and result.request_id):
            return report(result, as_json=args.json)
        record = await wait_for_delivery(service.store, result.request_id, WAIT_SECONDS)
    return report_delivery(result, record, as_json=args.json, timezone=settings.timezone)


async def wait_for_delivery(store: Store, request_id: str, seconds: float) -> AuditRecord | None:
    """The SMS's record once a report says it reached a final state; None after `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        record = await store.get(request_id)
        if record is not None and record.delivery is not None and record.delivery.is_final:
            return record
        if time.monotonic() >= deadline:
            return None
        await asyncio.sleep(POLL_SECONDS)


def report_delivery(
    result: SendResult, record: AuditRecord | None, *, as_json: bool, timezone: str
) -> int:
    delivered = record is not None and record.delivery == "delivered"
    if as_json:
        print(json.dumps(sent_json(result) | delivery_json(record)))
    else:
        print(result.document_id)
    if record is None:
        print(
            f"smsbot: sent, but no delivery report came within {WAIT_SECONDS:.0f} s: is the bot "
            "(smsbot serve) reachable at SMSBOT_PUBLIC_URL?",
            file=sys.stderr,
        )
    elif delivered:
        if not as_json:
            print(f"delivered {_when(record.delivered_at, timezone)} ({_after(record)})")
    else:
        meaning = failure_meaning(record.delivery_code) or "no reason given"
        code = f" ({record.delivery_code})" if record.delivery_code else ""
        print(f"smsbot: not delivered: {record.delivery}: {meaning}{code}", file=sys.stderr)
    return EXIT_SENT if delivered else EXIT_NOT_SENT


def delivery_json(record: AuditRecord | None) -> dict[str, Any]:
    if record is None:
        return {"delivery": None, "delivered_at": None, "delivery_code": None}
    return {
        "delivery": str(record.delivery),
        "delivered_at": record.delivered_at.isoformat() if record.delivered_at else None,
        "delivery_code": record.delivery_code,
        "delivery_meaning": failure_meaning(record.delivery_code),
    }


def _when(moment: datetime | None, timezone: str) -> str:
    return local_time(moment, timezone, seconds=True) if moment else "(time not reported)"


def _after(record: AuditRecord) -> str:
    if record.delivered_at is None:
        return "time not reported"
    return f"{max((record.delivered_at - record.time).total_seconds(), 0):.0f} s after sending"


# getpass reads LOGNAME and USER first, which may say anything; a system's user names are
# at most 32 characters, and the audit's actor column keeps 200.
OS_USER_CHARACTERS = 64


def os_user() -> str:
    try:
        return getpass.getuser()[:OS_USER_CHARACTERS]
    except (KeyError, OSError):  # a container user with no name
        return f"uid{os.getuid()}"


def report(result: SendResult, *, as_json: bool) -> int:
    if result.outcome == Outcome.SENT:
        if as_json:
            print(json.dumps(sent_json(result)))
        else:
            print(result.document_id)
        return EXIT_SENT
    if as_json:
        print(json.dumps(not_sent_json(result)))
    reason = result.reason or "nothing was sent."
    if result.outcome == Outcome.INVALID or result.rule == KPN_CREDENTIALS_RULE:
        print(f"smsbot: {reason}", file=sys.stderr)
        return EXIT_BAD_INPUT
    prefix = "maybe sent" if result.outcome == Outcome.UNKNOWN else "not sent"
    print(f"smsbot: {prefix}: {reason}", file=sys.stderr)
    return EXIT_NOT_SENT


def sent_json(result: SendResult) -> dict[str, Any]:
    return {
        "document_id": result.document_id,
        "status": "OK",
        "to": result.to,
        "parts": result.parts,
        "encoding": result.encoding,
        "request_id": result.request_id,
    }


def not_sent_json(result: SendResult) -> dict[str, Any]:
    return {
        "outcome": str(result.outcome),
        "error": result.reason,
        "rule": result.rule,
        "retry_at": result.retry_at.isoformat() if result.retry_at else None,
        "to": result.to,
        "parts": result.parts,
        "encoding": result.encoding,
        "request_id": result.request_id,
    }
