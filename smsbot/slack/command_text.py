"""What the text after `/sms` asks for: help, history, the form, or a send to whom with what.

Slack delivers the text escaped (see `escaping`); a mention of a person arrives as
`<@U123|alice>` or `<@U123>`. A number may be typed with spaces (`06 1234 5678`), so the
recipient is the shortest run of leading number-like words that makes a valid number: in
`/sms 0612345678 2 servers down` the `2` belongs to the message, in `/sms 06 1234 5678 hi`
all three words make the number.

Finding where the number ends is bounded: only the words that could still be part of one
number are tried (`MAX_NUMBER_DIGITS`, `MAX_NUMBER_LENGTH`), so `/sms 1 1 1 ... hi` with
thousands of number-like words costs what a few words cost, not one number check per prefix
of all of them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from smsbot.errors import InvalidNumber
from smsbot.slack.escaping import decode
from smsbot.slack.texts import ENGLISH, Texts
from smsbot.sms.numbers import MAX_TYPED_DIGITS, MAX_TYPED_LENGTH, normalize_number

_MENTION = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|([^>]*))?>")
_NUMBER_WORD = re.compile(r"[+\d()\-./]+")
_WORD = re.compile(r"\S+")


@dataclass(frozen=True)
class Help:
    pass


@dataclass(frozen=True)
class History:
    pass


@dataclass(frozen=True)
class OpenForm:
    """Open the modal, pre-filled with what was given."""

    number: str | None = None
    user: str | None = None


@dataclass(frozen=True)
class SendToNumber:
    number: str  # as typed; the service normalises and validates it
    text: str  # still Slack-escaped: mentions in it are resolved to names later


@dataclass(frozen=True)
class SendToPerson:
    user: str
    label: str | None
    text: str  # still Slack-escaped


@dataclass(frozen=True)
class Unclear:
    """The text starts with neither a number nor a person; `word` is its first word."""

    word: str

    def message(self, texts: Texts = ENGLISH) -> str:
        return texts.not_a_number.format(word=repr(self.word), usage=texts.usage)


CommandText = Help | History | OpenForm | SendToNumber | SendToPerson | Unclear


HELP_WORDS = frozenset({"help", "?", "-h", "--help"})


def reply_in_ack(raw: str) -> Help | Unclear | None:
    """What the ack itself must say (usage, or that the text does not start with a number or a
    person), or None: the command is acked empty and `parse` decides the rest after the ack.

    It agrees with `parse`, which returns these same answers, but it skips what only matters
    after the ack: where a number typed with spaces ends, which takes the number rules
    (phonenumbers) once per candidate. So the ack of `/sms 06... text` waits for none of them.
    """
    text = raw.strip()
    if text.lower() in HELP_WORDS:
        return Help()
    if not text or text.lower() == "history" or _MENTION.match(text):
        return None
    first = _WORD.match(text)
    assert first is not None  # text is stripped and not empty
    if not _NUMBER_WORD.fullmatch(decode(first.group())):
        return _not_a_number(first.group())
    return None


def parse(raw: str) -> CommandText:
    text = raw.strip()
    at_once = reply_in_ack(text)
    if at_once is not None:
        return at_once
    if not text:
        return OpenForm()
    if text.lower() == "history":
        return History()
    mention = _MENTION.match(text)
    if mention:
        rest = text[mention.end() :].strip()
        if not rest:
            return OpenForm(user=mention.group(1))
        return SendToPerson(mention.group(1), mention.group(2), rest)
    return _parse_number_first(text)


def _not_a_number(word: str) -> Unclear:
    return Unclear(decode(word))


def _parse_number_first(text: str) -> CommandText:
    # Some clients turn typed numbers into `<tel:...|...>` links; look at what was typed.
    number_words: list[re.Match[str]] = []
    digits = length = 0
    for word in _WORD.finditer(text):  # the leading words only, not the whole message
        typed = decode(word.group())
        if not _NUMBER_WORD.fullmatch(typed):
            break
        digits += sum(ch.isdigit() for ch in typed)
        length += len(typed) + bool(number_words)  # as typed, one space between words
        # Past this no valid number can end: the rest is message, however number-like.
        if number_words and (digits > MAX_TYPED_DIGITS or length > MAX_TYPED_LENGTH):
            break
        number_words.append(word)
    if not number_words:  # parse never gets here: reply_in_ack has answered already
        first = _WORD.match(text)
        return _not_a_number(first.group() if first else text)
    for count in range(1, len(number_words) + 1):
        candidate = decode(text[: number_words[count - 1].end()])
        try:
            normalize_number(candidate)
        except InvalidNumber:
            continue
        rest = text[number_words[count - 1].end() :].strip()
        if not rest:
            return OpenForm(number=candidate)
        return SendToNumber(candidate, rest)
    # No valid number: hand the service what was meant as one, so it records the attempt and
    # says what is wrong ("060 numbers cannot receive SMS", "06 1234 567 has 9 digits").
    # A short first word is the start of a number typed with spaces; a long one stands alone.
    last = number_words[0]
    if sum(ch.isdigit() for ch in decode(last.group())) < 8:
        last = number_words[-1]
    return SendToNumber(decode(text[: last.end()]), text[last.end() :].strip())
