"""The tables as the code reads and writes them today, on both engines.

Each table lists its columns one a line, as DDL would: the name, the type, then `primary key`,
`not null`, `unique`, `default N` as they apply; `--` starts a comment. The types are few:
`varchar(N)`, `integer`, `text`, `json` and `utc_time` (an aware UTC datetime: `timestamptz` on
PostgreSQL; on SQLite, which has no time zones, naive UTC text in a fixed width that still
compares correctly). `smsbot.store.sql` builds its column lists from here and
`smsbot.store.codec` its conversions, so a new column is read and written without an edit there.

Changing a table here needs a new step in `smsbot.store.migrations`, which is what creates and
upgrades the tables in a database; this module never creates anything. Tools and tests that
want SQLAlchemy tables get these as such from `smsbot.store.sqlalchemy_tables`.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass


class Kind(enum.Enum):
    """How `smsbot.store.codec` converts a column's values."""

    PLAIN = "plain"  # the driver gives it as Python wants it
    DATETIME = "datetime"
    JSON = "json"


@dataclass(frozen=True)
class Type:
    name: str  # as written in a table below, e.g. varchar(32)
    sqlite: str  # its DDL on each engine
    postgresql: str
    kind: Kind = Kind.PLAIN
    length: int | None = None  # varchar's

    def ddl(self, engine: str) -> str:
        """`engine` is a dialect name: sqlite or postgresql."""
        return self.postgresql if engine == "postgresql" else self.sqlite

    def parameter(self, engine: str) -> str:
        """What a parameter for such a column is cast to: its type, but a varchar without
        its length. PostgreSQL cuts a value cast to `varchar(N)` to N characters without a
        word, where storing a longer value in the column is refused."""
        return "VARCHAR" if self.length is not None else self.ddl(engine)


INTEGER = Type("integer", "INTEGER", "INTEGER")
TEXT = Type("text", "TEXT", "TEXT")
JSON = Type("json", "JSON", "JSON", Kind.JSON)
UTC_TIME = Type("utc_time", "DATETIME", "TIMESTAMP WITH TIME ZONE", Kind.DATETIME)
_FIXED = {t.name: t for t in (INTEGER, TEXT, JSON, UTC_TIME)}


def _type(name: str) -> Type:
    if name in _FIXED:
        return _FIXED[name]
    if name.startswith("varchar(") and name.endswith(")") and name[8:-1].isdigit():
        return Type(name, name.upper(), name.upper(), length=int(name[8:-1]))
    raise ValueError(f"unknown column type {name!r}")


@dataclass(frozen=True)
class Column:
    name: str
    type: Type
    nullable: bool = True
    primary_key: bool = False
    unique: bool = False
    default: int | None = None  # for inserts that leave the column out (tools, tests)

    def fitted(self, value: str) -> str:
        """`value` as a varchar column keeps a text from outside that has no length limit
        (an Alertmanager group key, a KPN document_id): whole when it fits, else its head,
        `#` and a sha256 of the whole. The same text always gives the same value, and two
        texts that differ only past the head still differ."""
        length = self.type.length
        assert length is not None, f"{self.name} is not a varchar(N)"
        if len(value) <= length:
            return value
        digest = hashlib.sha256(value.encode()).hexdigest()[: min(64, length // 2)]
        return f"{value[: length - len(digest) - 1]}#{digest}"


_FLAGS = {"primary key": "primary_key", "not null": "not_null", "unique": "unique"}


def _column(line: str) -> Column:
    name, type_name, *rest = line.split()
    words = " ".join(rest)
    default = None
    if " default " in f" {words} ":
        words, value = f" {words} ".split(" default ", 1)
        default = int(value)
    flags = set()
    for phrase, flag in _FLAGS.items():
        if phrase in words:
            flags.add(flag)
            words = words.replace(phrase, "")
    if words.strip():
        raise ValueError(
            f"column {name}: {words.strip()!r} is not primary key, not null, unique or default N"
        )
    key = "primary_key" in flags
    return Column(
        name,
        _type(type_name),
        nullable=not (key or "not_null" in flags),
        primary_key=key,
        unique="unique" in flags,
        default=default,
    )


class Columns:
    """A table's columns in order, also by name: `table.c.created_at`, `table.c["id"]`."""

    def __init__(self, columns: list[Column]) -> None:
        self._columns = columns
        self._by_name = {column.name: column for column in columns}

    def __iter__(self) -> Iterator[Column]:
        return iter(self._columns)

    def __len__(self) -> int:
        return len(self._columns)

    def __getitem__(self, name: str) -> Column:
        return self._by_name[name]

    def __getattr__(self, name: str) -> Column:
        try:
            return self._by_name[name]
        except KeyError:
            raise AttributeError(name) from None

    def keys(self) -> list[str]:
        return list(self._by_name)


class Table:
    def __init__(self, name: str, columns: str) -> None:
        self.name = name
        lines = (line.split("--", 1)[0].strip() for line in columns.splitlines())
        self.c = Columns([_column(line) for line in lines if line])

    def __repr__(self) -> str:
        return f"Table({self.name!r}, {len(self.c)} columns)"


# The schema's version (`smsbot.store.migrations`): one row.
schema_version = Table("smsbot_schema_version", "version integer not null")

# One row per request: the audit record, the outbox entry and the idempotency key in one place,
# so recording, taking (for the outbox) and finishing a send are single-row statements.
sends = Table(
    "smsbot_sends",
    """
    id               varchar(32)   primary key
    created_at       utc_time      not null
    updated_at       utc_time      not null
    actor            varchar(200)  not null
    surface          varchar(32)   not null
    channel          varchar(64)
    -- E.164; None when the number itself was invalid
    recipient        varchar(20)
    text_length      integer       not null
    parts            integer
    encoding         varchar(8)
    sender           varchar(16)
    outcome          varchar(16)   not null
    rule             varchar(32)                       -- refused: which rule; invalid: which field
    document_id      varchar(64)
    error            text
    idempotency_key  varchar(200)  not null unique
    attempts         integer       not null default 0
    reply            json          not null
    -- kept while queued; afterwards only with SMSBOT_AUDIT__STORE_TEXT
    text             text
    retry_at         utc_time                          -- refused: when the next send is possible
    -- queued: held back until then (KPN quota used up)
    not_before       utc_time
    -- What KPN's delivery reports say became of it (`smsbot.sms.request.Delivery`), when
    -- that state was reached, and KPN's failure code (e.g. "007") for a failure.
    delivery         varchar(16)
    delivered_at     utc_time
    delivery_code    varchar(8)
    -- The Slack message this SMS is discussed under (its confirmation, or its alert's mirror):
    -- a reply from its phone becomes a thread reply there.
    slack_channel    varchar(64)
    slack_ts         varchar(32)
    -- An alert SMS's one repeat while its send stays `unknown` with no delivery report: when
    -- it is due (moved on by a lease while a replica sends it), None when none is owed.
    resend_at        utc_time
    repeat_of        varchar(32)                       -- a repeat: the id of the SMS it repeats
    """,
)

# Keys claimed for a while, atomically across replicas (alert de-duplication).
claims = Table(
    "smsbot_claims",
    """
    key         varchar(300)  primary key
    expires_at  utc_time      not null
    """,
)

# The newest state of each part of an SMS, as its delivery reports said (one row per part; a
# report about the whole message is recorded for every part). The SMS's own `delivery` is
# derived from these: delivered when every part is, failed when any part failed.
deliveries = Table(
    "smsbot_deliveries",
    """
    send_id      varchar(32)  primary key
    part         integer      primary key  -- 1-based
    status       varchar(16)  not null
    code         varchar(8)
    reported_at  utc_time     not null
    """,
)

# Alert groups as the on-call loop sees them: one row per (source, route, group key), reopened
# when a resolved group fires again (`episode` counts the openings, so the escalation steps and
# the acknowledgement of one episode never carry over to the next). `state` is
# `smsbot.store.alert_groups.GroupState`.
alert_groups = Table(
    "smsbot_alert_groups",
    """
    id              varchar(32)   primary key
    source          varchar(32)   not null
    route           varchar(200)  not null
    group_key       varchar(300)  not null
    labels          json          not null     -- the group's labels: a silence's matchers
    -- the newest alert SMS's text (no number in it), for Slack
    summary         text
    state           varchar(16)   not null
    episode         integer       not null
    opened_at       utc_time      not null
    updated_at      utc_time      not null
    acked_by        varchar(200)               -- the person's name
    acked_via       varchar(16)                -- sms, slack
    acked_at        utc_time
    ack_until       utc_time                   -- None: the acknowledgement stands until resolved
    silence_id      varchar(64)                -- the Alertmanager silence smsbot made
    silenced_until  utc_time
    mirror_channel  varchar(64)
    -- the group's mirror message; its events in its thread
    mirror_ts       varchar(32)
    """,
)

# The phones that got a group's SMS, each with the code its SMS showed (`1a`, `2s`): the lowest
# number free among that phone's open groups.
alert_phones = Table(
    "smsbot_alert_phones",
    """
    group_id     varchar(32)   primary key
    phone        varchar(20)   primary key
    code         integer       not null
    notified_at  utc_time      not null
    -- the person, when the number came from their Slack profile
    name         varchar(200)
    -- the newest SMS of the group to the phone: its delivery
    send_id      varchar(32)
    """,
)

# Escalation steps: durable timers, one row per step of one episode of a group. `step_state` is
# pending, firing (taken by a replica until `lease_until`), fired or cancelled.
escalations = Table(
    "smsbot_escalations",
    """
    group_id     varchar(32)  primary key
    episode      integer      primary key
    step         integer      primary key  -- 0-based, as in the route's `escalate`
    due_at       utc_time     not null
    step_state   varchar(16)  not null
    lease_until  utc_time
    fired_at     utc_time
    """,
)

# One row per SMS a phone sent to the reply number (KPN's inbound webhook), stored once per
# KPN message_id, and what became of it (`smsbot.store.records.InboundOutcome`).
inbound = Table(
    "smsbot_inbound",
    """
    id             varchar(32)   primary key
    message_id     varchar(256)  not null unique
    received_at    utc_time      not null
    updated_at     utc_time      not null
    sent_at        utc_time                       -- KPN's timestamp_utc
    sender         varchar(64)   not null         -- the phone, E.164 when it is a number
    recipient      varchar(64)   not null         -- the virtual number it was sent to
    text_length    integer       not null
    text           text                           -- only with SMSBOT_AUDIT__STORE_TEXT
    outcome        varchar(16)   not null
    handler        varchar(32)                    -- the reply handler that took it
    conversation   varchar(32)                    -- the smsbot_sends id whose thread it went to
    slack_channel  varchar(64)
    -- the thread it was posted in (the conversation's ts)
    slack_ts       varchar(32)
    """,
)

# What people did to alert groups, with who did it: the on-call loop's audit (one row per
# acknowledgement, silence, lift), written in the same transaction as the change itself.
alert_events = Table(
    "smsbot_alert_events",
    """
    id        varchar(32)   primary key
    group_id  varchar(32)   not null
    episode   integer       not null
    at        utc_time      not null
    actor     varchar(200)  not null     -- a Slack user id, or a masked number
    via       varchar(16)   not null     -- sms, slack
    action    varchar(16)   not null     -- acknowledged, silenced, unsilenced
    detail    text                       -- e.g. the silence's end
    """,
)


TABLES = (
    schema_version,
    sends,
    claims,
    deliveries,
    alert_groups,
    alert_phones,
    escalations,
    inbound,
    alert_events,
)
