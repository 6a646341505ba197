"""The store: audit log, durable outbox and idempotency keys in one table, on SQLite or PostgreSQL.

`Store` is the API the rest of smsbot uses; it knows no engine. Each write is a typed value
(`smsbot.store.writes`) whose logic is written once; writes arriving together share one
transaction (group commit, `smsbot.store.group`), each caller still getting its own result
after the commit. The engine's specifics (connections, locks, batched statements, SQLite's
writer thread) live in one backend module per engine (`smsbot.store.backends`), the SQL in
`smsbot.store.sql`, value conversion in `smsbot.store.codec`. Every row is stamped by the clock
the store was given (`Store.open(url, clock=...)`; the real one by default).

Correctness across replicas rests on the database, not on in-process locks:

- the idempotency key is a UNIQUE column, and rows are inserted with `ON CONFLICT DO NOTHING`,
  so of two requests with the same key exactly one row is ever written;
- rate caps are counted and the row inserted in the same transaction, under a PostgreSQL
  advisory lock per actor / recipient (on SQLite, under the database write lock), so two replicas
  cannot both admit the 21st send of the hour;
- the outbox is taken with `WITH due AS MATERIALIZED (SELECT ... FOR UPDATE SKIP LOCKED)
  UPDATE ... SET outcome = 'sending'`, so each queued row is sent by one worker; a request its
  caller sends at once is stored as `sending` straight away;
- a dedup claim (`admit(..., claim=(key, ttl))`) is one upsert that only a first claimer, or
  one coming after the claim expired, wins; it commits with its row or not at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, overload

from smsbot.sms.request import Outcome, Surface
from smsbot.store import sql
from smsbot.store.alert_groups import (
    AlertGroupRecord,
    AssignCode,
    ChangeGroup,
    ClaimMirror,
    EscalationStep,
    FinishStep,
    GroupAction,
    NoteSend,
    Observed,
    ObserveGroup,
    PagedPhone,
    StepState,
    TakeSteps,
)
from smsbot.store.backends import Backend, open_backend
from smsbot.store.clock import Clock, utcnow
from smsbot.store.delivery import ApplyDelivery
from smsbot.store.group import GroupCommit
from smsbot.store.inbound import AdmitInbound, FinishInbound, SetConversation, inbound_row
from smsbot.store.records import (
    Admission,
    AuditRecord,
    Cap,
    DeliveryApplied,
    DeliveryReport,
    Disposition,
    HeldStorm,
    InboundAdmission,
    InboundRecord,
    NewInbound,
    NewRecord,
    OutboxState,
)
from smsbot.store.schema import sends
from smsbot.store.urls import EngineTarget, engine_target
from smsbot.store.writes import (
    Admit,
    Claim,
    ExpireStale,
    Finish,
    FinishResend,
    Purge,
    Requeue,
    TakeDue,
    TakeResends,
    new_row,
)

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

_DOCUMENT_ID = sends.c.document_id


class Store:
    """Open with `await Store.open(database_url)` (creates or upgrades the schema); `close()`."""

    def __init__(
        self,
        backend: Backend,
        target: EngineTarget,
        *,
        store_text: bool = False,
        clock: Clock = utcnow,
    ) -> None:
        self._backend = backend
        self._target = target
        self.clock = clock
        # Text is needed while a request waits in the outbox; afterwards it is personal data
        # kept only when the operator asked for it (SMSBOT_AUDIT__STORE_TEXT=true).
        self.store_text = store_text
        self._writes = GroupCommit(backend, parallel=backend.parallel)
        self._engine: AsyncEngine | None = None

    @classmethod
    async def open(
        cls,
        database_url: str,
        *,
        store_text: bool = False,
        pool_size: int = 10,
        clock: Clock = utcnow,
    ) -> Store:
        target = engine_target(database_url)
        backend = await open_backend(target, store_text=store_text, pool_size=pool_size)
        return cls(backend, target, store_text=store_text, clock=clock)

    async def close(self) -> None:
        await self._backend.close()
        if self._engine is not None:
            await self._engine.dispose()

    @property
    def engine(self) -> AsyncEngine:
        """A SQLAlchemy engine on the same database, made on first use, for tools and tests
        that look at the tables themselves (`smsbot.store.sqlalchemy_tables`). The store never
        uses it, and serving never imports SQLAlchemy."""
        if self._engine is None:
            from sqlalchemy.ext.asyncio import create_async_engine

            self._engine = create_async_engine(
                self._target.url.render(hide_password=False),
                connect_args=self._target.connect_args,
            )
        return self._engine

    async def ping(self) -> bool:
        """True when the database answers (for `/readyz`)."""
        try:
            await self._backend.fetch(self._backend.sql.ping, {})
        except Exception:
            return False
        return True

    # -- writing -------------------------------------------------------------------------------

    @overload
    async def admit(self, new: NewRecord, caps: Sequence[Cap] = ()) -> Admission: ...

    @overload
    async def admit(
        self, new: NewRecord, caps: Sequence[Cap] = (), *, claim: tuple[str, float] | None
    ) -> Admission | None: ...

    async def admit(
        self,
        new: NewRecord,
        caps: Sequence[Cap] = (),
        *,
        claim: tuple[str, float] | None = None,
    ) -> Admission | None:
        """Store `new` unless its idempotency key is already stored (then return that record,
        `duplicate=True`). A `queued` or `sending` request that would exceed one of `caps` is
        stored as `refused` instead, with the cap's message and when the next send is possible.
        With `claim=(key, ttl_seconds)`, the dedup claim `key` is taken for `ttl_seconds` in
        the same transaction first (atomically across replicas: Alertmanager HA pairs deliver
        each alert twice); when another caller holds it, nothing is stored and None is
        returned. Admits arriving together are committed together (`smsbot.store.group`)."""
        now = self.clock()
        capped = new.outcome in (Outcome.QUEUED, Outcome.SENDING)
        write = Admit(
            new_row(new, now, store_text=self.store_text),
            text=new.text,
            caps=tuple(caps) if capped else (),
            claim=Claim.for_seconds(*claim, now) if claim is not None else None,
            store_text=self.store_text,
        )
        result: Admission | None = await self._writes.run(write)
        return result

    async def take_due(self, limit: int) -> list[AuditRecord]:
        """Take up to `limit` due queued rows, oldest first, marking them `sending` (the
        outbox's work). Rows another replica is taking at the same moment are skipped, not
        waited for."""
        taken: list[AuditRecord] = await self._writes.run(TakeDue(limit, self.clock()))
        return taken

    async def finish(
        self,
        request_id: str,
        outcome: Outcome,
        *,
        document_id: str | None = None,
        error: str | None = None,
        rule: str | None = None,
        retry_at: datetime | None = None,
        extra_attempts: int = 0,
    ) -> AuditRecord:
        """Record the final outcome of a row that was being sent. A row that was already
        declared `unknown` (its send took longer than anyone waits) still gets the real outcome:
        it is better information. KPN's `document_id` has no length limit (its ids are UUIDs);
        a longer one than the column is kept fitted (`Column.fitted`), since refusing it would
        leave an SMS KPN took without its outcome."""
        assert outcome.is_final
        write = Finish(
            request_id,
            outcome,
            self.clock(),
            document_id=_DOCUMENT_ID.fitted(document_id) if document_id else document_id,
            error=error,
            rule=rule,
            retry_at=retry_at,
            extra_attempts=extra_attempts,
        )
        finished: AuditRecord | None = await self._writes.run(write)
        if finished is None:
            found = await self.get(request_id)
            state = found.outcome if found else "not stored"
            raise LookupError(f"request {request_id} is not being sent (it is {state})")
        return finished

    async def requeue(self, request_id: str, *, not_before: datetime, error: str) -> None:
        """Put a row that certainly was not sent back in the outbox until `not_before`."""
        await self._writes.run(Requeue(request_id, not_before, error, self.clock()))

    async def expire_stale_sending(self, older_than: datetime, error: str) -> list[AuditRecord]:
        """Rows left `sending` since before `older_than` belong to a process that died while
        sending: KPN may have accepted them, so they become `unknown`, never resent."""
        expired: list[AuditRecord] = await self._writes.run(
            ExpireStale(older_than, error, self.clock())
        )
        return expired

    async def purge(self, before: datetime) -> int:
        """Delete finished records older than `before` (retention), with their delivery
        reports, and expired claims. Rows still queued or sending are kept: they are work, not
        history."""
        deleted: int = await self._writes.run(Purge(before, self.clock()))
        return deleted

    async def apply_delivery(
        self, request_id: str, report: DeliveryReport
    ) -> DeliveryApplied | None:
        """Record one KPN delivery report about SMS `request_id`, as a fact; None when no
        such SMS is stored (purged, or never ours).

        - Applied once: a report that arrives twice changes nothing the second time.
        - Never downgrading: each part only moves forward, accepted -> queued -> a final state
          (delivered, failed, rejected, expired), and a final state never changes again, so
          a late `queued` after `delivered` changes nothing.
        - Per part: `report.part` names one part of a long SMS (None: every part). The SMS is
          `delivered` once every one of its parts is, and takes the failure (with its code) as
          soon as any part failed, was rejected or expired; until then it shows the furthest
          state short of final (`accepted` while some parts are delivered and others unheard).
        - A report is proof the SMS went out: an SMS whose send ended `unknown` becomes `sent`.

        `delivered_at` is when the SMS reached its `delivery` state (for `delivered`, when its
        last part was delivered): the report's own time, or the store clock's when it has none.
        The result says whether anything changed, so the caller notifies only on news. Reports
        about one SMS from several replicas at once are applied one after the other."""
        applied: DeliveryApplied | None = await self._writes.run(
            ApplyDelivery(request_id, report, self.clock())
        )
        return applied

    async def take_due_resends(self, lease: timedelta, limit: int = 20) -> list[AuditRecord]:
        """Alert SMS owed their one repeat now: recorded with a `resend_after`, whose send
        ended `unknown`, with no delivery report since, and due. Each is taken by this caller
        alone (across replicas) for `lease`: one not finished by then (its taker died) is due
        again. Their text is still stored for the repeat."""
        taken: list[AuditRecord] = await self._writes.run(TakeResends(self.clock(), lease, limit))
        return taken

    async def finish_resend(self, request_id: str) -> None:
        """The repeat of `request_id` is recorded: none is owed any more (and its text goes,
        unless texts are kept)."""
        await self._writes.run(FinishResend(request_id))

    # -- alert groups (smsbot.store.alert_groups) -------------------------------------------

    async def observe_group(
        self,
        *,
        source: str,
        route: str,
        group_key: str,
        labels: Mapping[str, str],
        firing: bool,
        steps: Sequence[timedelta] = (),
        mirror_channel: str | None = None,
    ) -> Observed | None:
        """Record what an alert notification says of its group (one per source, route and
        group key): the first firing opens it and arms its escalation `steps` (each due that
        long after the opening); a resolve closes it, cancels its pending steps and frees its
        phones' codes; firing again after a resolve opens a new episode, with nothing of the
        old one's acknowledgement or silence. A resolve of a group never seen firing: None."""
        observed: Observed | None = await self._writes.run(
            ObserveGroup(
                source,
                route,
                group_key,
                labels,
                firing,
                tuple(steps),
                mirror_channel,
                self.clock(),
            )
        )
        return observed

    async def assign_code(self, group_id: str, phone: str, name: str | None = None) -> int:
        """The code `phone` uses for the group: the one it has, else the lowest number free
        among that phone's open groups (chosen under a per-phone lock across replicas). Also
        marks the group as the phone's newest, and records `name`, whose phone it is."""
        code: int = await self._writes.run(AssignCode(group_id, phone, self.clock(), name))
        return code

    async def note_send(self, group_id: str, phone: str, send_id: str) -> None:
        """`send_id` is the newest SMS of the group to `phone` (its delivery is shown)."""
        await self._writes.run(NoteSend(group_id, phone, send_id))

    async def paged_phones(self, group_id: str) -> list[PagedPhone]:
        rows = await self._backend.fetch(self._backend.sql.alerts.paged, {"group_id": group_id})
        return [
            PagedPhone(r["phone"], int(r["code"]), r["name"], r["outcome"], r["delivery"])
            for r in rows
        ]

    async def name_of_phone(self, phone: str) -> str | None:
        """Whose phone it is, as the newest paging that knew a name recorded it."""
        rows = await self._backend.fetch(self._backend.sql.alerts.name_of_phone, {"phone": phone})
        return rows[0]["name"] if rows else None

    async def change_group(
        self,
        group_id: str,
        changes: Mapping[str, object],
        *,
        stops_escalation: bool = False,
        only_open: bool = True,
        audit: GroupAction | None = None,
    ) -> AlertGroupRecord | None:
        """Apply `changes` (field name -> value of `AlertGroupRecord`) to the group, cancelling
        its pending escalation steps with `stops_escalation`, and recording `audit` (who did it)
        in the same transaction; a resolved group is returned as it is unless
        `only_open=False`. None when no such group is stored."""
        changed: AlertGroupRecord | None = await self._writes.run(
            ChangeGroup(group_id, changes, self.clock(), stops_escalation, only_open, audit)
        )
        return changed

    async def claim_mirror(self, group_id: str, channel: str, ts: str) -> tuple[str, str] | None:
        """Make the Slack message `ts` in `channel` the group's mirror message, unless it has
        one already (another replica posted first): the message that holds, or None when no
        such group is stored."""
        held: tuple[str, str] | None = await self._writes.run(
            ClaimMirror(group_id, channel, ts, self.clock())
        )
        return held

    async def take_due_steps(self, lease: timedelta, limit: int = 20) -> list[EscalationStep]:
        """Due escalation steps, each now `firing` for `lease`: taken by this caller alone
        (across replicas) until the lease ends. A step taken but not finished within its lease
        (its taker died) is due again."""
        taken: list[EscalationStep] = await self._writes.run(TakeSteps(self.clock(), lease, limit))
        return taken

    async def finish_step(self, step: EscalationStep, outcome: StepState) -> bool:
        """Mark a taken step `fired` (or `cancelled`); False when it was cancelled meanwhile
        (the group was acknowledged, silenced or resolved)."""
        done: bool = await self._writes.run(FinishStep(step, outcome, self.clock()))
        return done

    async def alert_group(self, group_id: str) -> AlertGroupRecord | None:
        rows = await self._backend.fetch(self._backend.sql.alerts.by_id, {"id": group_id})
        return AlertGroupRecord.from_row(rows[0]) if rows else None

    async def groups_of_phone(self, phone: str) -> list[tuple[int, AlertGroupRecord]]:
        """The phone's open groups as (code, group), the one it was paged for last at the end."""
        rows = await self._backend.fetch(self._backend.sql.alerts.groups_of_phone, {"phone": phone})
        return [(int(row["code"]), AlertGroupRecord.from_row(row)) for row in rows]

    async def phones_of_group(self, group_id: str) -> dict[str, int]:
        """The phones that got the group's SMS (this episode), with their codes."""
        rows = await self._backend.fetch(self._backend.sql.alerts.phones_of, {"group_id": group_id})
        return {row["phone"]: int(row["code"]) for row in rows}

    async def group_actions(self, group_id: str) -> list[GroupAction]:
        """Who did what to the group (every episode), oldest first."""
        rows = await self._backend.fetch(self._backend.sql.alerts.events_of, {"group_id": group_id})
        return [GroupAction.from_row(row) for row in rows]

    async def steps_of_group(self, group_id: str) -> list[EscalationStep]:
        rows = await self._backend.fetch(self._backend.sql.alerts.steps_of, {"group_id": group_id})
        return [EscalationStep.from_row(row) for row in rows]

    # -- two-way SMS ---------------------------------------------------------------------------

    async def admit_inbound(
        self, new: NewInbound, *, limit: int, window: timedelta
    ) -> InboundAdmission:
        """Store an SMS a phone sent to the reply number, once per KPN `message_id` (a repeat
        returns the stored record, `duplicate=True`). When its phone already sent `limit`
        messages within `window` that were not over the limit themselves, it is stored
        `limited`. Atomic across replicas: of two posts of one message_id, one is stored, and
        two replicas cannot both admit the phone's `limit + 1`-th message."""
        row = inbound_row(new, self.clock(), store_text=self.store_text)
        admitted: InboundAdmission = await self._writes.run(AdmitInbound(row, limit, window))
        return admitted

    async def finish_inbound(
        self, request_id: str, disposition: Disposition, *, handler: str | None = None
    ) -> InboundRecord | None:
        """Record what became of an inbound SMS: what `handler` (its name) did with it, where
        it was posted."""
        write = FinishInbound(request_id, disposition, handler, self.clock())
        finished: InboundRecord | None = await self._writes.run(write)
        return finished

    async def set_conversation(self, request_id: str, slack_channel: str, slack_ts: str) -> bool:
        """Remember the Slack message SMS `request_id` is discussed under (its confirmation or
        its alert's mirror), so a reply from its phone finds it; False when no such SMS."""
        found: bool = await self._writes.run(SetConversation(request_id, slack_channel, slack_ts))
        return found

    async def conversation_for(
        self, phone: str, *, sender: str, since: datetime
    ) -> AuditRecord | None:
        """The newest SMS that went out (or may have) to `phone` from `sender` (the reply
        number) since `since`: the conversation a reply from `phone` belongs to. Its
        `slack_channel` / `slack_ts` are None when it has no Slack message."""
        found = await self._records(
            sql.CONVERSATION, {"phone": phone, "sender": sender, "since": since}
        )
        return found[0] if found else None

    async def inbound(self, request_id: str) -> InboundRecord | None:
        rows = await self._backend.fetch(self._backend.sql.inbound_by_id, {"rid": request_id})
        return InboundRecord.from_row(rows[0]) if rows else None

    async def recent_inbound(self, limit: int = 20) -> list[InboundRecord]:
        """The newest inbound SMS first."""
        rows = await self._backend.fetch(sql.recent_inbound(), {"limit": limit})
        return [InboundRecord.from_row(row) for row in rows]

    # -- reading -------------------------------------------------------------------------------

    async def _records(self, statement: str, params: dict[str, Any]) -> list[AuditRecord]:
        return [AuditRecord.from_row(row) for row in await self._backend.fetch(statement, params)]

    async def get(self, request_id: str) -> AuditRecord | None:
        found = await self._records(self._backend.sql.by_id, {"rid": request_id})
        return found[0] if found else None

    async def by_key(self, idempotency_key: str) -> AuditRecord | None:
        found = await self._records(self._backend.sql.by_key, {"key": idempotency_key})
        return found[0] if found else None

    async def recent(self, limit: int = 20, *, actor: str | None = None) -> list[AuditRecord]:
        """The newest records first, optionally of one actor."""
        params: dict[str, Any] = {"limit": limit, "actor": actor}
        return await self._records(sql.recent(actor=actor is not None), params)

    async def count_recent(
        self,
        *,
        since: datetime,
        to: str | None = None,
        actor: str | None = None,
        surfaces: Iterable[Surface | str] | None = None,
        outcomes: Iterable[Outcome | str] | None = None,
        rule: str | None = None,
    ) -> int:
        """How many records since `since` match all the filters given (`to`: a recipient)."""
        equal = {"recipient": to, "actor": actor, "rule": rule}
        params: dict[str, Any] = {"since": since}
        params |= {column: value for column, value in equal.items() if value is not None}
        within: dict[str, int] = {}
        for column, values in (("surface", surfaces), ("outcome", outcomes)):
            if values is not None:
                listed = [str(value) for value in values]
                within[column] = len(listed)
                params |= {f"{column}{n}": value for n, value in enumerate(listed)}
        statement = sql.count_recent([c for c, v in equal.items() if v is not None], within)
        [row] = await self._backend.fetch(statement, params)
        return int(row["n"])

    async def held_back(
        self, *, since: datetime, rule: str, surfaces: Iterable[Surface | str]
    ) -> list[HeldStorm]:
        """Requests refused by `rule` since `since` from `surfaces`, one entry per recipient,
        actor and surface: when the first was held, and the newest refusal's `retry_at`."""
        listed = [str(surface) for surface in surfaces]
        params: dict[str, Any] = {"since": since, "rule": rule}
        params |= {f"surface{n}": surface for n, surface in enumerate(listed)}
        rows = await self._backend.fetch(sql.held_back(len(listed)), params)
        return [
            HeldStorm(
                recipient=row["recipient"],
                actor=row["actor"],
                surface=Surface(row["surface"]),
                first_held=row["created_at"],
                retry_at=row["retry_at"],
            )
            for row in rows
        ]

    async def held_by_status(
        self, *, to: str, since: datetime, rule: str, surfaces: Iterable[Surface | str]
    ) -> dict[str | None, int]:
        """Requests to `to` refused by `rule` since `since`, counted per the `status` key of
        their `reply` (None for those without one)."""
        listed = [str(surface) for surface in surfaces]
        params: dict[str, Any] = {"since": since, "to": to, "rule": rule}
        params |= {f"surface{n}": surface for n, surface in enumerate(listed)}
        statement = sql.held_by_status(self._backend.sql.dialect, len(listed))
        return {
            row["status"]: int(row["n"]) for row in await self._backend.fetch(statement, params)
        }

    async def outbox_state(self) -> OutboxState:
        """How many rows are queued and sending, and when the oldest queued one was recorded."""
        rows = {row["outcome"]: row for row in await self._backend.fetch(sql.OUTBOX, {})}
        queued, sending = rows.get(str(Outcome.QUEUED)), rows.get(str(Outcome.SENDING))
        return OutboxState(
            queued=int(queued["n"]) if queued else 0,
            sending=int(sending["n"]) if sending else 0,
            oldest_queued=queued["created_at"] if queued else None,
        )
