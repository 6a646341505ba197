"""Alert groups as stored state, the phones (with their codes) that got each group's SMS, and
the escalation steps as durable timers (see `Store.observe_group` and the methods after it).

Every transition reads the group's row locked (PostgreSQL: `FOR UPDATE`; SQLite: its one
writer), computes the new state in Python and writes it back in one statement, in the same
transaction as what goes with it (escalation steps armed or cancelled, codes freed). So two
replicas acting on one group (an HA pair's two notifications, an SMS reply and a Slack click)
act one after the other, each on the state the other left.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, TypeVar

from smsbot.store.schema import alert_groups
from smsbot.store.writes import Defaults, TakeLeased, Transaction, first

_R = TypeVar("_R")

# Alertmanager's and Grafana's group keys have no length limit (`group_by: ['...']` puts every
# label of the alert in it); the column has one, which PostgreSQL enforces and SQLite does not.
# A longer key is kept as its head and a digest (`Column.fitted`): it still names one group.
_GROUP_KEY = alert_groups.c.group_key


async def shorten_long_group_keys(tx: Transaction) -> None:
    """Store as `Column.fitted` says the keys that an earlier release stored whole: only
    SQLite could (PostgreSQL refused them), and without this their open groups would never hear
    of their alerts again, yet keep their phones' codes and escalation steps."""
    rows = await tx.fetch(
        f"SELECT id, group_key FROM {alert_groups.name} "
        f"WHERE length(group_key) > {_GROUP_KEY.type.length}",
        {},
    )
    for row in rows:
        await tx.execute(
            f"UPDATE {alert_groups.name} SET group_key = :group_key WHERE id = :id",
            {"id": row["id"], "group_key": _GROUP_KEY.fitted(row["group_key"])},
        )


class GroupState(StrEnum):
    FIRING = "firing"
    ACKNOWLEDGED = "acknowledged"
    SILENCED = "silenced"
    RESOLVED = "resolved"


class StepState(StrEnum):
    PENDING = "pending"
    FIRING = "firing"  # taken by one replica, until its lease ends
    FIRED = "fired"
    CANCELLED = "cancelled"


def _from_row(cls: type[_R], row: Mapping[str, Any], **convert: Callable[[Any], Any]) -> _R:
    """The record of type `cls` from a row of the columns named as its fields; `convert`
    turns a column's stored value into the field's type (an enum, a dict)."""
    values = {f.name: row[f.name] for f in fields(cls)}  # type: ignore[arg-type]  # a dataclass
    for name, to_field in convert.items():
        values[name] = to_field(values[name])
    return cls(**values)


@dataclass(frozen=True)
class AlertGroupRecord:
    """A row of `smsbot_alert_groups`, field for column. Only ever read from a row (a new
    group is inserted as one, `ObserveGroup`), so no field has a default."""

    id: str
    source: str
    route: str
    group_key: str
    labels: Mapping[str, str]
    summary: str | None
    state: GroupState
    episode: int
    opened_at: datetime
    updated_at: datetime
    acked_by: str | None
    acked_via: str | None
    acked_at: datetime | None
    ack_until: datetime | None
    silence_id: str | None
    silenced_until: datetime | None
    mirror_channel: str | None
    mirror_ts: str | None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> AlertGroupRecord:
        return _from_row(cls, row, state=GroupState, labels=lambda labels: dict(labels or {}))

    def row(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @property
    def is_open(self) -> bool:
        return self.state is not GroupState.RESOLVED

    def acknowledged_at(self, now: datetime) -> bool:
        """Whether an acknowledgement stands at `now` (it may have a time limit)."""
        return self.acked_at is not None and (self.ack_until is None or now < self.ack_until)


@dataclass(frozen=True)
class EscalationStep:
    group_id: str
    episode: int
    step: int
    due_at: datetime
    step_state: StepState
    lease_until: datetime | None
    fired_at: datetime | None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> EscalationStep:
        return _from_row(cls, row, step_state=StepState)


@dataclass(frozen=True)
class GroupAction:
    """One person's action on a group, as audited: `actor` a Slack user id or a masked
    number, `via` sms or slack, `action` acknowledged, silenced or unsilenced."""

    actor: str
    via: str
    action: str
    detail: str | None = None
    at: datetime | None = None  # set by the store
    episode: int | None = None  # set by the store

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> GroupAction:
        return _from_row(cls, row)


@dataclass(frozen=True)
class PagedPhone:
    """A phone paged for a group: its code, whose it is, and what became of its newest SMS
    of the group (`outcome`, and `delivery` once KPN reported)."""

    phone: str
    code: int
    name: str | None
    outcome: str | None
    delivery: str | None


@dataclass(frozen=True)
class Observed:
    """What an alert notification did to its group: `opened` when this notification began
    a new episode (the first firing, or firing again after resolved)."""

    group: AlertGroupRecord
    opened: bool = False
    resolved: bool = False


async def _locked(tx: Transaction, group_id: str) -> AlertGroupRecord | None:
    found = await first(tx, tx.sql.alerts.by_id_locked, {"id": group_id})
    return AlertGroupRecord.from_row(found) if found is not None else None


async def _save(tx: Transaction, group: AlertGroupRecord, now: datetime) -> AlertGroupRecord:
    [row] = await tx.fetch(tx.sql.alerts.update, group.row() | {"now": now})
    return AlertGroupRecord.from_row(row)


async def _arm(tx: Transaction, group: AlertGroupRecord, steps: Sequence[timedelta]) -> None:
    for n, after in enumerate(steps):
        step = {
            "group_id": group.id,
            "episode": group.episode,
            "step": n,
            "due_at": group.opened_at + after,
            "step_state": StepState.PENDING,
            "lease_until": None,
            "fired_at": None,
        }
        await tx.execute(tx.sql.alerts.add_step, step)


def _cleared(group: AlertGroupRecord) -> AlertGroupRecord:
    return replace(
        group,
        acked_by=None,
        acked_via=None,
        acked_at=None,
        ack_until=None,
        silence_id=None,
        silenced_until=None,
    )


@dataclass
class ObserveGroup(Defaults):
    """See `Store.observe_group`."""

    source: str
    route: str
    group_key: str
    labels: Mapping[str, str]
    firing: bool
    steps: Sequence[timedelta]
    mirror_channel: str | None
    now: datetime
    several_statements = True

    async def run(self, tx: Transaction) -> Observed | None:
        group_key = _GROUP_KEY.fitted(self.group_key)
        key = {"source": self.source, "route": self.route, "group_key": group_key}
        found = await first(tx, tx.sql.alerts.by_key_locked, key)
        if found is None:
            if not self.firing:
                return None  # resolved before smsbot ever saw it fire: nothing to track
            # A new group's row: every column, None for what has not happened to it yet.
            new = dict.fromkeys(alert_groups.c.keys()) | {
                "id": secrets.token_hex(16),
                "source": self.source,
                "route": self.route,
                "group_key": group_key,
                "labels": dict(self.labels),
                "state": GroupState.FIRING,
                "episode": 1,
                "opened_at": self.now,
                "updated_at": self.now,
                "mirror_channel": self.mirror_channel,
            }
            inserted = await first(tx, tx.sql.alerts.insert, new)
            if inserted is not None:
                group = AlertGroupRecord.from_row(inserted)
                await _arm(tx, group, self.steps)
                return Observed(group, opened=True)
            # Another replica inserted it meanwhile: act on its row.
            found = await first(tx, tx.sql.alerts.by_key_locked, key)
            assert found is not None
        group = AlertGroupRecord.from_row(found)
        if not self.firing:
            if not group.is_open:
                return Observed(group)
            await tx.execute(tx.sql.alerts.cancel_steps, {"group_id": group.id})
            await tx.execute(tx.sql.alerts.forget_phones, {"group_id": group.id})
            resolved = replace(group, state=GroupState.RESOLVED)
            return Observed(await _save(tx, resolved, self.now), resolved=True)
        if group.is_open:
            changed = replace(group, labels=dict(self.labels))
            lapsed = group.silenced_until is not None and group.silenced_until <= self.now
            if group.state is GroupState.SILENCED and lapsed:
                # Alertmanager notifies again because smsbot's silence ended: so does the state.
                state = GroupState.ACKNOWLEDGED if group.acked_at else GroupState.FIRING
                changed = replace(changed, state=state, silence_id=None, silenced_until=None)
            if changed != group:
                group = await _save(tx, changed, self.now)
            return Observed(group)
        reopened = replace(
            _cleared(group),
            labels=dict(self.labels),
            state=GroupState.FIRING,
            episode=group.episode + 1,
            opened_at=self.now,
            mirror_channel=self.mirror_channel,
            mirror_ts=None,
            summary=None,
        )
        group = await _save(tx, reopened, self.now)
        await _arm(tx, group, self.steps)
        return Observed(group, opened=True)


@dataclass
class AssignCode(Defaults):
    """See `Store.assign_code`."""

    group_id: str
    phone: str
    now: datetime
    name: str | None = None
    several_statements = True

    def __post_init__(self) -> None:
        # One phone's codes are chosen one at a time across replicas (PostgreSQL).
        self.subjects = (f"smsbot:alert-codes:{self.phone}",)

    async def run(self, tx: Transaction) -> int:
        params = {"group_id": self.group_id, "phone": self.phone}
        held = await first(tx, tx.sql.alerts.code_of, params)
        if held is not None:
            touched = params | {"notified_at": self.now, "name": self.name}
            await tx.execute(tx.sql.alerts.touch_phone, touched)
            return int(held["code"])
        taken = {int(r["code"]) for r in await tx.fetch(tx.sql.alerts.codes_taken, params)}
        code = 1
        while code in taken:
            code += 1
        row = {"code": code, "notified_at": self.now, "name": self.name, "send_id": None}
        await tx.execute(tx.sql.alerts.add_phone, params | row)
        return code


@dataclass
class NoteSend(Defaults):
    group_id: str
    phone: str
    send_id: str

    async def run(self, tx: Transaction) -> None:
        await tx.execute(tx.sql.alerts.note_send, self.field_params())


@dataclass
class ChangeGroup(Defaults):
    """A person's action on a group (acknowledge, silence, lift the silence) or smsbot's own
    note on it (summary, mirror message): `changes` applied to the locked row. Acknowledging
    or silencing cancels the episode's pending escalation steps in the same transaction.
    None when the group is gone; the row unchanged when it is resolved (too late to act)."""

    group_id: str
    changes: Mapping[str, Any]
    now: datetime
    stops_escalation: bool = False
    only_open: bool = True
    audit: GroupAction | None = None  # recorded with the change, in its transaction
    several_statements = True

    async def run(self, tx: Transaction) -> AlertGroupRecord | None:
        group = await _locked(tx, self.group_id)
        if group is None or (self.only_open and not group.is_open):
            return group
        if self.stops_escalation:
            await tx.execute(tx.sql.alerts.cancel_steps, {"group_id": group.id})
        if self.audit is not None:
            event = replace(self.audit, at=self.now, episode=group.episode)
            row = {f.name: getattr(event, f.name) for f in fields(event)}
            await tx.execute(
                tx.sql.alerts.add_event,
                row | {"id": secrets.token_hex(16), "group_id": group.id},
            )
        return await _save(tx, replace(group, **self.changes), self.now)


@dataclass
class ClaimMirror(Defaults):
    """See `Store.claim_mirror`."""

    group_id: str
    channel: str
    ts: str
    now: datetime
    several_statements = True

    async def run(self, tx: Transaction) -> tuple[str, str] | None:
        group = await _locked(tx, self.group_id)
        if group is None:
            return None
        if group.mirror_ts and group.mirror_channel:
            return group.mirror_channel, group.mirror_ts
        changed = replace(group, mirror_channel=self.channel, mirror_ts=self.ts)
        await _save(tx, changed, self.now)
        return self.channel, self.ts


class TakeSteps(TakeLeased):
    """See `Store.take_due_steps`."""

    async def run(self, tx: Transaction) -> list[EscalationStep]:
        steps = map(EscalationStep.from_row, await self.taken_rows(tx, tx.sql.alerts.take_steps))
        return sorted(steps, key=lambda s: s.due_at)


@dataclass
class FinishStep(Defaults):
    step: EscalationStep
    outcome: StepState
    now: datetime

    async def run(self, tx: Transaction) -> bool:
        params = {
            "group_id": self.step.group_id,
            "episode": self.step.episode,
            "step": self.step.step,
            "step_state": self.outcome,
            "now": self.now,
        }
        return await tx.execute(tx.sql.alerts.finish_step, params) > 0
