"""`smsbot audit [--limit N] [--json]`: the most recent audit records, newest first.

Numbers are masked (`+31 6 ****5678`) unless `SMSBOT_AUDIT__MASK_NUMBERS=false`. Reads the
database named by `SMSBOT_DATABASE_URL` through the service, as every surface does (its outbox
worker is not started: queued SMS are left to the bot); needs no KPN or Slack credentials.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from datetime import tzinfo

from smsbot.bootstrap import open_service
from smsbot.settings import DEFAULT_TIMEZONE, load_settings
from smsbot.store import AuditRecord, InboundRecord
from smsbot.timezone import zone

COLUMNS = ("time", "actor", "surface", "to", "parts", "outcome", "delivery", "document_id / reason")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "audit",
        help="the most recent audit records",
        description="List the most recent SMS requests (sent, refused, invalid, failed, "
        "unknown, queued) and SMS received from phones, newest first. Phone numbers are "
        "masked.",
    )
    parser.add_argument("--limit", type=positive, default=20, metavar="N",
                        help="how many records (default 20)")  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print a JSON list")
    parser.set_defaults(run=run)


def positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number of 1 or more")
    return number


async def run(args: argparse.Namespace) -> int:
    settings = load_settings()
    async with open_service(settings, run_outbox=False) as service:
        records = await service.recent_both_ways(args.limit)
    mask = settings.audit.mask_numbers
    if args.json:
        print(json.dumps([r.to_json(mask_numbers=mask) for r in records], ensure_ascii=False))
    elif not records:
        print("No SMS requests recorded yet.")
    else:
        print(render(records, mask_numbers=mask, timezone=settings.timezone))
    return 0


def render(
    records: Sequence[AuditRecord | InboundRecord],
    *,
    mask_numbers: bool,
    timezone: str = DEFAULT_TIMEZONE,
) -> str:
    """The table a person reads: times in `SMSBOT_TIMEZONE`, with the zone (JSON keeps UTC)."""
    tz = zone(timezone)
    rows = [COLUMNS] + [
        _inbound_row(r, mask_numbers, tz)
        if isinstance(r, InboundRecord)
        else (
            f"{r.time.astimezone(tz):%Y-%m-%d %H:%M:%S %Z}",
            r.actor,
            str(r.surface),
            r.shown_number(mask_numbers=mask_numbers) or "-",
            str(r.parts) if r.parts is not None else "-",
            str(r.outcome),
            _delivery(r),
            r.document_id or _short(r.error) or "-",
        )
        for r in records
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS) - 1)]
    return "\n".join(
        "  ".join([*(cell.ljust(w) for cell, w in zip(row, widths, strict=False)), row[-1]])
        for row in rows
    )


def _inbound_row(record: InboundRecord, mask_numbers: bool, tz: tzinfo) -> tuple[str, ...]:
    """An SMS a phone sent: from whom (masked), to the reply number, what became of it."""
    return (
        f"{record.time.astimezone(tz):%Y-%m-%d %H:%M:%S %Z}",
        record.shown(record.sender, mask_numbers=mask_numbers),
        "kpn_inbound",
        record.shown(record.recipient, mask_numbers=mask_numbers),
        "-",
        str(record.outcome),
        "-",
        f"inbound {record.message_id}",
    )


def _delivery(record: AuditRecord) -> str:
    """What the delivery reports said: `delivered`, `failed 007`, or `-` before any came."""
    if record.delivery is None:
        return "-"
    return " ".join(filter(None, (str(record.delivery), record.delivery_code)))


def _short(text: str | None, limit: int = 80) -> str | None:
    if text is None:
        return None
    return text if len(text) <= limit else text[: limit - 1] + "…"
