"""Senders: names of letters, digits and spaces, or numbers; at most 11 characters."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsbot.errors import ConfigurationError, InputError, InvalidSender
from smsbot.sms.sender import MAX_SENDER_LENGTH, validate_sender


@pytest.mark.parametrize(
    ("given_sender", "used"),
    [
        ("SMSBot", "SMSBot"),
        ("On Call", "On Call"),
        ("ABCDEFGHIJK", "ABCDEFGHIJK"),  # exactly 11
        ("  Ops  ", "Ops"),
        ("1234", "1234"),  # short code
        ("31612345678", "31612345678"),  # an international number, 11 digits
        ("+3197012345", "+3197012345"),  # + counts: 11 characters
    ],
)
def test_accepts_names_and_numbers(given_sender: str, used: str) -> None:
    assert validate_sender(given_sender, "Default") == used


@pytest.mark.parametrize("empty", [None, "", "   ", "\t\n"])
def test_no_sender_means_the_default(empty: str | None) -> None:
    assert validate_sender(empty, "SMSBot") == "SMSBot"


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (
            "ABCDEFGHIJKL",
            "Sender 'ABCDEFGHIJKL' is 12 characters; KPN accepts at most 11. Shorten it by 1.",
        ),
        ("Monitoring Team", "is 15 characters; KPN accepts at most 11. Shorten it by 4."),
        ("123456789012", "Sender '123456789012' is 12 characters; KPN accepts at most 11."),
        (
            "+31612345678",
            "is 12 characters; KPN accepts at most 11. Shorten it by 1. "
            "Without the + (31612345678) it fits.",
        ),
        ("Ops-Team", "contains '-'; a sender is 1-11 letters (A-Z), digits and spaces"),
        ("Café", "contains 'é'"),
        ("ops@kpn", "contains '@'"),
        ("+31 6 1234", "contains '+'"),  # a + only makes sense on an all-digit number
    ],
)
def test_refuses_with_the_length_or_character_and_the_rule(bad: str, message: str) -> None:
    with pytest.raises(InvalidSender) as caught:
        validate_sender(bad, "SMSBot")
    assert message in str(caught.value)
    assert caught.value.field == "sender"
    assert issubclass(InvalidSender, InputError)


def test_a_bad_default_is_a_settings_mistake_naming_the_variable() -> None:
    with pytest.raises(ConfigurationError, match=r"SMSBOT_KPN__SENDER.*is 16 characters"):
        validate_sender(None, "Monitoring Team1")
    with pytest.raises(ConfigurationError, match=r"SMSBOT_KPN__SENDER.*empty"):
        validate_sender("", "")


alnum = st.text(
    alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 ", min_size=1
)


@given(alnum)
def test_senders_pass_exactly_up_to_11_characters(sender: str) -> None:
    trimmed = sender.strip()
    if not trimmed:
        assert validate_sender(sender, "SMSBot") == "SMSBot"
    elif len(trimmed) <= MAX_SENDER_LENGTH:
        assert validate_sender(sender, "SMSBot") == trimmed
    else:
        over = len(trimmed) - MAX_SENDER_LENGTH
        with pytest.raises(
            InvalidSender, match=f"is {len(trimmed)} characters.*Shorten it by {over}\\."
        ):
            validate_sender(sender, "SMSBot")
