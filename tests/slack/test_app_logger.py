"""Requests through the Bolt app leave smsbot's own loggers alone.

On every request Bolt sets the root logger's level on a logger named after the app. Named
"smsbot", that was smsbot's package logger: whatever level the root had then stuck to every
`smsbot.*` logger, hiding their DEBUG lines for the rest of the process.
"""

from __future__ import annotations

import logging

from tests.slack.conftest import SlackBot


async def test_a_request_sets_no_level_on_smsbots_loggers(slack_bot: SlackBot) -> None:
    root = logging.getLogger()
    before = root.level
    root.setLevel(logging.WARNING)
    try:
        status, _, _ = await slack_bot.command("0612345678 hello")
    finally:
        root.setLevel(before)
    assert status == 200
    assert logging.getLogger("smsbot").level == logging.NOTSET
