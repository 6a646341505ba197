"""Every statement the store runs, each written once, its batched form (PostgreSQL) beside it.

Statements are SQL text with `:name` parameters (each backend maps them to its driver's
placeholders). Column lists come from `smsbot.store.schema`, so a new column is inserted,
returned and read without an edit here. What differs between the engines is small and named in
`Dialect`: PostgreSQL wants the type of a parameter that is not compared with or stored in a
column (`CAST(:x AS type)`), and has row locks (`FOR UPDATE`, `SKIP LOCKED`); SQLite needs
neither, as its one writer holds the whole database.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from smsbot.sms.request import Outcome, Surface
from smsbot.store.records import COUNTED_OUTCOMES
from smsbot.store.schema import (
    Column,
    Table,
    alert_events,
    alert_groups,
    alert_phones,
    deliveries,
    escalations,
    inbound,
    sends,
)

# What tells two caps' SQL apart: the column counted and the surfaces counted (values vary).
CapShape = tuple[str, frozenset[Surface] | None]


@dataclass(frozen=True)
class Dialect:
    name: str
    typed_parameters: bool  # `CAST(:x AS type)` where a parameter's type is not implied
    row_locks: bool  # SELECT ... FOR UPDATE [SKIP LOCKED]
    # Run first in the transaction that upgrades the schema, so that replicas starting together
    # upgrade one after the other (SQLite: none needed, its BEGIN IMMEDIATE already locks).
    migration_lock: str = ""

    def typed(self, name: str, column: Column, *, array: bool = False) -> str:
        if not self.typed_parameters:
            return f":{name}"
        return f"CAST(:{name} AS {column.type.parameter(self.name)}{'[]' if array else ''})"

    def json_text(self, column: str, key: str) -> str:
        """The text of `key` in the JSON object in `column` (our own constant names only)."""
        if self.name == "postgresql":
            return f"({column}->>'{key}')"
        return f"json_extract({column}, '$.{key}')"

    def lock(self, *, skip_locked: bool = False) -> str:
        if not self.row_locks:
            return ""
        return " FOR UPDATE SKIP LOCKED" if skip_locked else " FOR UPDATE"


SQLITE = Dialect("sqlite", typed_parameters=False, row_locks=False)
POSTGRES = Dialect(
    "postgresql",
    typed_parameters=True,
    row_locks=True,
    # An advisory lock held until commit; any fixed key that no other advisory lock uses.
    migration_lock=f"SELECT pg_advisory_xact_lock({0x5_35_42_07})",
)


def _names(table: Table, prefix: str = "") -> str:
    return ", ".join(prefix + column.name for column in table.c)


def _in(values: Iterable[str]) -> str:
    """Our own constants as SQL literals (never values from outside)."""
    return "(" + ", ".join(f"'{value}'" for value in values) + ")"


SENDS = _names(sends)
INBOUND = _names(inbound)
# What a reply can thread with: SMS that went out, or may have (KPN took it, no answer came).
WENT_OUT = _in((Outcome.SENT, Outcome.UNKNOWN, Outcome.SENDING))
PENDING = _in((Outcome.QUEUED, Outcome.SENDING))
BEING_SENT = _in((Outcome.SENDING, Outcome.UNKNOWN))


class Sql:
    """The statements of one store: its engine's dialect, and whether it keeps texts."""

    def __init__(self, dialect: Dialect, *, store_text: bool) -> None:
        self.dialect = dialect
        self.store_text = store_text
        self._capped: dict[tuple[CapShape, ...], str] = {}
        self._capped_many: dict[tuple[CapShape, ...], str] = {}
        self._counted: dict[CapShape, str] = {}
        # Text is kept while a request waits in the outbox, and while an alert SMS's repeat is
        # owed (its send ended `unknown`); afterwards only on request.
        self._erase_text = "" if store_text else ", text = NULL"
        owed = "resend_at IS NOT NULL"
        self._erase_unless_owed = (
            "" if store_text else f", text = CASE WHEN {owed} THEN text ELSE NULL END"
        )

        self.by_key = f"SELECT {SENDS} FROM smsbot_sends WHERE idempotency_key = :key"
        self.by_id = f"SELECT {SENDS} FROM smsbot_sends WHERE id = :rid"
        self.by_id_locked = self.by_id + dialect.lock()
        self.insert = (
            f"INSERT INTO smsbot_sends ({SENDS}) VALUES ({_names(sends, ':')}) "
            f"ON CONFLICT (idempotency_key) DO NOTHING RETURNING {SENDS}"
        )

        # finish: one row's final outcome; finish_many: several rows' (PostgreSQL, arrays).
        self.finish = (
            f"UPDATE smsbot_sends SET {self._finished(':')} "
            f"WHERE id = :rid AND outcome IN {BEING_SENT} RETURNING {SENDS}"
        )
        finish_params = ("rid", "outcome", "document_id", "error", "rule", "retry_at", "now")
        columns = ("id", "outcome", "document_id", "error", "rule", "retry_at", "updated_at")
        arrays = [
            dialect.typed(f"{name}s", sends.c[column], array=True)
            for name, column in zip(finish_params, columns, strict=True)
        ]
        arrays.append(dialect.typed("extra_attemptss", sends.c.attempts, array=True))
        self.finish_many = (
            f"UPDATE smsbot_sends AS s SET {self._finished('v.')} "
            f"FROM unnest({', '.join(arrays)}) "
            f"AS v({', '.join(finish_params)}, extra_attempts) "
            f"WHERE s.id = v.rid AND s.outcome IN {BEING_SENT} RETURNING {_names(sends, 's.')}"
        )

        # The outbox: due queued rows become `sending`, each taken by one worker; as a
        # materialized CTE, so PostgreSQL runs the selection once and takes at most `limit`.
        self.take_due = (
            "WITH due AS MATERIALIZED (SELECT id FROM smsbot_sends WHERE outcome = 'queued' "
            "AND (not_before IS NULL OR not_before <= :now) ORDER BY created_at LIMIT :limit"
            f"{dialect.lock(skip_locked=True)}) "
            "UPDATE smsbot_sends SET outcome = 'sending', attempts = attempts + 1, "
            "updated_at = :now WHERE id IN (SELECT id FROM due) AND outcome = 'queued' "
            f"RETURNING {SENDS}"
        )
        self.requeue = (
            "UPDATE smsbot_sends SET outcome = 'queued', not_before = :not_before, "
            "error = :error, updated_at = :now WHERE id = :rid AND outcome = 'sending' "
            "RETURNING id"
        )
        self.expire_stale = (
            "UPDATE smsbot_sends SET outcome = 'unknown', error = :error, "
            f"updated_at = :now{self._erase_unless_owed} "
            f"WHERE outcome = 'sending' AND updated_at < :older_than RETURNING {SENDS}"
        )

        # Retention: finished history older than `before`, its delivery parts, expired claims.
        old = f"created_at < :before AND outcome NOT IN {PENDING}"
        self.purge_parts = (
            "DELETE FROM smsbot_deliveries "
            f"WHERE send_id IN (SELECT id FROM smsbot_sends WHERE {old})"
        )
        self.purge_sends = f"DELETE FROM smsbot_sends WHERE {old}"
        self.purge_claims = "DELETE FROM smsbot_claims WHERE expires_at <= :now"
        self.purge_inbound = "DELETE FROM smsbot_inbound WHERE received_at < :before"

        # A dedup claim: inserted, or taken over once expired; a row comes back when won.
        self.claim = (
            "INSERT INTO smsbot_claims (key, expires_at) VALUES (:key, :expires_at) "
            "ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at "
            "WHERE smsbot_claims.expires_at <= :now RETURNING key"
        )

        # Delivery reports: the parts of one SMS, one part's newest state, the SMS's state.
        self.parts_of = f"SELECT {_names(deliveries)} FROM smsbot_deliveries WHERE send_id = :rid"
        self.save_part = (
            f"INSERT INTO smsbot_deliveries ({_names(deliveries)}) "
            f"VALUES ({_names(deliveries, ':')}) ON CONFLICT (send_id, part) DO UPDATE SET "
            + ", ".join(f"{c.name} = excluded.{c.name}" for c in deliveries.c if not c.primary_key)
        )
        # A report proves the SMS went out: no repeat is owed any more.
        self.set_delivery = (
            "UPDATE smsbot_sends SET delivery = :delivery, delivered_at = :delivered_at, "
            "delivery_code = :delivery_code, outcome = :outcome, error = :error, "
            f"updated_at = :now, resend_at = NULL{self._erase_text} "
            f"WHERE id = :rid RETURNING {SENDS}"
        )

        # Repeats of alert SMS whose send stays `unknown` with no report: due ones taken by
        # one replica (row locks others skip), for a lease (`resend_at` moves on: a taker that
        # dies leaves it due again); a repeat recorded, none is owed any more.
        owed = "resend_at <= :now AND outcome = 'unknown' AND delivery IS NULL"
        self.take_resends = (
            f"WITH due AS MATERIALIZED (SELECT id FROM smsbot_sends WHERE {owed} "
            f"ORDER BY resend_at LIMIT :limit{dialect.lock(skip_locked=True)}) "
            "UPDATE smsbot_sends SET resend_at = :lease_until "
            f"WHERE id IN (SELECT id FROM due) AND {owed} RETURNING {SENDS}"
        )
        self.finish_resend = (
            f"UPDATE smsbot_sends SET resend_at = NULL{self._erase_text} WHERE id = :rid"
        )

        # Two-way SMS: the Slack message an SMS is discussed under; the SMS phones send to
        # the reply number, stored once per KPN message_id; a phone's recent ones (its rate
        # limit: those not already over it); what became of one.
        self.set_conversation = (
            "UPDATE smsbot_sends SET slack_channel = :slack_channel, slack_ts = :slack_ts "
            "WHERE id = :rid RETURNING id"
        )
        self.insert_inbound = (
            f"INSERT INTO smsbot_inbound ({INBOUND}) VALUES ({_names(inbound, ':')}) "
            f"ON CONFLICT (message_id) DO NOTHING RETURNING {INBOUND}"
        )
        self.inbound_by_message_id = (
            f"SELECT {INBOUND} FROM smsbot_inbound WHERE message_id = :message_id"
        )
        self.inbound_by_id = f"SELECT {INBOUND} FROM smsbot_inbound WHERE id = :rid"
        self.resume_inbound = (
            "UPDATE smsbot_inbound SET updated_at = :now WHERE id = :rid "
            f"AND outcome = 'received' AND updated_at < :stale_before RETURNING {INBOUND}"
        )
        self.inbound_counted = (
            "SELECT count(*) AS n FROM smsbot_inbound WHERE sender = :sender "
            "AND received_at >= :since AND outcome <> 'limited'"
        )
        self.finish_inbound = (
            "UPDATE smsbot_inbound SET outcome = :outcome, handler = :handler, "
            "conversation = :conversation, slack_channel = :slack_channel, "
            f"slack_ts = :slack_ts, updated_at = :now WHERE id = :rid RETURNING {INBOUND}"
        )

        # PostgreSQL: the advisory locks of a group's actors and recipients, taken in the
        # order given (sorted by the caller), in one round trip.
        self.lock_subjects = (
            "SELECT count(pg_advisory_xact_lock(hashtextextended(u.s, 0))) FROM "
            "(SELECT s FROM unnest(CAST(:subjects AS text[])) WITH ORDINALITY AS t(s, n) "
            "ORDER BY n) AS u"
        )
        self.ping = "SELECT 1 AS ok"
        self.alerts = AlertGroupSql(dialect)

    def _finished(self, ref: str) -> str:
        """The SET list of `finish`, its values from parameters (`:`) or an unnest row (`v.`)."""
        return (
            f"outcome = {ref}outcome, document_id = {ref}document_id, error = {ref}error, "
            f"rule = {ref}rule, retry_at = {ref}retry_at, updated_at = {ref}now, "
            f"attempts = attempts + {ref}extra_attempts, {self._owed_after(ref)}"
        )

    def _owed_after(self, ref: str) -> str:
        """`finish`'s SET of `resend_at` (and the text): an alert SMS's repeat stays owed only
        when its send ended `unknown`, and its text is kept only while one is (the repeat
        sends it). Every SET sees the row as it was, so the text's test reads the new
        outcome from the parameter."""
        # PostgreSQL deduces one type per parameter: the column's, as where it is stored.
        outcome = self.dialect.typed("outcome", sends.c.outcome) if ref == ":" else f"{ref}outcome"
        unknown = f"{outcome} = '{Outcome.UNKNOWN}'"
        owed = f"CASE WHEN {unknown} THEN resend_at ELSE NULL END"
        if self.store_text:
            return f"resend_at = {owed}"
        return (
            f"resend_at = {owed}, "
            f"text = CASE WHEN {unknown} AND resend_at IS NOT NULL THEN text ELSE NULL END"
        )

    # -- admits under caps -----------------------------------------------------------------

    def _room(self, shapes: Sequence[CapShape], ref: Callable[[str], str]) -> str:
        """True while none of the caps is reached (`ref` renders a cap's parameter)."""
        return (
            " AND ".join(
                f"NOT EXISTS ({self._nth_counted(shape, lambda part, n=n: ref(f'cap{n}_{part}'))})"
                for n, shape in enumerate(shapes)
            )
            or "1 = 1"
        )

    @staticmethod
    def _nth_counted(shape: CapShape, ref: Callable[[str], str]) -> str:
        """The `offset + 1`-th newest counted send of one subject since `since`."""
        column, surfaces = shape
        where = [
            f"c.{column} = {ref('value')}",
            f"c.created_at >= {ref('since')}",
            f"c.outcome IN {_in(COUNTED_OUTCOMES)}",
        ]
        if surfaces is not None:
            where.append(f"c.surface IN {_in(sorted(surfaces))}")
        return (
            f"SELECT c.created_at FROM smsbot_sends AS c WHERE {' AND '.join(where)} "
            f"ORDER BY c.created_at DESC LIMIT 1 OFFSET {ref('offset')}"
        )

    def counted(self, shape: CapShape) -> str:
        """A cap's `maximum`-th newest counted send (parameters `cap0_value`, ...)."""
        if shape not in self._counted:
            self._counted[shape] = self._nth_counted(shape, lambda part: f":cap0_{part}")
        return self._counted[shape]

    def capped_insert(self, shapes: tuple[CapShape, ...]) -> str:
        """Insert the row unless its key is known or one of the caps is reached."""
        if shapes not in self._capped:
            row = ", ".join(self.dialect.typed(c.name, c) for c in sends.c)
            room = self._room(shapes, lambda name: f":{name}")
            self._capped[shapes] = (
                f"INSERT INTO smsbot_sends ({SENDS}) SELECT {row} WHERE {room} "
                f"ON CONFLICT (idempotency_key) DO NOTHING RETURNING {SENDS}"
            )
        return self._capped[shapes]

    def capped_insert_many(self, shapes: tuple[CapShape, ...]) -> str:
        """PostgreSQL: `capped_insert` for many rows, every parameter an array with an element
        per row; rows whose caps are reached, or whose key is known, are not returned."""
        if shapes not in self._capped_many:
            arrays = [self.dialect.typed(c.name, c, array=True) for c in sends.c]
            names = [c.name for c in sends.c]
            for n in range(len(shapes)):
                arrays += [
                    self.dialect.typed(f"cap{n}_value", sends.c.actor, array=True),
                    self.dialect.typed(f"cap{n}_since", sends.c.created_at, array=True),
                    self.dialect.typed(f"cap{n}_offset", sends.c.attempts, array=True),
                ]
                names += [f"cap{n}_value", f"cap{n}_since", f"cap{n}_offset"]
            room = self._room(shapes, lambda name: f"v.{name}")
            self._capped_many[shapes] = (
                f"INSERT INTO smsbot_sends ({SENDS}) SELECT {_names(sends, 'v.')} "
                f"FROM unnest({', '.join(arrays)}) AS v({', '.join(names)}) WHERE {room} "
                f"ON CONFLICT (idempotency_key) DO NOTHING RETURNING {SENDS}"
            )
        return self._capped_many[shapes]


# -- reads (filters vary, so they are built per call; their parameters are still bound) ------


def recent(*, actor: bool) -> str:
    where = "WHERE actor = :actor " if actor else ""
    return f"SELECT {SENDS} FROM smsbot_sends {where}ORDER BY created_at DESC, id LIMIT :limit"


def count_recent(equal: Iterable[str], within: dict[str, int]) -> str:
    """How many rows since `:since` have each column of `equal` equal to its parameter and
    each column of `within` among `count` parameters `:{column}0`, `:{column}1`, ..."""
    where = ["created_at >= :since", *(f"{column} = :{column}" for column in equal)]
    for column, count in within.items():
        names = ", ".join(f":{column}{n}" for n in range(count))
        where.append(f"{column} IN ({names})" if count else "1 = 0")
    return f"SELECT count(*) AS n FROM smsbot_sends WHERE {' AND '.join(where)}"


def recent_inbound() -> str:
    return f"SELECT {INBOUND} FROM smsbot_inbound ORDER BY received_at DESC, id LIMIT :limit"


# The newest SMS that went out to `:phone` from `:sender` since `:since`: the conversation a
# reply from that phone belongs to.
CONVERSATION = (
    f"SELECT {SENDS} FROM smsbot_sends WHERE recipient = :phone AND sender = :sender "
    f"AND created_at >= :since AND outcome IN {WENT_OUT} ORDER BY created_at DESC, id LIMIT 1"
)


# The outbox now: rows queued and sending, and the oldest queued one's time.
OUTBOX = (
    "SELECT outcome, count(*) AS n, min(created_at) AS created_at FROM smsbot_sends "
    f"WHERE outcome IN {PENDING} GROUP BY outcome"
)


def held_by_status(dialect: Dialect, surfaces: int) -> str:
    """Refusals of `:rule` to `:to` since `:since`, counted per the `status` their `reply`
    records (an alert notification's: firing or resolved)."""
    names = ", ".join(f":surface{n}" for n in range(surfaces)) or "NULL"
    status = dialect.json_text("reply", "status")
    return (
        f"SELECT {status} AS status, count(*) AS n FROM smsbot_sends "
        "WHERE created_at >= :since AND recipient = :to AND outcome = 'refused' "
        f"AND rule = :rule AND surface IN ({names}) GROUP BY {status}"
    )


def held_back(surfaces: int) -> str:
    """Refusals of `:rule` since `:since`, grouped per number, actor and surface."""
    names = ", ".join(f":surface{n}" for n in range(surfaces)) or "NULL"
    return (
        "SELECT recipient, actor, surface, min(created_at) AS created_at, "
        "max(retry_at) AS retry_at FROM smsbot_sends WHERE created_at >= :since "
        f"AND outcome = 'refused' AND rule = :rule AND surface IN ({names}) "
        "AND recipient IS NOT NULL GROUP BY recipient, actor, surface ORDER BY min(created_at)"
    )


# -- alert groups, the phones that got them, escalation steps --------------------------------

GROUPS = _names(alert_groups)
STEPS = _names(escalations)
OPEN_GROUP = "state <> 'resolved'"


class AlertGroupSql:
    """The statements of `smsbot.store.alert_groups`."""

    def __init__(self, dialect: Dialect) -> None:
        by_key = "source = :source AND route = :route AND group_key = :group_key"
        self.by_key_locked = (
            f"SELECT {GROUPS} FROM smsbot_alert_groups WHERE {by_key}{dialect.lock()}"
        )
        self.by_id = f"SELECT {GROUPS} FROM smsbot_alert_groups WHERE id = :id"
        self.by_id_locked = self.by_id + dialect.lock()
        self.insert = (
            f"INSERT INTO smsbot_alert_groups ({GROUPS}) VALUES ({_names(alert_groups, ':')}) "
            f"ON CONFLICT (source, route, group_key) DO NOTHING RETURNING {GROUPS}"
        )
        # Every transition writes the whole mutable state, computed from the locked row.
        mutable = [
            c.name
            for c in alert_groups.c
            if c.name not in ("id", "source", "route", "group_key", "opened_at", "updated_at")
        ]
        self.update = (
            "UPDATE smsbot_alert_groups SET "
            + ", ".join(f"{name} = :{name}" for name in mutable)
            + ", opened_at = :opened_at, updated_at = :now "
            f"WHERE id = :id RETURNING {GROUPS}"
        )

        self.code_of = (
            "SELECT code FROM smsbot_alert_phones WHERE group_id = :group_id AND phone = :phone"
        )
        self.codes_taken = (
            "SELECT p.code FROM smsbot_alert_phones AS p JOIN smsbot_alert_groups AS g "
            f"ON g.id = p.group_id WHERE p.phone = :phone AND g.{OPEN_GROUP}"
        )
        self.add_phone = (
            f"INSERT INTO smsbot_alert_phones ({_names(alert_phones)}) "
            f"VALUES ({_names(alert_phones, ':')})"
        )
        self.touch_phone = (
            "UPDATE smsbot_alert_phones SET notified_at = :notified_at, "
            "name = COALESCE(:name, name) WHERE group_id = :group_id AND phone = :phone"
        )
        self.note_send = (
            "UPDATE smsbot_alert_phones SET send_id = :send_id "
            "WHERE group_id = :group_id AND phone = :phone"
        )
        # The phones paged for a group, with the delivery of the newest SMS each one got.
        self.paged = (
            "SELECT p.phone, p.code, p.name, s.outcome, s.delivery FROM smsbot_alert_phones AS p "
            "LEFT JOIN smsbot_sends AS s ON s.id = p.send_id "
            "WHERE p.group_id = :group_id ORDER BY p.code"
        )
        self.name_of_phone = (
            "SELECT name FROM smsbot_alert_phones WHERE phone = :phone AND name IS NOT NULL "
            "ORDER BY notified_at DESC LIMIT 1"
        )
        self.phones_of = (
            "SELECT phone, code FROM smsbot_alert_phones WHERE group_id = :group_id ORDER BY code"
        )
        self.forget_phones = "DELETE FROM smsbot_alert_phones WHERE group_id = :group_id"
        # A phone's open groups, the one it was paged for last at the end.
        self.groups_of_phone = (
            f"SELECT p.code, {_names(alert_groups, 'g.')} FROM smsbot_alert_phones AS p "
            f"JOIN smsbot_alert_groups AS g ON g.id = p.group_id "
            f"WHERE p.phone = :phone AND g.{OPEN_GROUP} ORDER BY p.notified_at, p.code"
        )

        self.add_step = (
            f"INSERT INTO smsbot_escalations ({STEPS}) VALUES ({_names(escalations, ':')}) "
            "ON CONFLICT (group_id, episode, step) DO NOTHING"
        )
        self.cancel_steps = (
            "UPDATE smsbot_escalations SET step_state = 'cancelled' "
            "WHERE group_id = :group_id AND step_state IN ('pending', 'firing')"
        )
        # Due steps, and steps whose taker's lease ran out (it died before it finished them),
        # each taken by one replica: the rows are locked and others skip them.
        due = (
            "(step_state = 'pending' AND due_at <= :now) "
            "OR (step_state = 'firing' AND lease_until <= :now)"
        )
        self.take_steps = (
            "WITH due AS MATERIALIZED (SELECT group_id, episode, step FROM smsbot_escalations "
            f"WHERE {due} ORDER BY due_at LIMIT :limit{dialect.lock(skip_locked=True)}) "
            "UPDATE smsbot_escalations SET step_state = 'firing', lease_until = :lease_until "
            "WHERE (group_id, episode, step) IN (SELECT group_id, episode, step FROM due) "
            f"AND ({due}) RETURNING {STEPS}"
        )
        self.finish_step = (
            "UPDATE smsbot_escalations SET step_state = :step_state, fired_at = :now "
            "WHERE group_id = :group_id AND episode = :episode AND step = :step "
            "AND step_state = 'firing'"
        )
        self.add_event = (
            f"INSERT INTO smsbot_alert_events ({_names(alert_events)}) "
            f"VALUES ({_names(alert_events, ':')})"
        )
        self.events_of = (
            f"SELECT {_names(alert_events)} FROM smsbot_alert_events WHERE group_id = :group_id "
            "ORDER BY at, id"
        )
        # Retention: alert groups resolved before `before`, with their steps and actions;
        # steps and actions of open groups once older than that too. Open groups stay.
        resolved = (
            "SELECT id FROM smsbot_alert_groups WHERE state = 'resolved' AND updated_at < :before"
        )
        self.purge = (
            f"DELETE FROM smsbot_alert_events WHERE at < :before OR group_id IN ({resolved})",
            "DELETE FROM smsbot_escalations WHERE step_state IN ('fired', 'cancelled') "
            f"AND (due_at < :before OR group_id IN ({resolved}))",
            "DELETE FROM smsbot_alert_groups WHERE state = 'resolved' AND updated_at < :before",
        )
        self.steps_of = (
            f"SELECT {STEPS} FROM smsbot_escalations WHERE group_id = :group_id "
            "ORDER BY episode, step"
        )
