"""Replies from phones, posted into Slack: in the thread of the SMS they answer, or in the
replies channel. The text is escaped as every user text the bot posts, so a reply cannot
mention anyone or broadcast to a channel; the sender is a name or a masked number."""

from __future__ import annotations

from typing import Any

from smsbot.inbound.threads import Reply
from smsbot.slack import blocks
from smsbot.slack.escaping import escape_mrkdwn
from smsbot.slack.notifier import SlackNotifier

REPLY_PREFIX = "in:"  # a "Reply by SMS" button's value naming an inbound SMS


def reply_blocks(reply: Reply) -> tuple[str, list[dict[str, Any]]]:
    headline = f":speech_balloon: SMS reply from {escape_mrkdwn(reply.who)}"
    quoted = "\n".join("> " + line for line in escape_mrkdwn(reply.text).splitlines() or [""])
    fallback = blocks.fit(f"SMS reply from {reply.who}", blocks.MESSAGE_TEXT_LIMIT)
    return fallback, [
        {"type": "section", "text": {"type": "mrkdwn", "text": headline}},
        {"type": "section", "text": {"type": "mrkdwn", "text": blocks.fit(quoted)}},
        blocks.reply_button(REPLY_PREFIX + reply.inbound_id),
    ]


class SlackReplyPoster:
    """The `ReplyPoster` on Slack's Web API (chat:write; no message events are read), through
    the notifier's `chat.postMessage` (which falls back to the text should Slack refuse the
    blocks)."""

    def __init__(self, notifier: SlackNotifier) -> None:
        self.notifier = notifier

    async def post(self, channel: str, reply: Reply, *, thread_ts: str | None = None) -> str:
        text, message_blocks = reply_blocks(reply)
        extra = {"thread_ts": thread_ts} if thread_ts else {}
        posted = await self.notifier.post_message(channel, text, message_blocks, **extra)
        return str(posted.get("ts") or "")
