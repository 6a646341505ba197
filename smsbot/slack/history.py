"""`/sms history`: the person's own last sends and their delivery, shown only to them, numbers
masked."""

from __future__ import annotations

from typing import Any

from smsbot.slack import blocks
from smsbot.slack.context import SlackDeps
from smsbot.timezone import local_time

HISTORY_LIMIT = 10


async def history_message(deps: SlackDeps, user_id: str) -> dict[str, Any]:
    """The ephemeral answer, ready for `respond(**...)`."""
    records = await deps.service.history(user_id, limit=HISTORY_LIMIT)
    mask = deps.settings.audit.mask_numbers
    texts = await deps.notifier.texts_for(user_id)
    lines = [
        blocks.HistoryLine(
            when=local_time(record.time, deps.settings.timezone),
            to=record.shown_number(mask_numbers=mask) or texts.no_valid_number,
            outcome=str(record.outcome),
            parts=record.parts,
            document_id=record.document_id,
            delivery=texts.delivery_line(record, deps.settings.timezone),
        )
        for record in records
    ]
    text, message_blocks = blocks.history_blocks(lines, texts)
    return {"response_type": "ephemeral", "text": text, "blocks": message_blocks}
