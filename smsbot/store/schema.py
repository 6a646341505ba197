"""The tables as the code reads and writes them today (SQLAlchemy Core, both engines).

Changing a table here needs a new step in `smsbot.store.migrations`, which is what creates and
upgrades the tables in a database; this module never creates anything.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Dialect,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy.types import TypeDecorator


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out, on both engines.

    PostgreSQL keeps `timestamptz`; SQLite has no time zones, so naive UTC text is stored (its
    fixed-width format still compares correctly in `WHERE created_at >= ...`).
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("smsbot stores aware datetimes only (use datetime.now(UTC))")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = MetaData()

schema_version = Table(
    "smsbot_schema_version", metadata, Column("version", Integer, nullable=False)
)

# One row per request: the audit record, the outbox entry and the idempotency key in one place,
# so recording, taking (for the outbox) and finishing a send are single-row statements.
sends = Table(
    "smsbot_sends",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("surface", String(32), nullable=False),
    Column("channel", String(64)),
    Column("recipient", String(20)),  # E.164; None when the number itself was invalid
    Column("text_length", Integer, nullable=False),
    Column("parts", Integer),
    Column("encoding", String(8)),
    Column("sender", String(16)),
    Column("outcome", String(16), nullable=False),
    Column("rule", String(32)),  # refused: which rule; invalid: which field
    Column("document_id", String(64)),
    Column("error", Text),
    Column("idempotency_key", String(200), nullable=False, unique=True),
    Column("attempts", Integer, nullable=False, default=0),
    Column("reply", JSON, nullable=False),
    Column("text", Text),  # kept while queued; afterwards only with SMSBOT_AUDIT__STORE_TEXT
    Column("retry_at", UtcDateTime),  # refused: when the next send is possible
    Column("not_before", UtcDateTime),  # queued: held back until then (KPN quota used up)
    # What KPN's delivery reports say became of it (`smsbot.sms.request.Delivery`), when
    # that state was reached, and KPN's failure code (e.g. "007") for a failure.
    Column("delivery", String(16)),
    Column("delivered_at", UtcDateTime),
    Column("delivery_code", String(8)),
    # The Slack message this SMS is discussed under (its confirmation, or its alert's mirror):
    # a reply from its phone becomes a thread reply there.
    Column("slack_channel", String(64)),
    Column("slack_ts", String(32)),
    # An alert SMS's one repeat while its send stays `unknown` with no delivery report: when
    # it is due (moved on by a lease while a replica sends it), None when none is owed.
    Column("resend_at", UtcDateTime),
    Column("repeat_of", String(32)),  # a repeat: the id of the SMS it repeats
)

# Keys claimed for a while, atomically across replicas (alert de-duplication).
claims = Table(
    "smsbot_claims",
    metadata,
    Column("key", String(300), primary_key=True),
    Column("expires_at", UtcDateTime, nullable=False),
)

# The newest state of each part of an SMS, as its delivery reports said (one row per part; a
# report about the whole message is recorded for every part). The SMS's own `delivery` is
# derived from these: delivered when every part is, failed when any part failed.
deliveries = Table(
    "smsbot_deliveries",
    metadata,
    Column("send_id", String(32), primary_key=True),
    Column("part", Integer, primary_key=True),  # 1-based
    Column("status", String(16), nullable=False),
    Column("code", String(8)),
    Column("reported_at", UtcDateTime, nullable=False),
)

# Alert groups as the on-call loop sees them: one row per (source, route, group key), reopened
# when a resolved group fires again (`episode` counts the openings, so the escalation steps and
# the acknowledgement of one episode never carry over to the next). `state` is
# `smsbot.store.alert_groups.GroupState`.
alert_groups = Table(
    "smsbot_alert_groups",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("source", String(32), nullable=False),
    Column("route", String(200), nullable=False),
    Column("group_key", String(300), nullable=False),
    Column("labels", JSON, nullable=False),  # the group's labels: a silence's matchers
    Column("summary", Text),  # the newest alert SMS's text (no number in it), for Slack
    Column("state", String(16), nullable=False),
    Column("episode", Integer, nullable=False),
    Column("opened_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("acked_by", String(200)),  # the person's name
    Column("acked_via", String(16)),  # sms, slack
    Column("acked_at", UtcDateTime),
    Column("ack_until", UtcDateTime),  # None: the acknowledgement stands until resolved
    Column("silence_id", String(64)),  # the Alertmanager silence smsbot made
    Column("silenced_until", UtcDateTime),
    Column("mirror_channel", String(64)),
    Column("mirror_ts", String(32)),  # the group's mirror message; its events in its thread
)

# The phones that got a group's SMS, each with the code its SMS showed (`1a`, `2s`): the lowest
# number free among that phone's open groups.
alert_phones = Table(
    "smsbot_alert_phones",
    metadata,
    Column("group_id", String(32), primary_key=True),
    Column("phone", String(20), primary_key=True),
    Column("code", Integer, nullable=False),
    Column("notified_at", UtcDateTime, nullable=False),
    Column("name", String(200)),  # the person, when the number came from their Slack profile
    Column("send_id", String(32)),  # the newest SMS of the group to the phone: its delivery
)

# Escalation steps: durable timers, one row per step of one episode of a group. `step_state` is
# pending, firing (taken by a replica until `lease_until`), fired or cancelled.
escalations = Table(
    "smsbot_escalations",
    metadata,
    Column("group_id", String(32), primary_key=True),
    Column("episode", Integer, primary_key=True),
    Column("step", Integer, primary_key=True),  # 0-based, as in the route's `escalate`
    Column("due_at", UtcDateTime, nullable=False),
    Column("step_state", String(16), nullable=False),
    Column("lease_until", UtcDateTime),
    Column("fired_at", UtcDateTime),
)

# One row per SMS a phone sent to the reply number (KPN's inbound webhook), stored once per
# KPN message_id, and what became of it (`smsbot.store.records.InboundOutcome`).
inbound = Table(
    "smsbot_inbound",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("message_id", String(256), nullable=False, unique=True),
    Column("received_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("sent_at", UtcDateTime),  # KPN's timestamp_utc
    Column("sender", String(64), nullable=False),  # the phone, E.164 when it is a number
    Column("recipient", String(64), nullable=False),  # the virtual number it was sent to
    Column("text_length", Integer, nullable=False),
    Column("text", Text),  # only with SMSBOT_AUDIT__STORE_TEXT
    Column("outcome", String(16), nullable=False),
    Column("handler", String(32)),  # the reply handler that took it
    Column("conversation", String(32)),  # the smsbot_sends id whose thread it went to
    Column("slack_channel", String(64)),
    Column("slack_ts", String(32)),  # the thread it was posted in (the conversation's ts)
)

# What people did to alert groups, with who did it: the on-call loop's audit (one row per
# acknowledgement, silence, lift), written in the same transaction as the change itself.
alert_events = Table(
    "smsbot_alert_events",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("group_id", String(32), nullable=False),
    Column("episode", Integer, nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("actor", String(200), nullable=False),  # a Slack user id, or a masked number
    Column("via", String(16), nullable=False),  # sms, slack
    Column("action", String(16), nullable=False),  # acknowledged, silenced, unsilenced
    Column("detail", Text),  # e.g. the silence's end
)
