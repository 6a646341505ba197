"""GSM-7 stand-ins for characters that would force UCS-2.

One typographic apostrophe (`’`, which phones and word processors insert) makes a message UCS-2,
which holds 70 instead of 160 characters per SMS. Where a plain GSM-7 character says the same,
smsbot can suggest it, so people see how to keep a message in one part.
"""

from __future__ import annotations

import unicodedata

from smsbot.sms.text import is_gsm7

# Punctuation and spaces that editors and chat clients substitute for the ASCII ones.
_PUNCTUATION = {
    "\u2018": "'",  # ‘
    "\u2019": "'",  # ’
    "\u201a": "'",  # ‚
    "\u201b": "'",  # ‛
    "\u2032": "'",  # ′
    "`": "'",
    "´": "'",
    "\u201c": '"',  # “
    "\u201d": '"',  # ”
    "\u201e": '"',  # „
    "\u201f": '"',  # ‟
    "\u2033": '"',  # ″
    "«": '"',
    "»": '"',
    "\u2010": "-",  # hyphen
    "\u2011": "-",  # non-breaking hyphen
    "\u2012": "-",  # figure dash
    "\u2013": "-",  # – en dash
    "\u2014": "-",  # — em dash
    "\u2212": "-",  # − minus
    "\u2026": "...",  # …
    "\u2022": "-",  # • bullet
    "\u00b7": "-",  # · middle dot
    "\t": " ",
    "\u00a0": " ",  # no-break space
    "\u2007": " ",  # figure space
    "\u2009": " ",  # thin space
    "\u202f": " ",  # narrow no-break space
    "\u00ad": "",  # soft hyphen: invisible anyway
    "\u200b": "",  # zero-width space
    "\u200d": "",  # zero-width joiner
    "\ufeff": "",  # byte order mark
    "\u2122": "TM",  # ™
    "\u00a9": "(c)",  # ©
    "\u00ae": "(R)",  # ®
}


def gsm_replacement(ch: str) -> str | None:
    """A GSM-7 text that can stand in for `ch`, or None when there is none (emoji, Cyrillic...).

    Letters with an accent GSM-7 lacks (`ë`, `ç`, `ï`, common in Dutch and French) become the
    bare letter; punctuation comes from the table above.
    """
    if is_gsm7(ch):
        return ch
    if ch in _PUNCTUATION:
        return _PUNCTUATION[ch]
    bare = "".join(
        part for part in unicodedata.normalize("NFD", ch) if not unicodedata.combining(part)
    )
    if bare and bare != ch and all(is_gsm7(part) for part in bare):
        return bare
    return None


def to_gsm7(text: str) -> str:
    """`text` with every character that has a GSM-7 stand-in replaced; others are kept."""
    out = []
    for ch in text:
        stand_in = gsm_replacement(ch)
        out.append(ch if stand_in is None else stand_in)
    return "".join(out)
