"""Message text: which encoding an SMS needs, how many parts it takes, and where it splits.

GSM-7 (3GPP TS 23.038) packs a character into 7 bits: the basic table costs one septet, the
extension table (`^{}[]~|€\\` and form feed) costs two, an escape septet and the character. One
character outside both tables makes the whole message UCS-2 (UTF-16 code units, so characters
beyond the BMP, like most emoji, cost two).

A single SMS holds 160 septets or 70 UCS-2 units. A longer message is sent as concatenated parts
whose user data header leaves 153 septets or 67 units each. A part never ends between an escape
and its character, or between the two halves of a surrogate pair: the handset could not join
them again, so such a part holds one unit less.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Literal

from smsbot.errors import InvalidText

Encoding = Literal["GSM-7", "UCS-2"]
GSM7: Encoding = "GSM-7"
UCS2: Encoding = "UCS-2"

DEFAULT_MAX_CHARACTERS = 1000  # KPN's documented limit per message

# (units in a single SMS, units per part of a concatenated SMS)
LIMITS: dict[str, tuple[int, int]] = {GSM7: (160, 153), UCS2: (70, 67)}

# The GSM 03.38 basic table in code order, 0x00-0x7F; 0x1B (escape) is not a character.
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ"
    "ÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# The extension table: each costs an escape septet plus its own.
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")


# What a person's text may not carry. Control characters (Unicode Cc: C0, DEL, C1) other than
# tab, line feed and carriage return: phones cannot show them, and PostgreSQL cannot even
# store a NUL. And the invisible overrides, embeddings and isolates of bidirectional text
# (U+202A-U+202E, U+2066-U+2069): they make a phone show the text in another order than it was
# sent. Zero-width characters (spaces, joiners, the BOM) and the direction marks U+200E/U+200F
# are allowed: emoji sequences and some scripts need them, and they reorder nothing.
ALLOWED_CONTROLS = frozenset("\t\n\r")
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_C0_NAMES = (
    "NUL SOH STX ETX EOT ENQ ACK BEL BS HT LF VT FF CR SO SI "
    "DLE DC1 DC2 DC3 DC4 NAK SYN ETB CAN EM SUB ESC FS GS RS US"
).split()


def is_control(ch: str) -> bool:
    """A control character (C0, DEL or C1), tab, line feed and carriage return included."""
    return ch < "\x20" or "\x7f" <= ch <= "\x9f"


def unsendable_characters(text: str) -> tuple[str, ...]:
    """The distinct characters of `text` that a person's SMS may not carry, in order."""
    if GSM7_BASIC.issuperset(text):
        return ()  # the usual text: its only controls are line feed and carriage return
    return tuple(
        dict.fromkeys(
            ch
            for ch in text
            if ch in BIDI_CONTROLS or (is_control(ch) and ch not in ALLOWED_CONTROLS)
        )
    )


def describe(ch: str) -> str:
    """`U+0000 (NUL)`, `U+202E (RIGHT-TO-LEFT OVERRIDE)`: a character nobody can see, named."""
    code = ord(ch)
    if code < len(_C0_NAMES):
        name = _C0_NAMES[code]
    elif code == 0x7F:
        name = "DEL"
    else:
        name = unicodedata.name(ch, "control character")
    return f"U+{code:04X} ({name})"


def storable(text: str) -> str:
    """`text` as a record can keep it: unsendable characters (see above) shown as U+FFFD, so
    the record of a refused text says where they were (and PostgreSQL can store it)."""
    unsendable = unsendable_characters(text)
    if not unsendable:
        return text
    return text.translate(dict.fromkeys(map(ord, unsendable), "\ufffd"))


@dataclass(frozen=True)
class TextInfo:
    """What a text costs as SMS.

    `characters` counts Unicode code points (what a person would count); `units` counts what
    the network counts: septets for GSM-7, UTF-16 code units for UCS-2. `ucs2_characters` are
    the distinct characters that forced UCS-2, in order of first appearance (empty for GSM-7).
    """

    encoding: Encoding
    characters: int
    parts: int
    units: int
    ucs2_characters: tuple[str, ...]

    @property
    def per_part(self) -> int:
        """Units one part can hold for this text (160/70 alone, 153/67 when concatenated)."""
        single, multi = LIMITS[self.encoding]
        return single if self.parts <= 1 else multi


def analyze(text: str) -> TextInfo:
    """Encoding, size and part count of `text`. Empty text is 0 parts (see `validate_text`)."""
    if text and GSM7_BASIC.issuperset(text):
        # Most texts: every character one septet, found by one set check in C instead of a
        # look-up per character; the part count then follows from the length alone.
        single, multi = LIMITS[GSM7]
        parts = 1 if len(text) <= single else -(-len(text) // multi)
        return TextInfo(
            GSM7, characters=len(text), parts=parts, units=len(text), ucs2_characters=()
        )
    return analyze_each(text)


def analyze_each(text: str) -> TextInfo:
    """`analyze`, character by character (any text; `analyze` takes a shortcut for texts of
    the GSM-7 basic table only)."""
    forcing = tuple(dict.fromkeys(ch for ch in text if not is_gsm7(ch)))
    encoding = UCS2 if forcing else GSM7
    costs = _unit_costs(text, encoding)
    return TextInfo(
        encoding=encoding,
        characters=len(text),
        parts=len(_part_bounds(costs, encoding)),
        units=sum(costs),
        ucs2_characters=forcing,
    )


def split_parts(text: str) -> list[str]:
    """The parts `text` is sent as; joined again they give `text` exactly."""
    encoding = UCS2 if any(not is_gsm7(ch) for ch in text) else GSM7
    return [text[start:end] for start, end in _part_bounds(_unit_costs(text, encoding), encoding)]


def validate_text(text: str, max_characters: int = DEFAULT_MAX_CHARACTERS) -> TextInfo:
    """`analyze(text)`, or `InvalidText` when the text is empty, over `max_characters`, or
    carries characters a person's SMS may not (`unsendable_characters`)."""
    if not text or not text.strip():
        raise InvalidText.of("text.only_spaces" if text else "text.empty")
    unsendable = unsendable_characters(text)
    if unsendable:
        control = any(ch not in BIDI_CONTROLS for ch in unsendable)
        direction = any(ch in BIDI_CONTROLS for ch in unsendable)
        why = "both" if control and direction else "control" if control else "direction"
        count = "one" if len(unsendable) == 1 else "many"
        raise InvalidText.of(
            f"text.invisible.{why}.{count}", characters=", ".join(map(describe, unsendable))
        )
    if len(text) > max_characters:
        configured = max_characters != DEFAULT_MAX_CHARACTERS
        raise InvalidText.of(
            "text.too_long_configured" if configured else "text.too_long",
            length=len(text),
            maximum=max_characters,
            over=len(text) - max_characters,
        )
    return analyze(text)


def is_gsm7(ch: str) -> bool:
    """True when `ch` (one character) can be sent in GSM-7, from either table."""
    return ch in GSM7_BASIC or ch in GSM7_EXTENSION


def _unit_costs(text: str, encoding: Encoding) -> list[int]:
    """What each character costs: 1 or 2 septets, or 1 or 2 UTF-16 code units."""
    if encoding == GSM7:
        return [2 if ch in GSM7_EXTENSION else 1 for ch in text]
    return [2 if ord(ch) > 0xFFFF else 1 for ch in text]


def _part_bounds(costs: list[int], encoding: Encoding) -> list[tuple[int, int]]:
    """(start, end) character indexes of each part. A character is never split, so a part that
    would end inside an escape or surrogate pair ends before it."""
    if not costs:
        return []
    single, multi = LIMITS[encoding]
    if sum(costs) <= single:
        return [(0, len(costs))]
    bounds: list[tuple[int, int]] = []
    start, used = 0, 0
    for index, cost in enumerate(costs):
        if used + cost > multi:
            bounds.append((start, index))
            start, used = index, 0
        used += cost
    bounds.append((start, len(costs)))
    return bounds
