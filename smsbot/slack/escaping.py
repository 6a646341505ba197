"""Slack's message escaping, both ways.

Slack hands the bot text the way it stores it, not the way the person typed it: `&`, `<` and
`>` arrive as `&amp;`, `&lt;`, `&gt;`, and links, mentions and broadcasts arrive as
`<target|label>` tokens. An SMS must carry what the person typed, so `decode` turns the tokens
back into the text they showed: the label where there is one (the person typed `example.com`,
Slack made it `<https://example.com|example.com>`), the bare URL or address otherwise, and
`@name` / `#name` / `@channel` for mentions, which is what the person saw in their box.

`escape_mrkdwn` goes the other way for text the bot posts: with `&`, `<` and `>` escaped no user
text can become a link, a mention or a `<!channel>` broadcast in the bot's messages.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_TOKEN = re.compile(r"<([^<>]*)>")
_ENTITY = re.compile(r"&(amp|lt|gt);")
_ENTITIES = {"amp": "&", "lt": "<", "gt": ">"}


def decode(text: str, names: Mapping[str, str] | None = None) -> str:
    """What the person typed, from Slack's escaped text.

    `names` maps user and channel ids to names, for tokens that carry no label (`<@U123>`);
    an id without a name is shown as the id, which at least names someone unambiguously.
    """
    if "<" not in text and "&" not in text:
        return text  # no token, no entity: nothing to decode (most words and messages)
    names = names or {}

    def readable(match: re.Match[str]) -> str:
        target, _, label = match.group(1).partition("|")
        if target.startswith("@"):
            return "@" + _strip(label, "@") if label else "@" + names.get(target[1:], target[1:])
        if target.startswith("#"):
            return "#" + _strip(label, "#") if label else "#" + names.get(target[1:], target[1:])
        if target.startswith("!"):
            return _special(target[1:], label)
        if label:
            return label
        for scheme in ("mailto:", "tel:"):
            if target.startswith(scheme):
                return target.removeprefix(scheme)
        return target

    # Entities come last: labels and URLs inside tokens are escaped too.
    return unescape(_TOKEN.sub(readable, text))


def _strip(label: str, prefix: str) -> str:
    return label.removeprefix(prefix)


def _special(command: str, label: str) -> str:
    """`<!channel>`, `<!here>`, `<!subteam^S1|@oncall>`, `<!date^...|fallback>`."""
    if command.startswith("subteam^"):
        return "@" + _strip(label, "@") if label else "@" + command.split("^", 1)[1]
    if command.startswith("date^"):
        return label
    if label:
        return label if label.startswith("@") else "@" + label
    return "@" + command


def unescape(text: str) -> str:
    """`&amp;`, `&lt;`, `&gt;` back to `&`, `<`, `>`, in one pass (so `&amp;lt;` is `&lt;`)."""
    return _ENTITY.sub(lambda match: _ENTITIES[match.group(1)], text)


def escape_mrkdwn(text: str) -> str:
    """Text safe to place in a mrkdwn message: it shows as typed and cannot ping or link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def mentioned_ids(text: str) -> set[str]:
    """User ids mentioned without a label (`<@U123>`), whose names `decode` needs."""
    return {
        target[1:]
        for target, _, label in (m.group(1).partition("|") for m in _TOKEN.finditer(text))
        if target.startswith("@") and not label
    }
