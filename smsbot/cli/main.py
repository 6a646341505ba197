"""Entry point of `smsbot` and `python -m smsbot`.

Each command lives in its own module and adds itself with `register(subparsers)`, setting
`run=` to a function `run(args) -> int` (it may return a coroutine, which is awaited). Only the
chosen command's module is imported (`smsbot serve` does not load the sandbox, the audit or the
check command, nor what they import); help without a command imports them all. Errors are
turned into exit codes here, in one place: 2 for bad input or settings, 1 when the SMS could not
be sent.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import importlib
import inspect
import logging
import os
import sys
from collections.abc import Iterator, Sequence

from smsbot import logs
from smsbot.errors import ConfigurationError, InputError, KpnError, SmsbotError

COMMANDS = ("serve", "sandbox", "demo", "send", "segments", "audit", "check")

EXIT_OK, EXIT_NOT_SENT, EXIT_BAD_INPUT = 0, 1, 2


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser for `argv`: with only the command it names, else with every command."""
    parser = argparse.ArgumentParser(
        prog="smsbot", description="Send SMS through KPN from Slack, workflows and alerting."
    )
    add_log_level(parser)
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    chosen = chosen_command(sys.argv[1:] if argv is None else argv)
    for name in (chosen,) if chosen else COMMANDS:
        importlib.import_module(f"smsbot.cli.{name}_cmd").register(subparsers)
    return parser


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off while modules load. Importing the bot makes some
    100,000 objects that live as long as the process and next to no garbage, yet the collector,
    counting allocations, walks them again and again: about 30 ms of `smsbot serve`'s start
    (a tenth of it). Whatever cycles the imports leave are collected at the next collection."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def add_log_level(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--log-level",
        default=None,
        help="DEBUG, INFO, WARNING (default: SMSBOT_LOG_LEVEL, else INFO)",
    )


def chosen_command(argv: Sequence[str]) -> str | None:
    """The command `argv` names, read as the full parser reads it, without importing any command
    module; None when it names none (help, or a mistake: the full parser then explains)."""
    scout = argparse.ArgumentParser(add_help=False, exit_on_error=False)
    add_log_level(scout)
    scout.add_argument("command", nargs="?")
    try:
        known, _ = scout.parse_known_args(argv)
    except argparse.ArgumentError:
        return None
    if known.command not in COMMANDS:
        return None
    if {"-h", "--help"} & set(argv[: list(argv).index(known.command)]):
        return None  # `smsbot -h serve` asks for the help that lists every command
    return known.command


def main(argv: list[str] | None = None) -> int:
    with collector_paused():
        parser = build_parser(argv)  # imports the chosen command and what it needs
    args = parser.parse_args(argv)
    # Read here, before settings load, so that loading them can already log.
    level = (args.log_level or os.environ.get("SMSBOT_LOG_LEVEL") or "INFO").upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        print(
            f"smsbot: log level {level!r} is unknown; use DEBUG, INFO, WARNING or ERROR",
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT
    root = logging.getLogger()
    before = list(root.handlers)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # No phone number or message text in any line, whichever library logs it. Only on the
    # handlers configured here: a program that runs `main` with logging of its own keeps it.
    configured = [handler for handler in root.handlers if handler not in before]
    if configured:
        logs.install(configured)
    try:
        outcome = args.run(args)
        if inspect.iscoroutine(outcome):
            outcome = asyncio.run(outcome)
        return int(outcome or EXIT_OK)
    except (InputError, ConfigurationError) as exc:
        print(f"smsbot: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KpnError as exc:
        print(f"smsbot: not sent: {exc}", file=sys.stderr)
        return EXIT_NOT_SENT
    except SmsbotError as exc:
        print(f"smsbot: {exc}", file=sys.stderr)
        return EXIT_NOT_SENT
    except KeyboardInterrupt:
        return 130
