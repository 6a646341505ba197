"""`smsbot check`: being built; see CONTRACT.md for what it will do."""

from __future__ import annotations

import argparse

from smsbot.errors import ConfigurationError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("check", help="(not built yet)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    raise ConfigurationError("'smsbot check' is not built yet")
