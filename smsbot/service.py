"""The one pipeline every surface uses: validate, authorize, record, send, record, notify.

```python
async with open_service(settings) as service:          # smsbot.bootstrap
    result = await service.submit(request)              # the whole pipeline, final outcome
    result = await service.enqueue(request)             # recorded as queued; the outbox sends
    result = await service.enqueue(request, claim=(key, ttl))  # ... once per claim (or None)
    result = await service.record_refusal(request, refusal)  # a surface's own refusal, audited
```

Every request ends as a stored record and a `SendResult`; nothing is raised for bad input, a
refusal or a KPN failure, so each surface handles one type. `submit` sends in the caller's task;
`enqueue` returns as soon as the request is safely recorded and the outbox worker sends it.
Either way the notifier registered for the request's surface hears the final outcome.

Nothing is sent twice: the idempotency key is unique in the store, a row is marked `sending`
before it is handed to KPN (`submit` records it so; the outbox takes a queued row with a
conditional UPDATE, one worker per row), and a row whose send was under way when its process
died becomes `unknown` (perhaps sent) instead of being sent again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any, overload

from smsbot.errors import (
    InputError,
    InvalidNumber,
    KpnAuthError,
    KpnError,
    KpnOutcomeUnknown,
    KpnQuotaExhausted,
    KpnUnavailable,
)
from smsbot.kpn.client import KpnClient
from smsbot.kpn.delivery import DeliveryUrls
from smsbot.metrics import Metrics
from smsbot.notify import Notifier
from smsbot.policy import Allowlist, QuotaGate, Refusal, caps_for, check_access
from smsbot.policy.limits import ALERT_SURFACES, STORM_RULE
from smsbot.policy.quota import used_up_until
from smsbot.settings import Settings
from smsbot.sms.numbers import mask_number, mask_typed, normalize_number
from smsbot.sms.request import Outcome, SendRequest, SendResult, Surface
from smsbot.sms.sender import number_sender, validate_sender
from smsbot.sms.text import storable, validate_text
from smsbot.store import (
    COUNTED_OUTCOMES,
    Admission,
    AuditRecord,
    HeldStorm,
    InboundRecord,
    NewRecord,
    Store,
    utcnow,
)
from smsbot.timezone import local_time

log = logging.getLogger(__name__)

NO_ANSWER = (
    "KPN did not answer, so the SMS may or may not have been sent. Check with the recipient "
    "(or the audit log) before sending it again."
)
DIED_WHILE_SENDING = (
    "smsbot stopped while handing this SMS to KPN, so it may or may not have been sent. "
    "Check with the recipient before sending it again."
)
UNEXPECTED = (
    "smsbot hit an unexpected error while sending, so the SMS may or may not have been sent. "
    "Check with the recipient before sending it again; the error is in smsbot's log."
)

# The rule of a `refused` record for a copy of a request that was handled already.
DUPLICATE_RULE = "duplicate"
# The rule of a `failed` record whose SMS KPN refused for the client credentials.
KPN_CREDENTIALS_RULE = "kpn_credentials"

# How often the outbox looks for rows other replicas queued, and does its housekeeping.
POLL_SECONDS = 1.0
STALE_CHECK_SECONDS = 30.0
PURGE_SECONDS = 3600.0
# While KPN is unreachable the outbox tries a row again after 5 s, doubling up to 5 min apart,
# until the row is `kpn.outbox_retry_seconds` old.
RETRY_DELAYS = (5.0, 300.0)
# A person waiting in Slack should hear within minutes that KPN is down, not get the SMS an hour
# later; alerts, whose sender already had its 200, keep trying for `kpn.outbox_retry_seconds`.
PEOPLE_RETRY_SECONDS = 120.0


def retry_bound_seconds(surface: Surface, settings: Settings) -> float:
    """How long an outbox row from `surface` is tried again while KPN is unreachable."""
    bound = settings.kpn.outbox_retry_seconds
    return bound if surface in ALERT_SURFACES else min(bound, PEOPLE_RETRY_SECONDS)


def not_sent(exc: KpnUnavailable) -> str:
    """The client's own message (it often says what to fix, e.g. SMSBOT_KPN__BASE_URL), and
    that nothing was sent."""
    message = str(exc).strip() or "KPN is unreachable."
    if any(said in message.lower() for said in ("not sent", "nothing was sent")):
        return message
    return f"{message} Nothing was sent."


def longest_send(settings: Settings) -> timedelta:
    """The longest one send can take: every attempt timing out, plus the retry budget, plus
    a margin. A row `sending` for longer than this belongs to a process that is gone."""
    kpn = settings.kpn
    attempts = max(1, kpn.max_attempts)
    seconds = (kpn.connect_timeout + kpn.read_timeout) * attempts + kpn.max_retry_seconds
    return timedelta(seconds=seconds + 5.0)


class SmsService:
    """Build with `smsbot.bootstrap.open_service`, which also runs the outbox worker."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        kpn: KpnClient,
        *,
        metrics: Metrics | None = None,
        outbox_concurrency: int = 8,
        poll_seconds: float = POLL_SECONDS,
        stale_after: timedelta | None = None,
        retry_delays: tuple[float, float] = RETRY_DELAYS,
    ) -> None:
        self.settings = settings
        self.store = store
        self.metrics = metrics
        self.allowlist = Allowlist(
            users=settings.allow.users,
            usergroups=settings.allow.usergroups,
            channels=settings.allow.channels,
            cache_seconds=settings.slack.usergroup_cache_seconds,
        )
        self.quota = QuotaGate(timezone=settings.timezone)
        # App ids whose workflow runs may send when Slack names no person; the Slack layer
        # puts a live one here (smsbot.slack.step_permissions).
        self.allowed_workflows: Collection[str] = ()
        self._kpn = kpn
        self._delivery_urls = DeliveryUrls.from_settings(settings)  # None: no reports asked
        self._notifiers: dict[Surface, Notifier] = {}
        self._outbox_concurrency = max(1, outbox_concurrency)
        self._poll_seconds = poll_seconds
        self._wake = asyncio.Event()
        self._stopping = False
        self._worker: asyncio.Task[None] | None = None
        self._in_flight: set[asyncio.Task[None]] = set()
        self.stale_after = stale_after or longest_send(settings)
        self._retry_delays = retry_delays

    def register_notifier(self, surface: Surface, notifier: Notifier) -> None:
        self._notifiers[surface] = notifier

    # -- the pipeline ----------------------------------------------------------------------

    async def submit(self, request: SendRequest) -> SendResult:
        """Run the whole pipeline and return the final outcome, or the earlier request's
        result with `duplicate=True` when its idempotency key was seen before."""
        # Recorded already marked `sending`: this task sends it now. Should the process die
        # before KPN answers, the row becomes `unknown` and is never sent later behind the back
        # of a person who saw their request fail (and may have sent it again).
        admission = await self._record(request, hold_for_quota=False, outcome=Outcome.SENDING)
        assert admission is not None  # no claim asked for
        if admission.duplicate:
            return admission.record.to_result(duplicate=True)
        record = admission.record
        if record.outcome != Outcome.SENDING:
            await self._finished(request, record)
            return record.to_result()
        final = await self._send(record, request, in_outbox=False)
        assert final is not None
        return final.to_result()

    @overload
    async def enqueue(self, request: SendRequest) -> SendResult: ...

    @overload
    async def enqueue(
        self, request: SendRequest, *, claim: tuple[str, float] | None
    ) -> SendResult | None: ...

    async def enqueue(
        self, request: SendRequest, *, claim: tuple[str, float] | None = None
    ) -> SendResult | None:
        """Validate, authorize and record the request as `queued`, and return at once; the
        outbox worker sends it and then calls the notifier. While KPN's quota is used up the
        request waits in the outbox until the quota resets.

        With `claim=(key, ttl_seconds)` the dedup claim (the first caller within
        `ttl_seconds` wins, across replicas) is taken in the same transaction as the record:
        None, with nothing recorded, when another caller holds it. The alert intake sends each
        notification once this way, in one write instead of two, and a claim never exists
        without the record of its SMS."""
        admission = await self._record(
            request, hold_for_quota=True, outcome=Outcome.QUEUED, claim=claim
        )
        if admission is None:
            return None
        if admission.duplicate:
            return admission.record.to_result(duplicate=True)
        record = admission.record
        if record.outcome != Outcome.QUEUED:
            await self._finished(request, record)
        else:
            self._wake.set()
        return record.to_result()

    async def record_refusal(self, request: SendRequest, refusal: Refusal) -> SendResult:
        """Record `request` as refused for `refusal`, a refusal its surface decided and showed
        already (the modal's inline error). Validated like every request, but never authorized
        again and never sent: the person was told nothing was sent."""
        admission = await self._admit_refused(request, refusal)
        if admission.duplicate:
            return admission.record.to_result(duplicate=True)
        await self._finished(request, admission.record)
        return admission.record.to_result()

    # -- for the alert intake and storm summaries -------------------------------------------

    async def find(self, idempotency_key: str) -> AuditRecord | None:
        """The request recorded under `idempotency_key`, if any."""
        return await self.store.by_key(idempotency_key)

    async def record_duplicate(self, request: SendRequest, reason: str) -> SendResult:
        """Audit a copy of a request that was handled already: recorded as refused with rule
        `duplicate` and `reason`, never sent; nobody is notified (nothing new happened)."""
        admission = await self._admit_refused(request, Refusal(DUPLICATE_RULE, reason))
        return admission.record.to_result(duplicate=admission.duplicate)

    async def count_alert_sends(
        self, to: str, since: datetime, *, held_by_storm: bool = False
    ) -> int:
        """Alert SMS to `to` (E.164) since `since` that used up a slot of the storm cap, or with
        `held_by_storm` those the storm cap refused."""
        if held_by_storm:
            outcomes: tuple[Outcome, ...] = (Outcome.REFUSED,)
            rule: str | None = STORM_RULE
        else:
            outcomes, rule = COUNTED_OUTCOMES, None
        return await self.store.count_recent(
            since=since, to=to, surfaces=ALERT_SURFACES, outcomes=outcomes, rule=rule
        )

    async def storm_held_statuses(self, to: str, since: datetime) -> dict[str, int]:
        """Alert SMS to `to` the storm cap refused since `since`, per notification status
        (`firing`, `resolved`); rows from before statuses were recorded count as firing."""
        counts = await self.store.held_by_status(
            to=to, since=since, rule=STORM_RULE, surfaces=ALERT_SURFACES
        )
        statuses = {"firing": 0, "resolved": 0}
        for status, n in counts.items():
            statuses["resolved" if status == "resolved" else "firing"] += n
        return statuses

    async def storms_held_since(self, since: datetime) -> list[HeldStorm]:
        """Alert SMS the storm cap held back since `since`, per number, route and source."""
        return await self.store.held_back(since=since, rule=STORM_RULE, surfaces=ALERT_SURFACES)

    async def history(self, actor: str, limit: int = 10) -> list[AuditRecord]:
        return await self.store.recent(limit, actor=actor)

    async def recent(self, limit: int = 20) -> list[AuditRecord]:
        return await self.store.recent(limit)

    async def set_conversation(self, request_id: str, slack_channel: str, slack_ts: str) -> bool:
        """Remember the Slack message an SMS is discussed under (a notifier posted it), so a
        reply from its phone goes into that thread."""
        return await self.store.set_conversation(request_id, slack_channel, slack_ts)

    async def recent_both_ways(self, limit: int = 20) -> list[AuditRecord | InboundRecord]:
        """The `limit` newest records, SMS sent and SMS received from phones, newest first."""
        records: list[AuditRecord | InboundRecord] = [
            *await self.store.recent(limit),
            *await self.store.recent_inbound(limit),
        ]
        return sorted(records, key=lambda r: r.time, reverse=True)[:limit]

    async def ready(self) -> bool:
        return await self.store.ping()

    async def _record(
        self,
        request: SendRequest,
        *,
        hold_for_quota: bool,
        outcome: Outcome,
        claim: tuple[str, float] | None = None,
    ) -> Admission | None:
        """Steps 1-3: validate, authorize, record (as `outcome`: `queued` for the outbox,
        `sending` for the caller to send). Invalid and refused requests are recorded with their
        reason too; the store returns the earlier record for a known key. With `claim`, every
        one of these records is taken with the claim, and None means another holds it."""
        valid = self._validate(request)
        if isinstance(valid, NewRecord):
            return await self.store.admit(valid, claim=claim)
        refusal = await check_access(
            request,
            self.allowlist,
            allowed_workflows=self.allowed_workflows,
            admin_contact=self.settings.slack.admin_contact,
        )
        if refusal is None and not hold_for_quota:
            refusal = self.quota.check()
        if refusal is not None:
            return await self.store.admit(self._refused(valid, refusal), claim=claim)
        recipient = str(valid["recipient"])
        caps = caps_for(self.settings, request.surface, request.actor, recipient)
        return await self.store.admit(NewRecord(**valid, outcome=outcome), caps, claim=claim)

    async def _admit_refused(self, request: SendRequest, refusal: Refusal) -> Admission:
        valid = self._validate(request)
        new = valid if isinstance(valid, NewRecord) else self._refused(valid, refusal)
        return await self.store.admit(new)

    def _validate(self, request: SendRequest) -> dict[str, Any] | NewRecord:
        """Step 1: the request's fields for its record, or the `invalid` record to store."""
        base = {
            "actor": request.actor,
            "surface": request.surface,
            "idempotency_key": request.idempotency_key,
            "channel": request.channel,
            "reply": request.reply,
            "text_length": len(request.text),
            "text": storable(request.text),  # as typed; a refused NUL shows as U+FFFD
        }
        recipient: str | None = None
        try:
            recipient = normalize_number(request.to)
            sender = self._sender(request)
            info = validate_text(request.text, self.settings.sms.max_characters)
        except InputError as exc:
            error = str(exc)
            if isinstance(exc, InvalidNumber) and self.settings.audit.mask_numbers:
                # The number as typed is personal data too, and no number is stored for it.
                error = mask_typed(error, request.to)
            invalid = {"outcome": Outcome.INVALID, "rule": exc.field, "error": error}
            return NewRecord(**base, recipient=recipient, **invalid)
        return {
            **base,
            "recipient": recipient,
            "sender": sender,
            "parts": info.parts,
            "encoding": info.encoding,
        }

    def _sender(self, request: SendRequest) -> str:
        """The sender a person chose, else the reply number (when set: SMS sent from it can be
        answered, and the answer finds its conversation), else the default sender."""
        reply_number = self.settings.kpn.reply_number
        if reply_number and not (request.sender or "").strip():
            return number_sender(reply_number)
        return validate_sender(request.sender, self.settings.kpn.sender)

    @staticmethod
    def _refused(valid: dict[str, object], refusal: Refusal) -> NewRecord:
        return NewRecord(
            **valid,  # type: ignore[arg-type]
            outcome=Outcome.REFUSED,
            rule=refusal.rule,
            error=refusal.message,
            retry_at=refusal.retry_at,
        )

    async def _send(
        self, record: AuditRecord, request: SendRequest, *, in_outbox: bool
    ) -> AuditRecord | None:
        """Steps 4-6 for a row this process has marked `sending`. Returns the final record,
        or None when the outbox row went back to the queue: to wait for KPN's quota, or to try
        again while KPN is unreachable (nobody waits on an outbox row, and an alert's sender
        got its 200 already and will not send it again)."""
        assert record.recipient is not None and record.text is not None
        started = time.perf_counter()
        outcome, fields = Outcome.SENT, dict[str, Any]()
        try:
            urls = self._delivery_urls
            receipt = await self._kpn.send(
                record.recipient,
                record.text,
                record.sender or "",
                webhook_url=urls.url_for(record.request_id) if urls is not None else None,
            )
        except KpnQuotaExhausted as exc:
            until = self.quota.saw_exhausted(exc)
            message = used_up_until(until, self.settings.timezone)
            if in_outbox:
                await self.store.requeue(record.request_id, not_before=until, error=message)
                log.info("sms %s waits in the outbox for KPN's quota", record.request_id)
                return None
            outcome = Outcome.FAILED
            fields = {"error": message, "rule": "kpn_quota", "retry_at": until}
        except KpnOutcomeUnknown:
            outcome, fields = Outcome.UNKNOWN, {"error": NO_ANSWER}
        except KpnUnavailable as exc:
            retry_at = self._retry_at(record) if in_outbox else None
            if retry_at is not None:
                again = local_time(retry_at, self.settings.timezone, seconds=True)
                error = f"{exc} Not sent yet; trying again after {again}."
                await self.store.requeue(record.request_id, not_before=retry_at, error=error)
                log.info("sms %s waits in the outbox for KPN to be reachable", record.request_id)
                return None
            outcome, fields = Outcome.FAILED, {"error": not_sent(exc)}
        except KpnAuthError as exc:
            # Wrong or missing credentials: the settings need fixing (the CLI exits 2).
            outcome, fields = Outcome.FAILED, {"error": str(exc), "rule": KPN_CREDENTIALS_RULE}
        except KpnError as exc:
            outcome, fields = Outcome.FAILED, {"error": str(exc)}
        except Exception:
            log.exception("unexpected error sending sms %s", record.request_id)
            outcome, fields = Outcome.UNKNOWN, {"error": UNEXPECTED}
        else:
            self.quota.saw_quota(receipt.quota)
            fields = {"document_id": receipt.document_id, "extra_attempts": receipt.attempts - 1}
        finally:
            if self.metrics is not None:
                self.metrics.kpn_latency.observe(time.perf_counter() - started)
        final = await self.store.finish(record.request_id, outcome, **fields)
        await self._finished(request, final)
        return final

    def _retry_at(self, record: AuditRecord) -> datetime | None:
        """When an outbox row KPN could not take should be tried again, or None when it has
        waited as long as its surface allows (`retry_bound_seconds`)."""
        now = utcnow()
        bound = retry_bound_seconds(record.surface, self.settings)
        if now - record.time >= timedelta(seconds=bound):
            return None
        first, longest = self._retry_delays
        delay = min(longest, first * 2 ** min(max(record.attempts - 1, 0), 32))
        # The last try falls on the bound, not a whole back-off step past it.
        return min(now + timedelta(seconds=delay), record.time + timedelta(seconds=bound))

    async def _finished(self, request: SendRequest, record: AuditRecord) -> None:
        """Step 6: count, log (number masked) and tell the surface."""
        if self.metrics is not None:
            self.metrics.sends.labels(str(record.surface), str(record.outcome)).inc()
        shown = mask_number(record.recipient) if record.recipient else "-"
        log.info(
            "sms %s %s: %s to %s from %s%s",
            record.request_id,
            record.outcome,
            record.surface,
            shown,
            record.actor,
            f" document_id={record.document_id}" if record.document_id else "",
        )
        notifier = self._notifiers.get(record.surface)
        if notifier is None:
            return
        try:
            await notifier.notify(request, record.to_result())
        except Exception:
            log.exception("the %s notifier failed for sms %s", record.surface, record.request_id)

    # -- the outbox worker ----------------------------------------------------------------

    def start_outbox(self) -> None:
        """Start sending queued rows in the background (`open_service` does this)."""
        if self._worker is None:
            self._stopping = False
            self._worker = asyncio.create_task(self._run_outbox(), name="smsbot-outbox")

    async def stop_outbox(self, grace_seconds: float | None = None) -> None:
        """Stop claiming rows and let sends under way finish (they are cancelled after
        `grace_seconds`, leaving their rows `sending`, to become `unknown` later)."""
        if self._worker is None:
            return
        self._stopping = True
        self._wake.set()
        grace = self.stale_after.total_seconds() if grace_seconds is None else grace_seconds
        await self._worker
        self._worker = None
        if self._in_flight:
            _done, pending = await asyncio.wait(self._in_flight, timeout=grace)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    async def _run_outbox(self) -> None:
        last_stale_check = last_purge = float("-inf")
        stale_check_seconds = min(STALE_CHECK_SECONDS, self.stale_after.total_seconds() / 2)
        failures = 0
        while not self._stopping:
            self._wake.clear()
            try:
                now = time.monotonic()
                if now - last_stale_check >= stale_check_seconds:
                    await self._expire_stale()
                    last_stale_check = now
                if now - last_purge >= PURGE_SECONDS:
                    await self._purge()
                    last_purge = now
                claimed = await self._claim_some()
                failures = 0
            except Exception:
                failures += 1
                log.exception("outbox: the store failed; trying again")
                claimed = 0
                await asyncio.sleep(min(30.0, 0.5 * 2**failures))
            if claimed and len(self._in_flight) < self._outbox_concurrency:
                continue  # more rows may be waiting
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self._poll_seconds)
            except TimeoutError:
                pass

    async def _claim_some(self) -> int:
        if self.quota.reopens_at is not None:
            return 0  # KPN would answer 429: leave the rows queued until the reset
        free = self._outbox_concurrency - len(self._in_flight)
        if free <= 0:
            return 0
        rows = await self.store.take_due(free)
        for row in rows:
            task = asyncio.create_task(self._send_claimed(row))
            self._in_flight.add(task)
            task.add_done_callback(self._sent_one)
        return len(rows)

    def _sent_one(self, task: asyncio.Task[None]) -> None:
        self._in_flight.discard(task)
        self._wake.set()  # a slot is free

    async def _send_claimed(self, row: AuditRecord) -> None:
        try:
            await self._send(row, row.to_request(), in_outbox=True)
        except Exception:
            # Only the store can fail here (KPN errors are outcomes): the row stays `sending`
            # and becomes `unknown` after `stale_after`, never sent twice.
            log.exception("outbox: could not record the outcome of sms %s", row.request_id)

    async def _expire_stale(self) -> None:
        cutoff = utcnow() - self.stale_after
        for record in await self.store.expire_stale_sending(cutoff, DIED_WHILE_SENDING):
            await self._finished(record.to_request(), record)

    async def _purge(self) -> None:
        before = utcnow() - timedelta(days=self.settings.audit.retention_days)
        deleted = await self.store.purge(before)
        if deleted:
            log.info("retention: deleted %d audit records older than %s", deleted, before)
