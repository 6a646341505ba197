"""Dutch mobile numbers: every form people type, every refusal with its how-to-fix message."""

from __future__ import annotations

import re

import phonenumbers
import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsbot.errors import InputError, InvalidNumber
from smsbot.sms.numbers import (
    mask_number,
    mask_typed,
    normalize_number,
    parse_number,
)

E164_KPN = re.compile(r"\+31(6\d{8}|97\d{9})")


@pytest.mark.parametrize(
    ("typed", "e164"),
    [
        ("0612345678", "+31612345678"),
        ("06-12345678", "+31612345678"),
        ("06 12 34 56 78", "+31612345678"),
        ("+31612345678", "+31612345678"),
        ("+31 (0)6 1234 5678", "+31612345678"),
        ("0031612345678", "+31612345678"),
        ("0031 6 12345678", "+31612345678"),
        ("0031 (0)6 12345678", "+31612345678"),
        ("+31 6 12345678", "+31612345678"),
        ("06.12.34.56.78", "+31612345678"),
        ("(06) 12345678", "+31612345678"),
        ("  0612345678\n", "+31612345678"),
        ("06\u00a012345678", "+31612345678"),  # non-breaking space pasted from a web page
        ("06\u201312345678", "+31612345678"),  # en dash from a word processor
        ("\uff10\uff16\uff11\uff12\uff13\uff14\uff15\uff16\uff17\uff18", "+31612345678"),
        ("0687654321", "+31687654321"),
        ("(+31) 6 12345678", "+31612345678"),
        ("+31(0)612345678", "+31612345678"),
        ("0 6 1 2 3 4 5 6 7 8", "+31612345678"),
        ("31612345678", "+31612345678"),  # the + forgotten
        ("\u200b0612345678", "+31612345678"),  # zero-width space copied along
        ("\u202a+31 6 12345678\u202c", "+31612345678"),  # direction marks from a contact card
        ("0970 1234 5678", "+3197012345678"),
        ("097012345678", "+3197012345678"),
        ("+31 970 1234 5678", "+3197012345678"),
        ("0031 970 1234 5678", "+3197012345678"),
        # phonenumbers knows only 0970 as mobile; KPN allows the whole 097 M2M range.
        ("0971 1234 5678", "+3197112345678"),
        ("0979 8765 4321", "+3197987654321"),
    ],
)
def test_accepts_what_people_type(typed: str, e164: str) -> None:
    assert normalize_number(typed) == e164


def test_097_gap_is_real_in_phonenumbers() -> None:
    """Guards the reason for the explicit 097 rule: if phonenumbers learns 0971, revisit it."""
    assert phonenumbers.is_valid_number(phonenumbers.parse("0970 1234 5678", "NL"))
    assert not phonenumbers.is_valid_number(phonenumbers.parse("0971 1234 5678", "NL"))


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        (
            "0601234567",
            "0601234567 is not a mobile number: 060 numbers cannot receive SMS. "
            "Use 06 and 8 digits.",
        ),
        (
            "0671234567",
            "0671234567 is not a mobile number: 067 numbers cannot receive SMS. "
            "Use 06 and 8 digits.",
        ),
        (
            "0691234567",
            "0691234567 is not a mobile number: 069 numbers cannot receive SMS. "
            "Use 06 and 8 digits.",
        ),
        (
            "+31 69 1234567",
            "+31 69 1234567 is not a mobile number: 069 numbers cannot receive SMS. "
            "Use 06 and 8 digits.",
        ),
        ("+32470123456", "is not a Dutch number (country code +32, BE): KPN sends only to Dutch"),
        ("0032 470 12 34 56", "is not a Dutch number (country code +32, BE)"),
        ("+44 7911 123456", "is not a Dutch number (country code +44"),
        ("+999 1234", "does not start with a known country code"),
        ("0201234567", "0201234567 is a landline number, which cannot receive SMS"),
        ("010-1234567", "is a landline number"),
        ("0800 123456", "is a free-phone service number"),
        ("0900 1234567", "is a paid service number"),
        ("085 123 4567", "is an internet telephony (VoIP) number"),
        ("088 123 4567", "is a company-wide service number"),
        ("061234567", "061234567 has 9 digits (061234567); a Dutch mobile number has 10"),
        ("06123456789", "06123456789 has 11 digits (06123456789); a Dutch mobile number has 10"),
        ("+316123456", "+316123456 has 8 digits (06123456); a Dutch mobile number has 10"),
        ("06", "06 has 2 digits (06); a Dutch mobile number has 10: 06 and 8 digits."),
        ("0970 1234 567", "has 11 digits (09701234567); a 097 M2M number has 12"),
        ("0970 1234 56789", "has 13 digits (0970123456789); a 097 M2M number has 12"),
        ("06abcdefgh", "contains letters (abcdefgh); a phone number is digits only"),
        ("06 1234 567a", "contains letters (a)"),
        ("0612345678 ext 5", "contains letters (ext)"),
        ("tel:+31612345678", "contains letters (tel)"),
        ("0612345678, 0687654321", "looks like more than one number; KPN sends each message"),
        ("0612345678;0687654321", "Give one number per message."),
        ("0612345678 0687654321", "is too long to be one phone number (20 digits)"),
        ("0612345678#", "contains '#'; only digits, spaces, dashes, dots, brackets"),
        ("06+12345678", "has a + in the middle; + may only come first"),
        ("", "No phone number given."),
        ("   ", "No phone number given."),
        ("0", "is too short to be a phone number (1 digit)"),
        ("+31", "is too short to be a phone number (2 digits)"),
        ("+", "+ is not a phone number"),
    ],
)
def test_refuses_with_a_specific_message(typed: str, message: str) -> None:
    with pytest.raises(InvalidNumber) as caught:
        normalize_number(typed)
    assert message in str(caught.value)
    assert caught.value.field == "to"


@pytest.mark.parametrize("typed", ["+32470123456", "0201234567", "061234567", "06abc", ""])
def test_every_refusal_says_how_to_write_a_valid_number(typed: str) -> None:
    with pytest.raises(InvalidNumber, match=r"06 and 8 digits"):
        normalize_number(typed)


def test_invalid_number_is_an_input_error_so_the_cli_exits_2() -> None:
    assert issubclass(InvalidNumber, InputError)


@pytest.mark.parametrize(
    ("e164", "masked"),
    [
        ("+31612345678", "+31 6 ****5678"),
        ("+3197012345678", "+31 970 ****5678"),
        ("+32470123456", "+32 *****3456"),
        ("0612345678", "******5678"),
        ("1234", "****"),
        ("", ""),
    ],
)
def test_mask_number(e164: str, masked: str) -> None:
    assert mask_number(e164) == masked


# Numbers KPN accepts, written in the ways people write them.
subscriber = st.text(alphabet="0123456789", min_size=8, max_size=8)
mobile_national = st.tuples(
    st.sampled_from("1234568"), st.text("0123456789", min_size=7, max_size=7)
)
separator = st.sampled_from(["", " ", "-", ".", "  "])
prefix = st.sampled_from(["06", "+316", "00316", "+31 (0)6", "0031 6", "+31 6"])


@given(prefix, separator, mobile_national)
def test_every_written_form_of_a_mobile_number_gives_the_same_e164(
    start: str, sep: str, national: tuple[str, str]
) -> None:
    third, rest = national
    typed = start + sep + third + sep + rest[:3] + sep + rest[3:]
    assert normalize_number(typed) == f"+316{third}{rest}"


@given(st.one_of(st.text(max_size=30), st.text(alphabet="0123456789 +-()./", max_size=20)))
def test_anything_typed_is_either_a_kpn_number_or_an_invalid_number_error(typed: str) -> None:
    try:
        e164 = normalize_number(typed)
    except InvalidNumber as exc:
        assert str(exc)
    else:
        assert E164_KPN.fullmatch(e164), e164


@given(
    st.one_of(
        st.builds("06{}".format, subscriber),
        st.builds("097{}".format, st.text("0123456789", min_size=9, max_size=9)),
    )
)
def test_normalising_is_idempotent_and_masking_hides_all_but_four_digits(typed: str) -> None:
    try:
        e164 = normalize_number(typed)
    except InvalidNumber:
        assert typed.startswith(("060", "067", "069"))
        return
    assert normalize_number(e164) == e164
    masked = mask_number(e164)
    assert re.fullmatch(r"\+31 (6|97\d) \*{4}\d{4}", masked), masked
    assert masked[-4:] == e164[-4:]


@pytest.mark.parametrize(
    ("typed", "hidden", "kept"),
    [
        ("0601234567", "0601234567", "******4567 is not a mobile number"),
        ("06 1234 567", "061234567", "** ***4 567 has 9 digits (*****4567)"),
        ("+31 6 1234 567", "61234567", "(*****4567)"),
        ("+44 7700 900123", "7700 900123", "+** **** **0123 is not a Dutch number"),
        ("0612345678x", "0612345678", "(e.g. ******5678)"),  # the example is their number
        ("0612345678, 0687654321", "0612345678", "******5678, ******4321 looks like"),
        ("06/12345678 ext 12", "12345678", "**/****5678 ext 12 contains letters"),
    ],
)
def test_mask_typed_hides_the_typed_number_in_every_layout(typed, hidden, kept) -> None:
    with pytest.raises(InvalidNumber) as raised:
        normalize_number(typed)
    masked = mask_typed(str(raised.value), typed)
    assert hidden not in masked and kept in masked


def test_mask_typed_keeps_other_numbers() -> None:
    with pytest.raises(InvalidNumber) as raised:
        normalize_number("0201234567")
    masked = mask_typed(str(raised.value), "0201234567")
    assert masked.startswith("******4567 is a landline number")
    assert "(e.g. 0612345678)" in masked


@given(
    st.sampled_from(["+31", "0", "+310", "0031", "+32", "", "00"]),
    st.one_of(
        st.text(alphabet="0123456789", min_size=7, max_size=13),
        # What the shortcut takes: 6 or 97 and the rest, 060 / 067 / 069 included.
        st.from_regex(r"6[0-9]{8}|97[0-9]{9}", fullmatch=True),
        # Other digits than ASCII ones (full-width, Arabic-Indic) are phonenumbers' to read.
        st.from_regex(r"6[0-9\uff10-\uff19\u0660-\u0669]{8}", fullmatch=True),
    ),
)
def test_the_shortcut_for_plain_forms_answers_as_phonenumbers_does(lead: str, digits: str) -> None:
    typed = lead + digits
    try:
        expected: str | type[InvalidNumber] = parse_number(typed)
    except InvalidNumber:
        expected = InvalidNumber
    try:
        got: str | type[InvalidNumber] = normalize_number(typed)
    except InvalidNumber:
        got = InvalidNumber
    assert got == expected


def test_a_control_character_in_a_number_is_named_and_not_repeated() -> None:
    with pytest.raises(InvalidNumber) as refused:
        normalize_number("06\x0012345678")
    assert "U+0000 (NUL)" in str(refused.value)
    assert "\x00" not in str(refused.value)
