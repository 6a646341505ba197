"""The sender a phone shows: an alphanumeric name of at most 11 characters, or a number.

KPN documents the sender as "sender name or short code", at most 11 characters. That is the GSM
limit for an *alphanumeric* originator (11 characters packed in the 10-octet TP-OA field of
3GPP TS 23.040). A *numeric* originator in that field holds up to 20 digits; SMS gateways
commonly cap it at 16 (an E.164 number is at most 15 digits). smsbot accepts a numeric sender of
at most 16 digits, optionally with a leading `+`, so a short code (`1234`) or a full number
(`+31612345678`) both work; KPN may still refuse a number it has not registered for the account,
and says so in its error.
"""

from __future__ import annotations

import re

from smsbot.errors import ConfigurationError, InvalidSender

MAX_ALPHANUMERIC = 11
MAX_NUMERIC_DIGITS = 16

# ASCII only: alphanumeric originators are GSM-7 packed, and handsets render non-ASCII
# letters in them unreliably.
_ALPHANUMERIC = re.compile(r"[A-Za-z0-9 ]+")
_NUMERIC = re.compile(r"\+?[0-9]+")

RULE = (
    f"a sender is 1-{MAX_ALPHANUMERIC} letters (A-Z), digits and spaces, "
    f"or a number of at most {MAX_NUMERIC_DIGITS} digits (optionally starting with +)"
)


def validate_sender(sender: str | None, default: str) -> str:
    """Return the sender to use: `sender` checked and trimmed, or `default` when none is given.

    Raises `InvalidSender` for a sender that breaks the rule above, and `ConfigurationError` when
    the configured default itself does (that is a settings mistake, not the person's).
    """
    given = (sender or "").strip()
    if not given:
        try:
            return _checked(default or "")
        except InvalidSender as exc:
            raise ConfigurationError(
                f"The default sender SMSBOT_KPN__SENDER is not valid: {exc}"
            ) from None
    return _checked(given)


def _checked(sender: str) -> str:
    sender = sender.strip()
    if not sender:
        raise InvalidSender(f"The sender is empty; {RULE}.")
    if _NUMERIC.fullmatch(sender):
        digits = len(sender.lstrip("+"))
        if digits > MAX_NUMERIC_DIGITS:
            raise InvalidSender(
                f"Sender {sender!r} has {digits} digits; a numeric sender has at most "
                f"{MAX_NUMERIC_DIGITS}. Shorten it by {digits - MAX_NUMERIC_DIGITS}."
            )
        return sender
    if not _ALPHANUMERIC.fullmatch(sender):
        bad = "".join(dict.fromkeys(ch for ch in sender if not _ALPHANUMERIC.fullmatch(ch)))
        raise InvalidSender(
            f"Sender {sender!r} contains {bad!r}; {RULE}. Remove or replace those characters."
        )
    if len(sender) > MAX_ALPHANUMERIC:
        raise InvalidSender(
            f"Sender {sender!r} is {len(sender)} characters; a sender name has at most "
            f"{MAX_ALPHANUMERIC}. Shorten it by {len(sender) - MAX_ALPHANUMERIC}."
        )
    return sender
