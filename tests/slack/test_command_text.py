"""What `/sms <text>` is understood to ask for."""

from __future__ import annotations

import pytest

from smsbot.slack.command_text import (
    Help,
    History,
    OpenForm,
    SendToNumber,
    SendToPerson,
    Unclear,
    parse,
)


@pytest.mark.parametrize("text", ["", "   ", "help", "HELP", "?", "history"])
def test_keywords_and_empty(text: str) -> None:
    expected = {"help": Help(), "?": Help(), "history": History()}.get(text.strip().lower())
    assert parse(text) == (expected or OpenForm())


@pytest.mark.parametrize(
    ("text", "number", "message"),
    [
        ("0612345678 Server room door is open", "0612345678", "Server room door is open"),
        ("06 1234 5678 hi there", "06 1234 5678", "hi there"),
        ("+31 6 1234 5678 hi", "+31 6 1234 5678", "hi"),
        ("0612345678 2 servers down", "0612345678", "2 servers down"),
        ("<tel:0612345678|0612345678> hi", "0612345678", "hi"),
        ("0612345678 line one\nline two", "0612345678", "line one\nline two"),
        ("0612345678 a &amp; b", "0612345678", "a &amp; b"),  # decoded later, with names
    ],
)
def test_number_then_message(text: str, number: str, message: str) -> None:
    assert parse(text) == SendToNumber(number, message)


def test_invalid_number_goes_to_the_service_as_typed() -> None:
    # The service records the attempt and explains what is wrong with the number.
    assert parse("0601234567 hello") == SendToNumber("0601234567", "hello")
    assert parse("06 1234 567 hello") == SendToNumber("06 1234 567", "hello")


def test_mentions() -> None:
    assert parse("<@U123|alice> Call me") == SendToPerson("U123", "alice", "Call me")
    assert parse("<@W9> Call me") == SendToPerson("W9", None, "Call me")
    assert parse("<@U123|alice>") == OpenForm(user="U123")


def test_number_without_message_opens_the_form_prefilled() -> None:
    assert parse("0612345678") == OpenForm(number="0612345678")


def test_words_first_is_unclear_with_usage() -> None:
    parsed = parse("alice hello")
    assert isinstance(parsed, Unclear)
    assert "'alice' is not a phone number" in parsed.message
    assert "/sms 0612345678" in parsed.message
