"""Alert replies: what `1a`, ` 1 s 30m`, `s`, `1u` and the rest ask for; durations; codes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsbot.alerts.replies import (
    Action,
    InvalidDuration,
    Reply,
    format_duration,
    help_text,
    lowest_free_code,
    parse_duration,
    parse_reply,
    reply_hint,
    target,
)
from smsbot.sms.text import analyze

DEFAULT = timedelta(hours=2)
MAXIMUM = timedelta(days=1)


def reply(text: str) -> Reply:
    return parse_reply(text, default_silence=DEFAULT, max_silence=MAXIMUM)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1a", Reply(Action.ACK, 1)),
        ("1A", Reply(Action.ACK, 1)),
        (" 1 a ", Reply(Action.ACK, 1)),
        ("12ack", Reply(Action.ACK, 12)),
        ("1a.", Reply(Action.ACK, 1)),
        ("Ack!", Reply(Action.ACK, None)),
        ("a", Reply(Action.ACK, None)),
        (" 1 s 30m", Reply(Action.SILENCE, 1, timedelta(minutes=30))),
        ("1s", Reply(Action.SILENCE, 1, DEFAULT)),
        ("s", Reply(Action.SILENCE, None, DEFAULT)),
        ("2s 2h", Reply(Action.SILENCE, 2, timedelta(hours=2))),
        ("2s2h", Reply(Action.SILENCE, 2, timedelta(hours=2))),
        ("3S 1D", Reply(Action.SILENCE, 3, timedelta(days=1))),
        ("1s 1h30m", Reply(Action.SILENCE, 1, timedelta(minutes=90))),
        ("1 silence 90 min", Reply(Action.SILENCE, 1, timedelta(minutes=90))),
        ("s 1w", Reply(Action.SILENCE, None, MAXIMUM, capped=True)),
        ("1u", Reply(Action.UNSILENCE, 1)),
        ("U", Reply(Action.UNSILENCE, None)),
        ("1\tunsilence", Reply(Action.UNSILENCE, 1)),
    ],
)
def test_commands(text, expected):
    assert reply(text) == expected


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "not a command"),
        ("thanks, on it", "not a command"),
        ("I am out of office until Monday", "not a command"),
        ("a lot of alerts today", "nothing may follow a"),
        ("1a please", "nothing may follow 1a"),
        ("1x", "not a command"),
        ("1234a", "not a command"),
        ("1 2h", "not a command"),
        ("1s forever", "not one like 30m"),
        ("1s 30", "not one like 30m"),
        ("1s 3x", "unit is not m, h, d or w"),
        ("1s 0m", "longer than 0"),
        ("1é", "not a command"),
    ],
)
def test_anything_else_gets_help_saying_what_was_not_understood(text, problem):
    answer = reply(text)
    assert answer.action is Action.HELP
    assert answer.problem is not None and problem in answer.problem


def test_help_never_repeats_what_was_typed():
    answer = reply("1s secretword")
    assert answer.action is Action.HELP and "secretword" not in (answer.problem or "")


def test_default_silence_is_never_over_the_maximum():
    assert parse_reply("s", default_silence=MAXIMUM * 2, max_silence=MAXIMUM).duration == MAXIMUM


@given(st.text(max_size=30))
def test_any_text_gives_a_reply_and_silences_stay_within_the_maximum(text):
    answer = reply(text)
    assert isinstance(answer.action, Action)
    if answer.action is Action.SILENCE:
        assert answer.duration is not None and timedelta(0) < answer.duration <= MAXIMUM
    else:
        assert answer.duration is None


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30m", 1800), ("2h", 7200), ("1d", 86400), ("1w", 604800), ("1h 15m", 4500), ("2 uur", 7200)],
)
def test_durations(text, seconds):
    assert parse_duration(text) == timedelta(seconds=seconds)


def test_durations_are_bounded_by_the_maximum():
    assert parse_duration("1d", maximum=MAXIMUM) == MAXIMUM
    with pytest.raises(InvalidDuration, match="1d1h is over the longest allowed, 1d"):
        parse_duration("25h", maximum=MAXIMUM)


@given(st.integers(1, 60 * 24 * 30))
def test_format_and_parse_round_trip(minutes):
    duration = timedelta(minutes=minutes)
    assert parse_duration(format_duration(duration)) == duration


@pytest.mark.parametrize(
    ("taken", "code"),
    [([], 1), ([1], 2), ([2, 3], 1), ([1, 2, 4], 3), ([3, 1, 2], 4)],
)
def test_codes_are_the_lowest_number_free_among_open_groups(taken, code):
    assert lowest_free_code(taken) == code


@given(st.sets(st.integers(1, 20)))
def test_a_new_code_never_collides_and_nothing_lower_is_free(taken):
    code = lowest_free_code(taken)
    assert code not in taken
    assert all(n in taken for n in range(1, code))


def test_target_by_code_or_the_newest_without_one():
    groups = [(2, "disk"), (1, "cpu")]  # oldest first: 1 was freed and reused later
    assert target(1, groups) == "cpu"
    assert target(2, groups) == "disk"
    assert target(None, groups) == "cpu"
    assert target(3, groups) is None
    assert target(None, []) is None


def test_hint_and_help_are_short_and_say_what_to_type():
    assert reply_hint(1, DEFAULT) == "Reply 1a ack, 1s silence 2h"
    assert reply(reply_hint(3, DEFAULT).split()[1].rstrip(",")) == Reply(Action.ACK, 3)
    text = help_text("not a command", DEFAULT)
    assert "1a" in text and "1s 2h" in text and "1u" in text
    assert analyze(text).parts == 1
