"""The sender a phone shows: a name of letters, digits and spaces, or a number; at most 11.

GSM itself distinguishes an *alphanumeric* originator (at most 11 characters, packed in the
10-octet TP-OA field of 3GPP TS 23.040) from a *numeric* one (up to 20 digits in that field).
KPN's API documents one limit for the `sender` string whatever its kind: "a maximum length of 11
characters" (and the sandbox enforces the same). smsbot checks that limit before anything is
recorded or sent, rather than accept a 12-16 digit number that KPN would then refuse. A numeric
sender may start with `+`; the `+` counts, so an international number is written without it
(`31612345678`, 11 digits).
"""

from __future__ import annotations

import re

from smsbot.errors import ConfigurationError, InvalidSender

MAX_SENDER_LENGTH = 11

# ASCII only: alphanumeric originators are GSM-7 packed, and handsets render non-ASCII
# letters in them unreliably.
_ALPHANUMERIC = re.compile(r"[A-Za-z0-9 ]+")
_NUMERIC = re.compile(r"\+?[0-9]+")


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
        raise InvalidSender.of("sender.empty")
    numeric = _NUMERIC.fullmatch(sender) is not None
    if not numeric and not _ALPHANUMERIC.fullmatch(sender):
        bad = "".join(dict.fromkeys(ch for ch in sender if not _ALPHANUMERIC.fullmatch(ch)))
        raise InvalidSender.of("sender.characters", sender=repr(sender), characters=repr(bad))
    if len(sender) > MAX_SENDER_LENGTH:
        over = len(sender) - MAX_SENDER_LENGTH
        if numeric and sender.startswith("+") and over == 1:
            raise InvalidSender.of(
                "sender.too_long_plus",
                sender=repr(sender),
                length=len(sender),
                over=over,
                without_plus=sender[1:],
            )
        raise InvalidSender.of(
            "sender.too_long", sender=repr(sender), length=len(sender), over=over
        )
    return sender


def number_sender(e164: str) -> str:
    """The reply number (`SMSBOT_KPN__REPLY_NUMBER`, E.164) as the sender KPN is given: digits
    with the country code and no `+`, as KPN writes numbers itself (`3197012345678`). It is
    longer than 11 characters: KPN's limit is for names; a virtual number of the account is
    sent as it is, so phones can answer it."""
    return e164.removeprefix("+")
