"""Keep alert text in GSM-7 where it is Latin text anyway.

One curly quote, an ellipsis or a non-breaking space turns an SMS into UCS-2, which holds 70
characters instead of 160: an alert summary copied from a wiki would need three SMS. Such
characters are replaced by GSM look-alikes, accents outside the GSM table lose their accent,
and decorations (emoji, other symbols) are dropped. Text that is really non-Latin (Cyrillic,
Greek words, CJK ...) is left as it is: replacing would make it unreadable.
"""

from __future__ import annotations

import unicodedata

from smsbot.sms.text import analyze

LOOKALIKES = {
    **dict.fromkeys("‘’‚‛′`´", "'"),
    **dict.fromkeys("“”„‟″«»", '"'),
    **dict.fromkeys("‐‑‒–—―−", "-"),
    **dict.fromkeys(
        "\u00a0\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
        "\u202f\u205f\u3000\t",
        " ",
    ),
    **dict.fromkeys("\u200b\u200c\u200d\u2060\ufeff\ufe0f", ""),
    "…": "...",
    "•": "*",
    "·": ".",
    "×": "x",
    "≥": ">=",
    "≤": "<=",
    "≠": "!=",
    "→": "->",
    "°": "",
    "‰": " per mille",
}


def _replacement(char: str) -> str | None:
    """A GSM-7 stand-in for one character that forces UCS-2, or None when there is none."""
    if char in LOOKALIKES:
        return LOOKALIKES[char]
    stripped = "".join(
        c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c)
    )
    if stripped and stripped != char and analyze(stripped).encoding == "GSM-7":
        return stripped  # ô -> o, ł has no decomposition and stays
    if unicodedata.category(char).startswith("S"):
        return ""  # emoji and other symbols decorate; they carry no alert information
    return None


def prefer_gsm(text: str) -> str:
    """`text` with look-alikes for what forces UCS-2, unless it is really non-Latin text."""
    forcing = analyze(text).ucs2_characters if text else ()
    if not forcing:
        return text
    replacements = {}
    for char in forcing:
        replacement = _replacement(char)
        if replacement is None:
            return text  # a letter with no Latin look-alike: the text needs UCS-2
        replacements[char] = replacement
    return "".join(replacements.get(c, c) for c in text)
