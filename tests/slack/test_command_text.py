"""What `/sms <text>` is understood to ask for."""

from __future__ import annotations

import pytest

from smsbot.errors import InvalidNumber
from smsbot.slack import command_text
from smsbot.slack.command_text import (
    Help,
    History,
    OpenForm,
    SendToNumber,
    SendToPerson,
    Unclear,
    parse,
)
from smsbot.sms import numbers


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
    assert "'alice' is not a phone number" in parsed.message()
    assert "/sms 0612345678" in parsed.message()


@pytest.mark.parametrize(
    "typed",
    ["0031 (0)970 1234 5678", "+31 (0) 6 - 12 - 34 - 56 - 78", "0 6 1 2 3 4 5 6 7 8"],
)
def test_the_longest_valid_layouts_are_still_found(typed: str) -> None:
    assert parse(f"{typed} 1 2 3 go") == SendToNumber(typed, "1 2 3 go")


def test_thousands_of_number_like_words_cost_a_bounded_number_of_checks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # `/sms 1 1 1 ... hi`: once the words could no longer make one number, they are message.
    tried: list[str] = []

    def counting(raw: str) -> str:
        tried.append(raw)
        return numbers.normalize_number(raw)

    monkeypatch.setattr(command_text, "normalize_number", counting)
    parsed = parse("1 " * 20_000 + "hi")
    assert len(tried) <= numbers.MAX_TYPED_DIGITS
    assert max(map(len, tried)) <= numbers.MAX_TYPED_LENGTH
    # The service still gets what was meant as a number, and says what is wrong with it.
    assert parsed == SendToNumber(" ".join(["1"] * 16), ("1 " * 19_984 + "hi").strip())


def test_number_like_words_without_digits_are_bounded_too(monkeypatch: pytest.MonkeyPatch) -> None:
    tried: list[str] = []

    def refuse(raw: str) -> str:
        tried.append(raw)
        raise InvalidNumber("no")

    monkeypatch.setattr(command_text, "normalize_number", refuse)
    parsed = parse("06 " + "- " * 20_000 + "hi")
    assert len(tried) <= numbers.MAX_TYPED_LENGTH // 2
    assert isinstance(parsed, SendToNumber) and len(parsed.number) <= numbers.MAX_TYPED_LENGTH
