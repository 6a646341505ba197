"""Replies from phones, posted into Slack: in the thread of the SMS they answer, or in the
replies channel. The text is escaped as every user text the bot posts, so a reply cannot
mention anyone or broadcast to a channel; the sender is a name or a masked number. In the thread
of a person's confirmation the headline and the button are in that person's language."""

from __future__ import annotations

from typing import Any

from smsbot.inbound.threads import Reply
from smsbot.slack import blocks
from smsbot.slack.escaping import escape_mrkdwn
from smsbot.slack.notifier import SlackNotifier
from smsbot.slack.texts import ENGLISH, Texts

REPLY_PREFIX = "in:"  # a "Reply by SMS" button's value naming an inbound SMS


def reply_blocks(reply: Reply, texts: Texts = ENGLISH) -> tuple[str, list[dict[str, Any]]]:
    headline = ":speech_balloon: " + texts.sms_reply_from.format(who=escape_mrkdwn(reply.who))
    quoted = "\n".join("> " + line for line in escape_mrkdwn(reply.text).splitlines() or [""])
    fallback = blocks.fit(texts.sms_reply_from.format(who=reply.who), blocks.MESSAGE_TEXT_LIMIT)
    return fallback, [
        {"type": "section", "text": {"type": "mrkdwn", "text": headline}},
        {"type": "section", "text": {"type": "mrkdwn", "text": blocks.fit(quoted)}},
        blocks.reply_button(REPLY_PREFIX + reply.inbound_id, texts),
    ]


class SlackReplyPoster:
    """The `ReplyPoster` on Slack's Web API (chat:write; no message events are read), through
    the notifier's `chat.postMessage` (which falls back to the text should Slack refuse the
    blocks)."""

    def __init__(self, notifier: SlackNotifier) -> None:
        self.notifier = notifier

    async def post(self, channel: str, reply: Reply, *, thread_ts: str | None = None) -> str:
        # In the thread of a person's confirmation, in their language; in the replies channel
        # (no one reader), English.
        text, message_blocks = reply_blocks(reply, await self.notifier.texts_for(reply.reader))
        extra = {"thread_ts": thread_ts} if thread_ts else {}
        posted = await self.notifier.post_message(channel, text, message_blocks, **extra)
        return str(posted.get("ts") or "")
