"""GSM-7 stand-ins: each suggestion really is GSM-7, and replacing brings a message back."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsbot.sms.replacements import gsm_replacement, to_gsm7
from smsbot.sms.text import analyze, is_gsm7


@pytest.mark.parametrize(
    ("ch", "stand_in"),
    [
        ("’", "'"),
        ("‘", "'"),
        ("“", '"'),
        ("”", '"'),
        ("–", "-"),
        ("—", "-"),
        ("…", "..."),
        ("\u00a0", " "),
        ("\t", " "),
        ("\u00ad", ""),
        ("ë", "e"),  # België, ideeën
        ("ï", "i"),  # naïef
        ("ç", "c"),
        ("Ë", "E"),
        ("é", "é"),  # already GSM-7: kept as it is
        ("{", "{"),
    ],
)
def test_stand_ins(ch: str, stand_in: str) -> None:
    assert gsm_replacement(ch) == stand_in


@pytest.mark.parametrize("ch", ["😀", "ж", "中", "ł"])
def test_no_stand_in_where_none_says_the_same(ch: str) -> None:
    assert gsm_replacement(ch) is None


def test_replacing_curly_quotes_brings_three_parts_back_to_one() -> None:
    text = "It’s down: “db1” – " + "x" * 130
    assert analyze(text).parts == 3
    fixed = to_gsm7(text)
    assert fixed == 'It\'s down: "db1" - ' + "x" * 130
    assert (analyze(fixed).encoding, analyze(fixed).parts) == ("GSM-7", 1)


def test_characters_without_stand_in_are_kept() -> None:
    assert to_gsm7("Hëllo 😀") == "Hello 😀"


@given(st.characters(blacklist_categories=("Cs",)))
def test_every_suggestion_is_gsm7(ch: str) -> None:
    stand_in = gsm_replacement(ch)
    if stand_in is not None:
        assert all(is_gsm7(part) for part in stand_in)
