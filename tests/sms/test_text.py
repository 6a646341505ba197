"""Text: GSM-7 / UCS-2, septets and code units, parts and where they split."""

from __future__ import annotations

import itertools

import gsm0338  # noqa: F401  (registers the "gsm03.38" codec)
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smsbot.errors import InputError, InvalidText
from smsbot.sms.text import (
    GSM7_BASIC,
    GSM7_EXTENSION,
    LIMITS,
    TextInfo,
    analyze,
    analyze_each,
    split_parts,
    storable,
    validate_text,
)

ESCAPE = "\x1b"


def codec_septets(text: str) -> int | None:
    """Septets by the independent gsm0338 codec (one byte per septet, escape included)."""
    try:
        return len(text.encode("gsm03.38"))
    except UnicodeEncodeError:
        return None


def test_tables_match_the_gsm0338_codec_for_every_bmp_character() -> None:
    # The codec also maps the escape code itself; a literal ESC is a control character a
    # person never means to send, so smsbot counts it as forcing UCS-2 instead.
    for code in range(0x10000):
        ch = chr(code)
        if 0xD800 <= code <= 0xDFFF or ch == ESCAPE:
            continue
        expected = codec_septets(ch)
        mine = 1 if ch in GSM7_BASIC else 2 if ch in GSM7_EXTENSION else None
        assert mine == expected, (hex(code), mine, expected)
    assert analyze(ESCAPE).encoding == "UCS-2"


@pytest.mark.parametrize(
    ("text", "encoding", "characters", "units", "parts"),
    [
        ("Hello", "GSM-7", 5, 5, 1),
        ("a" * 160, "GSM-7", 160, 160, 1),
        ("a" * 161, "GSM-7", 161, 161, 2),
        ("a" * 306, "GSM-7", 306, 306, 2),
        ("a" * 307, "GSM-7", 307, 307, 3),
        ("€" * 80, "GSM-7", 80, 160, 1),
        ("€" * 81, "GSM-7", 81, 162, 2),
        ("^{}[]~|€\\\f", "GSM-7", 10, 20, 1),
        ("Ça coûte 5€", "UCS-2", 11, 11, 1),  # û is not GSM; Ç is
        ("é" * 160, "GSM-7", 160, 160, 1),
        ("ж" * 70, "UCS-2", 70, 70, 1),
        ("ж" * 71, "UCS-2", 71, 71, 2),
        ("ж" * 134, "UCS-2", 134, 134, 2),
        ("ж" * 135, "UCS-2", 135, 135, 3),
        ("😀" * 35, "UCS-2", 35, 70, 1),
        ("😀" * 36, "UCS-2", 36, 72, 2),
        ("", "GSM-7", 0, 0, 0),
    ],
)
def test_analyze(text: str, encoding: str, characters: int, units: int, parts: int) -> None:
    info = analyze(text)
    assert (info.encoding, info.characters, info.units, info.parts) == (
        encoding,
        characters,
        units,
        parts,
    )


def test_one_curly_apostrophe_turns_one_part_into_three() -> None:
    plain = "It's down: " + "x" * 140
    curly = plain.replace("'", "’")
    assert analyze(plain) == TextInfo("GSM-7", 151, 1, 151, ())
    assert analyze(curly) == TextInfo("UCS-2", 151, 3, 151, ("’",))


def test_ucs2_characters_are_distinct_and_in_order_of_appearance() -> None:
    assert analyze("“Ops” – ok “”").ucs2_characters == ("“", "”", "–")


def test_per_part() -> None:
    assert analyze("a").per_part == 160
    assert analyze("a" * 161).per_part == 153
    assert analyze("ж").per_part == 70
    assert analyze("ж" * 71).per_part == 67


def test_a_part_never_ends_between_escape_and_character() -> None:
    text = "a" * 152 + "€" + "b" * 10  # € would straddle the 153-septet boundary
    parts = split_parts(text)
    assert parts == ["a" * 152, "€" + "b" * 10]
    assert analyze(text).parts == 2


def test_a_part_never_ends_inside_a_surrogate_pair() -> None:
    text = "x" * 66 + "😀" + "y" * 10  # the emoji's two units would straddle unit 67
    parts = split_parts(text)
    assert parts == ["x" * 66, "😀" + "y" * 10]


def test_a_pair_at_each_boundary_can_add_a_part() -> None:
    # 306 septets fit 2 x 153, but the first part must stop before the € (152 septets),
    # so one septet spills into a third part.
    text = "a" * 152 + "€" + "a" * 152
    assert analyze(text).units == 306
    assert analyze(text).parts == 3
    assert [len(part) for part in split_parts(text)] == [152, 152, 1]


def test_validate_text_refuses_empty_text() -> None:
    with pytest.raises(InvalidText, match="Message is empty; write the text"):
        validate_text("")
    with pytest.raises(InvalidText, match=r"Message is empty \(only spaces\)"):
        validate_text("  \n ")


def test_validate_text_gives_the_count_and_how_much_to_cut() -> None:
    with pytest.raises(InvalidText) as caught:
        validate_text("x" * 1203)
    assert str(caught.value) == (
        "Message is 1203 characters; KPN accepts at most 1000. Shorten it by 203."
    )
    assert caught.value.field == "text"
    assert issubclass(InvalidText, InputError)
    assert validate_text("x" * 1000).parts == 7


def test_validate_text_names_a_configured_maximum() -> None:
    with pytest.raises(InvalidText, match=r"SMSBOT_SMS__MAX_CHARACTERS\) is 300. Shorten it by 1"):
        validate_text("x" * 301, max_characters=300)
    assert validate_text("x" * 300, max_characters=300).characters == 300


def test_characters_count_code_points_not_units() -> None:
    # 1000 emoji are 2000 UTF-16 units but 1000 characters: within KPN's limit.
    assert validate_text("😀" * 1000).units == 2000
    with pytest.raises(InvalidText, match="1001 characters"):
        validate_text("😀" * 1001)


# Text mostly from the GSM tables (so GSM-7 messages of many parts are generated), with some
# characters from anywhere, including beyond the BMP.
gsm_alphabet = sorted(GSM7_BASIC | GSM7_EXTENSION)
any_char = st.characters(blacklist_categories=("Cs",), blacklist_characters=ESCAPE)
gsm_text = st.text(st.sampled_from(gsm_alphabet), max_size=700)
mixed_text = st.text(st.one_of(st.sampled_from(gsm_alphabet), any_char), max_size=400)


@settings(max_examples=300)
@given(st.one_of(gsm_text, mixed_text))
def test_counting_agrees_with_independent_references(text: str) -> None:
    info = analyze(text)
    septets = codec_septets(text)
    if septets is not None:
        assert info.encoding == "GSM-7"
        assert info.units == septets
        assert info.ucs2_characters == ()
    else:
        assert info.encoding == "UCS-2"
        assert info.units == len(text.encode("utf-16-le")) // 2
        assert info.ucs2_characters
        assert all(codec_septets(ch) is None for ch in info.ucs2_characters)
    assert info.characters == len(text)


@settings(max_examples=300)
@given(st.one_of(gsm_text, mixed_text))
def test_parts_join_to_the_text_and_each_fits(text: str) -> None:
    info = analyze(text)
    parts = split_parts(text)
    assert "".join(parts) == text
    assert len(parts) == info.parts
    single, multi = LIMITS[info.encoding]
    limit = single if len(parts) == 1 else multi
    for part in parts:
        assert part
        if info.encoding == "GSM-7":
            assert codec_septets(part) <= limit
        else:
            assert len(part.encode("utf-16-le")) // 2 <= limit
    # Greedy: a part is cut only when the next character would not fit.
    for part, following in itertools.pairwise(parts):
        if info.encoding == "GSM-7":
            assert codec_septets(part + following[0]) > limit
        else:
            assert len((part + following[0]).encode("utf-16-le")) // 2 > limit


@settings(max_examples=300)
@given(st.one_of(st.text(st.sampled_from(sorted(GSM7_BASIC)), max_size=1000), gsm_text, mixed_text))
def test_the_shortcut_for_basic_table_texts_agrees_with_counting_each_character(text: str):
    assert analyze(text) == analyze_each(text)


@pytest.mark.parametrize("length", [1, 159, 160, 161, 306, 307, 459, 460, 1000])
def test_the_shortcut_counts_parts_at_the_boundaries(length: int) -> None:
    assert analyze("a" * length) == analyze_each("a" * length)


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("a\x00b", ["U+0000 (NUL)"]),
        ("\x1b[1mbold\x7f", ["U+001B (ESC)", "U+007F (DEL)"]),
        ("c1 \x85 next line", ["U+0085 (control character)"]),
        ("form\x0cfeed", ["U+000C (FF)"]),
        (
            "abc\u202edef\u2066",
            ["U+202E (RIGHT-TO-LEFT OVERRIDE)", "U+2066 (LEFT-TO-RIGHT ISOLATE)"],
        ),
    ],
)
def test_control_characters_and_direction_overrides_are_refused_by_name(
    text: str, named: list[str]
) -> None:
    with pytest.raises(InvalidText) as refused:
        validate_text(text)
    message = str(refused.value)
    assert all(name in message for name in named)
    assert "Delete" in message
    assert not any(ch in message for ch in text if not ch.isprintable())
    assert "\ufffd" in storable(text) and storable(text).isprintable()


@pytest.mark.parametrize(
    "text",
    ["two\nlines\r\n", "tab\there", "zero\u200bwidth\ufeff", "👩\u200d💻", "\u200fשלום\u200e"],
)
def test_what_people_type_is_kept(text: str) -> None:
    validate_text(text)
    assert storable(text) == text
