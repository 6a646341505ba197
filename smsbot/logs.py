"""Log hygiene: no phone number and no message text in any log line, whoever writes it, and
every line bounded.

smsbot's own code logs ids, masked numbers (`+31 6 ****5678`) and reasons, never a text. The
libraries it runs on are less careful:

- slack_sdk and slack_bolt print whole request and response bodies at DEBUG (an SMS's text in
  `chat.postMessage`, a profile's phone in `users.profile.get`, every field of a command);
- SQLAlchemy puts a failed statement's parameters (recipients, texts) in its exception
  messages, which a `log.exception` prints with the traceback, and aiosqlite's DEBUG lines
  show each statement's parameters;
- aiohttp's server quotes what it could not parse.

`install` (called by the command line for the handlers it configures) therefore

1. holds those libraries at INFO or above, whatever level was asked for: their DEBUG output is
   bodies, and smsbot's own DEBUG lines say what happened without them (their loggers are set
   to INFO, and `Redact` drops their DEBUG records too, for Bolt, which copies the root's
   level onto every logger it makes);
2. puts `Redact` on those handlers, so whatever still reaches a handler has
   each run of 8 or more digits (spaces, dashes and brackets between them allowed, as people
   write numbers) masked but its last 4, SQLAlchemy's `[parameters: ...]` cut, and the message
   and traceback cut to `MAX_MESSAGE` and `MAX_TRACEBACK` characters.

Request bodies are kept out at the source too: `slack.http` checks a signature before it reads
a body and logs a refusal's reason only (Bolt's own check, which logs the body, is off).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

# Their DEBUG output is request and response bodies.
LIBRARIES = ("slack_sdk", "slack_bolt", "aiohttp", "sqlalchemy", "aiosqlite")
_LIBRARY_PREFIXES = tuple(f"{name}." for name in LIBRARIES) + LIBRARIES
MAX_MESSAGE = 1000
MAX_TRACEBACK = 4000

# A phone number as people and payloads write it: digits, single spaces, dashes or brackets
# between them. Dots are left out on purpose: they join times and versions (`12.5`), not numbers.
# Digits glued to letters are part of an id (`Fx0000000015`, a hex request id) and stay; a
# URL-encoded `+` or space (`%2B`, `%20`) before a number does not make it an id.
_DIGIT_RUN = re.compile(r"(?:(?<![A-Za-z0-9])|(?<=%2[Bb0]))\d(?:[ \-()]{0,2}\d)+(?![A-Za-z0-9])")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_MIN_DIGITS = 8  # a Dutch mobile number without its trunk 0 has 9; dates and counts have fewer
_SQL_PARAMETERS = re.compile(r"\[parameters: [^\n]*")


def mask_digit_runs(text: str) -> str:
    """`text` with every run of 8 or more digits (a number in any layout) hidden but its last
    4 digits: `call 06 1234 5678` -> `call ** **** 5678`. An ISO date and time stays."""

    def hide(match: re.Match[str]) -> str:
        run = match.group()
        digits = sum(ch.isdigit() for ch in run)
        if digits < _MIN_DIGITS or _ISO_DATE.match(run):
            return run
        keep = digits - 4
        out = []
        for ch in run:
            if ch.isdigit() and keep > 0:
                out.append("*")
                keep -= 1
            else:
                out.append(ch)
        return "".join(out)

    return _DIGIT_RUN.sub(hide, text)


def clean(text: str, limit: int) -> str:
    text = mask_digit_runs(_SQL_PARAMETERS.sub("[parameters: hidden]", text))
    if len(text) > limit:
        return text[:limit] + f"... ({len(text) - limit} more characters not logged)"
    return text


class Redact(logging.Filter):
    """Masks numbers in, and bounds, every record a handler writes (see the module docstring)."""

    def __init__(self) -> None:
        super().__init__()
        self._formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.INFO and record.name.startswith(_LIBRARY_PREFIXES):
            return False  # Bolt gives its loggers the root's level, past `install`'s
        message = record.getMessage()
        cleaned = clean(message, MAX_MESSAGE)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = clean(record.exc_text, MAX_TRACEBACK)
        if record.stack_info:
            record.stack_info = clean(record.stack_info, MAX_TRACEBACK)
        return True


def install(handlers: Iterable[logging.Handler], libraries_at: int = logging.INFO) -> None:
    """Applies the rules above to `handlers` (those the command line's `logging.basicConfig`
    made) and to the libraries' loggers. A handler gets `Redact` once, however often called."""
    for name in LIBRARIES:
        library = logging.getLogger(name)
        if library.getEffectiveLevel() < libraries_at:
            library.setLevel(libraries_at)
    for handler in handlers:
        if not any(isinstance(f, Redact) for f in handler.filters):
            handler.addFilter(Redact())
