"""What an on-call engineer types back to an alert SMS, and the codes that name alert groups.

An alert SMS shows a code per open alert group of that phone (`Reply 1a ack, 1s silence 2h`), as
GoAlert's SMS codes do: the lowest number not taken by another open group of the same phone, so
codes stay short and a code never means two groups at once on one phone. Replies:

    1a, 1A, 1 a, 1ack    acknowledge group 1
    1s, 1s 30m, 1 s 2h   silence group 1 (default duration, or the one given)
    1u                   lift the silence smsbot made for group 1
    a, s 1d, u           the same for the phone's newest alert group

Anything else is answered with one short help SMS that says what was not understood. Durations
are `30m`, `2h`, `1d`, `1w` or combinations (`1h30m`), at most the configured maximum. Pure
functions only: no clock, no store.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import TypeVar

T = TypeVar("T")

MAX_CODE = 999
_UNITS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_UNIT_WORDS = {
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes"), "m"),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours", "u", "uur"), "h"),
    **dict.fromkeys(("d", "day", "days", "dag", "dagen"), "d"),
    **dict.fromkeys(("w", "week", "weeks", "wk"), "w"),
}
_DURATION_PART = re.compile(r"(\d{1,5})\s*([a-z]+)")
_DURATION = re.compile(r"(?:\d{1,5}\s*[a-z]+\s*)+")


class Action(StrEnum):
    ACK = "ack"
    SILENCE = "silence"
    UNSILENCE = "unsilence"
    HELP = "help"


_ACTION_WORDS = {
    **dict.fromkeys(("a", "ack", "acknowledge"), Action.ACK),
    **dict.fromkeys(("s", "sil", "silence", "mute"), Action.SILENCE),
    **dict.fromkeys(("u", "unsil", "unsilence", "unmute"), Action.UNSILENCE),
}
# Optional code, the action word, the rest. Trailing punctuation ("1a.", "ack!") is allowed.
_REPLY = re.compile(r"(\d{1,3})?\s*([a-z]+)\s*(.*?)[\s.!]*")


class InvalidDuration(ValueError):
    """A duration that is not `30m`, `2h`, `1d`...; the message says how to write it, and never
    repeats what was typed (a reply's text stays out of logs)."""


@dataclass(frozen=True)
class Reply:
    action: Action
    code: int | None = None  # None: the phone's newest alert group
    duration: timedelta | None = None  # SILENCE only
    capped: bool = False  # SILENCE asked for more than the maximum and got the maximum
    problem: str | None = None  # HELP only: what was not understood (never the reply's text)


def parse_duration(text: str, *, maximum: timedelta | None = None) -> timedelta:
    """`30m`, `2h`, `1d`, `1w`, `1h30m`, `90 min` -> a timedelta. Raises `InvalidDuration`,
    also when the result is over `maximum`."""
    cleaned = text.strip().lower()
    if not _DURATION.fullmatch(cleaned):
        raise InvalidDuration("the duration is not one like 30m, 2h or 1d")
    seconds = 0
    for amount, word in _DURATION_PART.findall(cleaned):
        unit = _UNIT_WORDS.get(word)
        if unit is None:
            raise InvalidDuration("the duration's unit is not m, h, d or w (30m, 2h, 1d)")
        seconds += int(amount) * _UNITS[unit]
    if seconds == 0:
        raise InvalidDuration("a duration must be longer than 0: use 30m, 2h or 1d")
    duration = timedelta(seconds=seconds)
    if maximum is not None and duration > maximum:
        raise InvalidDuration(
            f"{format_duration(duration)} is over the longest allowed, {format_duration(maximum)}"
        )
    return duration


def format_duration(duration: timedelta) -> str:
    """The short form a phone shows: `2h`, `1d`, `1h30m`, `45m`."""
    minutes = max(int(duration.total_seconds() // 60), 0)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    text = "".join(f"{n}{unit}" for n, unit in ((days, "d"), (hours, "h"), (minutes, "m")) if n)
    return text or "0m"


def parse_reply(text: str, *, default_silence: timedelta, max_silence: timedelta) -> Reply:
    """One reply SMS -> what it asks for. Never raises: what is not a command is HELP."""
    cleaned = " ".join(text.lower().split())
    match = _REPLY.fullmatch(cleaned)
    if not match or match[2] not in _ACTION_WORDS:
        return Reply(Action.HELP, problem="not a command")
    code = int(match[1]) if match[1] else None
    action, rest = _ACTION_WORDS[match[2]], match[3]
    if action is not Action.SILENCE:
        if rest:
            return Reply(
                Action.HELP, code, problem=f"nothing may follow {match[1] or ''}{match[2]}"
            )
        return Reply(action, code)
    if not rest:
        return Reply(action, code, duration=min(default_silence, max_silence))
    try:
        duration = parse_duration(rest)
    except InvalidDuration as exc:
        return Reply(Action.HELP, code, problem=str(exc))
    if duration > max_silence:
        return Reply(action, code, duration=max_silence, capped=True)
    return Reply(action, code, duration=duration)


def lowest_free_code(taken: Iterable[int]) -> int:
    """The code for a phone's next alert group: the lowest number from 1 that none of its open
    groups holds. A resolved group's code is free again for the next one."""
    used = set(taken)
    code = 1
    while code in used:
        code += 1
    return code


def target(code: int | None, open_groups: Sequence[tuple[int, T]]) -> T | None:
    """The group a reply acts on: the one with `code`, or without a code the newest.
    `open_groups` are the phone's open groups as (code, group), oldest first."""
    if code is None:
        return open_groups[-1][1] if open_groups else None
    return next((group for held, group in open_groups if held == code), None)


def reply_hint(code: int, silence: timedelta) -> str:
    """The line an alert SMS ends with, e.g. `Reply 1a ack, 1s silence 2h`."""
    return f"Reply {code}a ack, {code}s silence {format_duration(silence)}"


def help_text(problem: str | None, silence: timedelta) -> str:
    """The one short help SMS: what was not understood, then what works (fits one SMS)."""
    lead = f"Not understood ({problem}). " if problem else ""
    return (
        f"{lead}Reply 1a to acknowledge, 1s {format_duration(silence)} to silence, 1u to lift "
        "the silence; 1 is the code in the alert SMS."
    )
