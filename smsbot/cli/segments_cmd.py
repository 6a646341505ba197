"""`smsbot segments TEXT [--json]`: what a text costs as SMS, without sending it.

Prints the encoding, characters, units and parts, and names the characters that forced UCS-2
with a GSM-7 stand-in where one exists, so a person sees why a short message became 3 SMS and
how to bring it back to one. `TEXT` of `-` reads the text from standard input.
"""

from __future__ import annotations

import argparse
import json
import sys
import unicodedata
from typing import Any

from smsbot.settings import load_settings
from smsbot.sms.replacements import gsm_replacement, to_gsm7
from smsbot.sms.text import LIMITS, TextInfo, analyze, validate_text

UNIT_NAMES = {"GSM-7": "septets", "UCS-2": "UTF-16 code units"}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "segments",
        help="encoding and number of SMS parts of a text, without sending",
        description="Show the encoding (GSM-7 or UCS-2), characters and SMS parts of TEXT, and "
        "which characters forced UCS-2. Nothing is sent. Exit 2 for empty text or text over the "
        "maximum (SMSBOT_SMS__MAX_CHARACTERS, default 1000).",
    )
    parser.add_argument("text", metavar="TEXT", help="the message text; - reads standard input")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    text = sys.stdin.read() if args.text == "-" else args.text
    if args.text == "-" and text.endswith("\n"):
        text = text[:-1]  # the newline that ends the input, not part of the message
    info = validate_text(text, load_settings().sms.max_characters)
    report = describe(text, info)
    if args.json:
        print(json.dumps(report, ensure_ascii=False))
    else:
        print(render(report))
    return 0


def describe(text: str, info: TextInfo) -> dict[str, Any]:
    """The JSON object of `segments --json` (CONTRACT.md's keys first, then more detail)."""
    single, multi = LIMITS[info.encoding]
    report: dict[str, Any] = {
        "encoding": info.encoding,
        "characters": info.characters,
        "parts": info.parts,
        "ucs2_characters": list(info.ucs2_characters),
        "units": info.units,
        "unit": UNIT_NAMES[info.encoding],
        "per_part": info.per_part,
        "single_limit": single,
        "part_limit": multi,
    }
    if info.ucs2_characters:
        suggestions = {ch: gsm_replacement(ch) for ch in info.ucs2_characters}
        report["replacements"] = {ch: r for ch, r in suggestions.items() if r is not None}
        if report["replacements"]:
            replaced = analyze(to_gsm7(text))
            report["if_replaced"] = {"encoding": replaced.encoding, "parts": replaced.parts}
    return report


def render(report: dict[str, Any]) -> str:
    parts = report["parts"]
    lines = [
        f"Encoding:   {report['encoding']}",
        f"Characters: {report['characters']}",
        f"Units:      {report['units']} {report['unit']} "
        f"({report['single_limit']} fit in one SMS, {report['part_limit']} per part when split)",
        f"Parts:      {parts} SMS",
    ]
    if report["ucs2_characters"]:
        lines.append("")
        lines.append(
            f"These characters are not in GSM-7, so the whole message is UCS-2 "
            f"({report['single_limit']} instead of 160 per SMS):"
        )
        for ch in report["ucs2_characters"]:
            lines.append(f"  {ch}  {_char_name(ch)}{_hint(report['replacements'].get(ch))}")
        lines.append(_after_replacing(report))
    return "\n".join(lines)


def _hint(stand_in: str | None) -> str:
    if stand_in is None:
        return ""
    if not stand_in:
        return "  (invisible) remove it"
    return f"  use {stand_in!r} instead"


def _after_replacing(report: dict[str, Any]) -> str:
    after = report.get("if_replaced")
    kept = [ch for ch in report["ucs2_characters"] if ch not in report["replacements"]]
    if after is None or after["encoding"] == "UCS-2":
        return f"No GSM-7 stand-in for {' '.join(kept)}: the message stays UCS-2."
    if after["parts"] < report["parts"]:
        return (
            f"With those replaced it is GSM-7: {after['parts']} SMS instead of {report['parts']}."
        )
    return f"With those replaced it is GSM-7 and still {after['parts']} SMS."


def _char_name(ch: str) -> str:
    return f"U+{ord(ch):04X} {unicodedata.name(ch, 'unnamed character')}"
