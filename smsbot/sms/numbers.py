"""Dutch mobile numbers as KPN accepts them: normalise what people type to E.164, mask for logs.

phonenumbers does the parsing (`+31`, `0031`, `(0)`, spaces, dashes, dots, full-width digits);
KPN's own rule then decides what may receive an SMS:

- `06` and 8 digits, except `060`, `067` and `069`, which KPN lists as not mobile;
- `097` and 9 digits (12 digits nationally): the machine-to-machine range, which KPN allows.

Why KPN's rule and not only `phonenumbers.number_type()`: phonenumbers (9.0) knows `0970` as
mobile but calls `0971`-`0979` invalid, although KPN documents the whole `097` range as allowed;
and it calls `066` a pager number, which KPN does not exclude. phonenumbers is still asked what a
refused number *is* (landline, free-phone, VoIP...), so the message can say so.
"""

from __future__ import annotations

import re
import unicodedata

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberType

from smsbot.errors import InvalidNumber
from smsbot.sms.text import describe, is_control

DUTCH_COUNTRY_CODE = 31


# National numbers without the trunk 0: "6" + 8 digits, "97" + 9 digits.
MOBILE_PREFIX, MOBILE_LENGTH = "6", 9
M2M_PREFIX, M2M_LENGTH = "97", 11
NOT_MOBILE_PREFIXES = ("60", "67", "69")

# The longest a valid number can be as typed: "0031 (0)970 1234 5678" has 16 digits, and a
# generous layout ("+31 (0) 6 - 12 - 34 - 56 - 78") stays well within 40 characters. Whoever
# looks for a number in free text need not try anything longer.
MAX_TYPED_DIGITS, MAX_TYPED_LENGTH = 16, 40

# Characters people put between digits. Anything else (letters, #, *, ;) is refused by name.
_SEPARATORS = frozenset(" -./()")
_DASHES = dict.fromkeys(map(ord, "\u2010\u2011\u2012\u2013\u2014\u2015\u2212"), "-")

# What a refused number is, as the kind in its reason's code (`number.kind.landline`).
_TYPE_KINDS = {
    PhoneNumberType.FIXED_LINE: "landline",
    PhoneNumberType.FIXED_LINE_OR_MOBILE: "landline",
    PhoneNumberType.TOLL_FREE: "toll_free",
    PhoneNumberType.PREMIUM_RATE: "premium_rate",
    PhoneNumberType.SHARED_COST: "shared_cost",
    PhoneNumberType.VOIP: "voip",
    PhoneNumberType.UAN: "uan",
    PhoneNumberType.VOICEMAIL: "voicemail",
    PhoneNumberType.PERSONAL_NUMBER: "personal_number",
}


# The forms nearly every request uses (a stored E.164 number, or 06... typed plainly). For them
# the answer is known without phonenumbers, whose parse costs more than the rest of validating
# a request; everything else, and every refusal, goes through phonenumbers and KPN's rule.
_PLAIN_MOBILE = re.compile(r"(?:\+31|0)(6[0-9]{8}|97[0-9]{9})")  # ASCII digits only


def normalize_number(raw: str) -> str:
    """Return `raw` as E.164 (`+31612345678`, `+3197012345678`) or raise `InvalidNumber`.

    The message of the error says what was wrong with the number and how to write it instead.
    """
    plain = _PLAIN_MOBILE.fullmatch(raw)
    if plain is not None and not plain[1].startswith(NOT_MOBILE_PREFIXES):
        return f"+{DUTCH_COUNTRY_CODE}{plain[1]}"
    return parse_number(raw)


def parse_number(raw: str) -> str:
    """`normalize_number` without its shortcut for plain forms: phonenumbers and KPN's rule."""
    # Before anything repeats what was typed: a NUL in an error message could not be stored.
    controls = [ch for ch in dict.fromkeys(raw or "") if is_control(ch) and not ch.isspace()]
    if controls:
        raise InvalidNumber.of("number.invisible", characters=", ".join(map(describe, controls)))
    shown = _clean(raw)
    if not shown:
        raise InvalidNumber.of("number.missing")
    _refuse_foreign_characters(shown)

    try:
        parsed = phonenumbers.parse(shown, "NL")
    except NumberParseException as exc:
        raise _unparsable(shown, exc) from None

    if parsed.country_code != DUTCH_COUNTRY_CODE:
        region = phonenumbers.region_code_for_number(parsed) or "unknown country"
        raise InvalidNumber.of(
            "number.foreign", number=shown, country_code=parsed.country_code, region=region
        )

    # Without the trunk 0: "0031 06...", "+31 (0)6..." and "06..." all give "6...".
    # A lone "06" keeps its zero as an "italian leading zero"; strip it so the length rule
    # below, not a vague "not a mobile number", answers.
    national = phonenumbers.national_significant_number(parsed).lstrip("0")
    _apply_kpn_rule(shown, national, parsed)
    return f"+{DUTCH_COUNTRY_CODE}{national}"


def mask_number(e164: str) -> str:
    """Hide all but the last four digits, keeping what says which kind of number it is.

    `+31612345678` -> `+31 6 ****5678`, `+3197012345678` -> `+31 970 ****5678`. Anything else
    (used for logs of refused input too, so this never raises) keeps a `+` and country code when
    it has one and hides every digit but the last four.
    """
    digits = "".join(ch for ch in e164 if ch.isdigit())
    dutch = f"{DUTCH_COUNTRY_CODE}"
    if e164.strip().startswith("+") and digits.startswith(dutch):
        national = digits[len(dutch) :]
        if national.startswith(MOBILE_PREFIX) and len(national) == MOBILE_LENGTH:
            return f"+{dutch} {national[:1]} {_stars(national[1:])}"
        if national.startswith(M2M_PREFIX) and len(national) == M2M_LENGTH:
            return f"+{dutch} {national[:3]} {_stars(national[3:])}"
    if e164.strip().startswith("+"):
        country = _country_code_of(digits)
        if country:
            return f"+{country} {_stars(digits[len(country) :])}"
    return _stars(digits)


_WRITTEN_NUMBER = re.compile(r"\+?\d[\d \-./()]*\d")


def mask_typed(text: str, typed: str) -> str:
    """`text` (an `InvalidNumber` message) with the number `typed` hidden but its last four
    digits, wherever it appears as typed or in another layout (`0601234567 is not...` ->
    `******4567 is not...`). Other numbers, such as the example in the advice, stay."""
    typed_digits = re.sub(r"\D", "", _clean(typed))

    def hide(match: re.Match[str]) -> str:
        written = match.group()
        digits = re.sub(r"\D", "", written)
        core = digits.lstrip("0") or digits
        # Anywhere in what was typed: a list (`06..., 06...`) or an extension after the number.
        if len(digits) < 5 or core not in typed_digits:
            return written
        keep = len(digits) - 4
        out = []
        for ch in written:
            if ch.isdigit():
                out.append("*" if keep > 0 else ch)
                keep -= 1
            else:
                out.append(ch)
        return "".join(out)

    return _WRITTEN_NUMBER.sub(hide, text)


def _stars(digits: str) -> str:
    if len(digits) <= 4:
        return "*" * len(digits)
    return "*" * (len(digits) - 4) + digits[-4:]


def _country_code_of(digits: str) -> str | None:
    for size in (1, 2, 3):
        code = digits[:size]
        if code and phonenumbers.region_code_for_country_code(int(code)) != "ZZ":
            return code
    return None


def _clean(raw: str) -> str:
    """Trim and unify what copy-paste brings in: non-breaking spaces, typographic dashes,
    invisible format characters (zero-width spaces, direction marks), full-width digits."""
    text = unicodedata.normalize("NFKC", raw or "").translate(_DASHES)
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
    return " ".join(text.split())


def _refuse_foreign_characters(shown: str) -> None:
    if any(mark in shown for mark in ",;&"):
        raise InvalidNumber.of("number.several", number=shown)
    letters = [ch for ch in shown if ch.isalpha()]
    if letters:
        raise InvalidNumber.of(
            "number.letters", number=shown, letters="".join(dict.fromkeys(letters))
        )
    others = [ch for ch in shown if not (ch.isdigit() or ch in _SEPARATORS or ch == "+")]
    if others:
        characters = repr("".join(dict.fromkeys(others)))
        raise InvalidNumber.of("number.characters", number=shown, characters=characters)
    if "+" in shown.lstrip("( ").lstrip("+"):
        raise InvalidNumber.of("number.plus_inside", number=shown)


def _unparsable(shown: str, exc: NumberParseException) -> InvalidNumber:
    digits = re.sub(r"\D", "", shown)
    if exc.error_type == NumberParseException.INVALID_COUNTRY_CODE:
        return InvalidNumber.of("number.unknown_country_code", number=shown)
    if exc.error_type == NumberParseException.TOO_LONG:
        return InvalidNumber.of("number.too_long", number=shown, digits=len(digits))
    if len(digits) == 1:
        return InvalidNumber.of("number.too_short_one", number=shown)
    if digits:
        return InvalidNumber.of("number.too_short", number=shown, digits=len(digits))
    return InvalidNumber.of("number.not_a_number", number=shown)


def _apply_kpn_rule(shown: str, national: str, parsed: phonenumbers.PhoneNumber) -> None:
    trunk = "0" + national  # the form people know, so counts in messages match what they see
    if national.startswith(NOT_MOBILE_PREFIXES):
        raise InvalidNumber.of("number.not_mobile_range", number=shown, prefix=f"0{national[:2]}")
    if national.startswith(M2M_PREFIX):
        if len(national) != M2M_LENGTH:
            raise InvalidNumber.of(
                "number.m2m_length", number=shown, digits=len(trunk), trunk=trunk
            )
        return
    if national.startswith(MOBILE_PREFIX):
        if len(national) != MOBILE_LENGTH:
            raise InvalidNumber.of(
                "number.mobile_length", number=shown, digits=len(trunk), trunk=trunk
            )
        return
    kind = _TYPE_KINDS.get(phonenumbers.number_type(parsed))
    if kind is None:
        raise InvalidNumber.of("number.not_mobile", number=shown)
    raise InvalidNumber.of(f"number.kind.{kind}", number=shown)
