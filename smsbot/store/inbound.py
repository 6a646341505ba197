"""Two-way SMS in the store: the SMS phones send to the reply number, and the Slack message each
outbound SMS is discussed under (see `Store.admit_inbound`, `Store.set_conversation`)."""

from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from smsbot.store.records import (
    Disposition,
    InboundAdmission,
    InboundOutcome,
    InboundRecord,
    NewInbound,
)
from smsbot.store.schema import inbound
from smsbot.store.writes import Defaults, Transaction, first


def inbound_row(new: NewInbound, now: datetime, *, store_text: bool) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(inbound.c.keys())
    row.update(
        id=secrets.token_hex(16),
        message_id=new.message_id,
        received_at=now,
        updated_at=now,
        sent_at=new.sent_at,
        sender=new.sender,
        recipient=new.recipient,
        text_length=len(new.text),
        # Inbound text is personal data, kept only when the operator asked for it, as outbound.
        text=new.text if store_text else None,
        outcome=InboundOutcome.RECEIVED,
    )
    return row


@dataclass
class AdmitInbound(Defaults):
    """Store an inbound SMS unless its message_id is stored (then that record, a duplicate).
    One over `limit` messages from its phone within `window` (not counting those already over
    it) is stored `limited`. Counted and inserted under the phone's advisory lock (PostgreSQL;
    SQLite's one writer holds the whole database), so replicas agree on the count."""

    row: dict[str, Any]
    limit: int
    window: timedelta
    several_statements = True
    # A message stored this long ago that no handler finished (its process died while handling
    # it, before KPN got an answer) is handled again when KPN posts it again: at least once
    # into Slack rather than never. Far longer than handling takes (Slack calls are bounded
    # at 30 s each); shorter than KPN's retries, which come 60, 180 and 420 s after the first.
    resume_after = timedelta(minutes=2)

    def __post_init__(self) -> None:
        self.subjects = (f"smsbot:inbound:{self.row['sender']}",)

    async def run(self, tx: Transaction) -> InboundAdmission:
        row = dict(self.row)  # a copy: should the group fail, the write runs again from scratch
        earlier = await first(tx, tx.sql.inbound_by_message_id, {"message_id": row["message_id"]})
        if earlier is not None:
            now = row["received_at"]
            params = {"rid": earlier["id"], "now": now, "stale_before": now - self.resume_after}
            resumed = await first(tx, tx.sql.resume_inbound, params)
            if resumed is not None:  # left unfinished by a process that died: handle it now
                return InboundAdmission(InboundRecord.from_row(resumed), duplicate=False)
            return InboundAdmission(InboundRecord.from_row(earlier), duplicate=True)
        since = row["received_at"] - self.window
        counted = await first(tx, tx.sql.inbound_counted, {"sender": row["sender"], "since": since})
        if int(counted["n"]) >= self.limit:
            row["outcome"] = InboundOutcome.LIMITED
        inserted = await first(tx, tx.sql.insert_inbound, row)
        if inserted is None:  # stored meanwhile by another replica (another phone's lock)
            earlier = await first(
                tx, tx.sql.inbound_by_message_id, {"message_id": row["message_id"]}
            )
            return InboundAdmission(InboundRecord.from_row(earlier), duplicate=True)
        return InboundAdmission(InboundRecord.from_row(inserted), duplicate=False)


@dataclass
class FinishInbound(Defaults):
    """What became of an inbound SMS; the record afterwards (None: no such row)."""

    rid: str
    disposition: Disposition
    handler: str | None  # the reply handler's name
    now: datetime

    async def run(self, tx: Transaction) -> InboundRecord | None:
        params = {**asdict(self.disposition), "rid": self.rid, "handler": self.handler}
        found = await first(tx, tx.sql.finish_inbound, {**params, "now": self.now})
        return InboundRecord.from_row(found) if found is not None else None


@dataclass
class SetConversation(Defaults):
    """The Slack message (channel, ts) an outbound SMS is discussed under."""

    rid: str
    slack_channel: str
    slack_ts: str

    async def run(self, tx: Transaction) -> bool:
        return bool(await tx.fetch(tx.sql.set_conversation, self.field_params()))
