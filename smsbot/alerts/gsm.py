"""Keep alert text in GSM-7 where it is Latin text anyway.

One curly quote, an ellipsis or a non-breaking space turns an SMS into UCS-2, which holds 70
characters instead of 160: an alert summary copied from a wiki would need three SMS. The stand-ins
are `smsbot.sms.replacements`' (the ones the Slack surfaces suggest, so an alert and a person's
SMS read alike); this module only decides when an alert uses them:

- when every character that forces UCS-2 has a stand-in, all are replaced;
- emoji and other pictographic symbols (Unicode categories So and Sk), with the invisible joiners
  and variation selectors that build emoji sequences, are dropped: they decorate and carry no
  alert information; any other kind of space is a plain space;
- otherwise the text is left as it is. That keeps text that is really non-Latin (Cyrillic, Greek
  words, CJK ...) readable, and a sign with no stand-in (`≥`, `→`) is not lost from an alert.
"""

from __future__ import annotations

import unicodedata

from smsbot.sms.replacements import gsm_replacement
from smsbot.sms.text import GSM7_BASIC, GSM7_EXTENSION, analyze

# Every character GSM-7 carries. Nearly all alert text is plain GSM-7: one set check, done in C,
# says so, where `analyze` looks at each character in Python (it was most of the time a webhook
# spent rendering, called for every instance name and every cut tried).
GSM7_CHARACTERS = GSM7_BASIC | GSM7_EXTENSION

_DROPPED_CATEGORIES = frozenset({"So", "Sk", "Cf"})  # pictographs, modifiers, invisible joiners
_VARIATION_SELECTORS = range(0xFE00, 0xFE10)  # U+FE0F asks for the emoji form of a symbol


def _stand_in(char: str) -> str | None:
    """What one character that forces UCS-2 becomes in an alert, or None when it must stay."""
    replacement = gsm_replacement(char)
    if replacement is not None:
        return replacement
    category = unicodedata.category(char)
    if category == "Zs":
        return " "
    if category in _DROPPED_CATEGORIES or ord(char) in _VARIATION_SELECTORS:
        return ""
    return None


def prefer_gsm(text: str) -> str:
    """`text` with stand-ins for what forces UCS-2, unless something in it has none."""
    if GSM7_CHARACTERS.issuperset(text):
        return text
    forcing = analyze(text).ucs2_characters
    if not forcing:
        return text
    replacements = {}
    for char in forcing:
        replacement = _stand_in(char)
        if replacement is None:
            return text  # a letter or sign with no GSM-7 stand-in: the text needs UCS-2
        replacements[char] = replacement
    return "".join(replacements.get(c, c) for c in text)
