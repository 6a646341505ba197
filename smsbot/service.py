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
Either way the notifier the service was built with for the request's surface hears the final
outcome.

Nothing is sent twice: the idempotency key is unique in the store, a row is marked `sending`
before it is handed to KPN (`submit` records it so; the outbox, `smsbot.outbox`, takes a queued
row with a conditional UPDATE, one worker per row), and a row whose send was under way when its
process died becomes `unknown` (perhaps sent) instead of being sent again.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Callable, Collection, Mapping
from datetime import datetime
from typing import Any, NamedTuple, overload

from smsbot.errors import (
    InputError,
    InvalidNumber,
    KpnAuthError,
    KpnError,
    KpnForbidden,
    KpnOutcomeUnknown,
    KpnQuotaExhausted,
    KpnRejected,
    KpnUnavailable,
)
from smsbot.kpn.client import KpnClient
from smsbot.kpn.delivery import DeliveryUrls
from smsbot.metrics import Metrics
from smsbot.notify import Notifier
from smsbot.policy import Allowlist, QuotaGate, Refusal, caps_for, check_access
from smsbot.policy.limits import reason_of
from smsbot.policy.quota import used_up_until
from smsbot.settings import Settings
from smsbot.sms.numbers import mask_number, mask_typed, normalize_number
from smsbot.sms.reasons import Reason
from smsbot.sms.request import Outcome, SendRequest, SendResult, Surface
from smsbot.sms.sender import number_sender, validate_sender
from smsbot.sms.text import storable, validate_text
from smsbot.store import Admission, AuditRecord, InboundRecord, NewRecord, Store
from smsbot.timezone import local_time

log = logging.getLogger(__name__)

# What a send that ended `unknown` says: KPN gave no answer, or smsbot itself failed, or the
# process sending it died (the outbox found its row).
NO_ANSWER_REASON = Reason("send.no_answer")
UNEXPECTED_REASON = Reason("send.unexpected")
DIED_REASON = Reason("send.died_while_sending")
NO_ANSWER = NO_ANSWER_REASON.english()
UNEXPECTED = UNEXPECTED_REASON.english()

# The rule of a `refused` record for a copy of a request that was handled already.
DUPLICATE_RULE = "duplicate"
# The rule of a `failed` record whose SMS KPN refused for the client credentials.
KPN_CREDENTIALS_RULE = "kpn_credentials"


def kpn_reason(exc: KpnError) -> Reason:
    """The client's reason for `exc` (it often says what to fix, e.g. SMSBOT_KPN__BASE_URL)."""
    why = Reason.of(exc)
    if why is not None:
        return why
    # An error made without a code (not by smsbot's KPN client): its message as it stands.
    message = str(exc).strip()
    return Reason("kpn.message", {"message": message}) if message else Reason("kpn.unreachable")


def not_sent(exc: KpnUnavailable) -> Reason:
    """The client's reason, and that nothing was sent: `KpnUnavailable` means KPN certainly
    did not take the SMS."""
    return Reason("send.not_sent", {"reason": kpn_reason(exc)})


def failure_reason(exc: KpnError) -> str:
    """What a failure was, for the log line of its outcome (the audit keeps KPN's message)."""
    if isinstance(exc, KpnRejected):
        return "kpn_rejected"
    return "kpn_forbidden" if isinstance(exc, KpnForbidden) else "kpn_error"


RetryAt = Callable[[AuditRecord], datetime | None]


def _explained(result: SendResult, why: Reason | None) -> SendResult:
    """`result` with its reason's code: the record keeps the English, a surface may say it in
    its reader's language."""
    if why is None:
        return result
    return dataclasses.replace(result, reason_code=why.code, reason_params=why.params)


class _Invalid(NamedTuple):
    """A request whose number, sender or text cannot be sent: its record, and the reason's code."""

    record: NewRecord
    why: Reason | None


class SmsService:
    """Built by `smsbot.bootstrap` with the policy it applies: `allowlist` (whose user group
    directory is Slack's, when Slack is on) and `quota`, the KPN quota gate it shares with the
    outbox, and `notifiers`, the notifier of each surface that hears its requests' outcomes
    (built before the service, from Slack's client and the store). `queued` is set whenever a
    request is queued, so the outbox wakes at once."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        kpn: KpnClient,
        *,
        allowlist: Allowlist,
        quota: QuotaGate,
        notifiers: Mapping[Surface, Notifier] | None = None,
        allowed_workflows: Collection[str] = (),
        metrics: Metrics | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.metrics = metrics
        self.allowlist = allowlist
        self.quota = quota
        self.queued = asyncio.Event()
        # App ids whose workflow runs may send when Slack names no person: with Slack, a live
        # list kept by smsbot.slack.step_permissions.
        self.allowed_workflows = allowed_workflows
        self._kpn = kpn
        self._delivery_urls = DeliveryUrls.from_settings(settings)  # None: no reports asked
        # Who hears each surface's outcomes; a surface without one is only logged and audited.
        self._notifiers: Mapping[Surface, Notifier] = dict(notifiers or {})

    # -- the pipeline ----------------------------------------------------------------------

    async def submit(self, request: SendRequest) -> SendResult:
        """Run the whole pipeline and return the final outcome, or the earlier request's
        result with `duplicate=True` when its idempotency key was seen before."""
        # Recorded already marked `sending`: this task sends it now. Should the process die
        # before KPN answers, the row becomes `unknown` and is never sent later behind the back
        # of a person who saw their request fail (and may have sent it again).
        admission, why = await self._record(request, hold_for_quota=False, outcome=Outcome.SENDING)
        assert admission is not None  # no claim asked for
        if admission.duplicate:
            return admission.record.to_result(duplicate=True)
        record = admission.record
        if record.outcome != Outcome.SENDING:
            await self._finished(request, record, detail=why)
            return _explained(record.to_result(), why)
        final = await self._send(record, request, retry_at=None)
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
        admission, why = await self._record(
            request, hold_for_quota=True, outcome=Outcome.QUEUED, claim=claim
        )
        if admission is None:
            return None
        if admission.duplicate:
            return admission.record.to_result(duplicate=True)
        record = admission.record
        if record.outcome != Outcome.QUEUED:
            await self._finished(request, record, detail=why)
        else:
            self.queued.set()
        return _explained(record.to_result(), why)

    async def record_refusal(self, request: SendRequest, refusal: Refusal) -> SendResult:
        """Record `request` as refused for `refusal`, a refusal its surface decided and showed
        already (the modal's inline error). Validated like every request, but never authorized
        again and never sent: the person was told nothing was sent."""
        admission, why = await self._admit_refused(request, refusal)
        if admission.duplicate:
            return admission.record.to_result(duplicate=True)
        await self._finished(request, admission.record, detail=why)
        return _explained(admission.record.to_result(), why)

    # -- for the alert intake ----------------------------------------------------------

    async def record_duplicate(self, request: SendRequest, reason: str) -> SendResult:
        """Audit a copy of a request that was handled already: recorded as refused with rule
        `duplicate` and `reason`, never sent; nobody is notified (nothing new happened)."""
        admission, _ = await self._admit_refused(request, Refusal(DUPLICATE_RULE, reason))
        return admission.record.to_result(duplicate=admission.duplicate)

    async def history(self, actor: str, limit: int = 10) -> list[AuditRecord]:
        return await self.store.recent(limit, actor=actor)

    async def recent(self, limit: int = 20) -> list[AuditRecord]:
        return await self.store.recent(limit)

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
    ) -> tuple[Admission | None, Reason | None]:
        """Steps 1-3: validate, authorize, record (as `outcome`: `queued` for the outbox,
        `sending` for the caller to send). Invalid and refused requests are recorded with their
        reason too; the store returns the earlier record for a known key. With `claim`, every
        one of these records is taken with the claim, and None means another holds it. Beside
        the admission: the code of an invalid input's or a policy's reason, when it has one."""
        valid = self._validate(request)
        if isinstance(valid, _Invalid):
            return await self.store.admit(valid.record, claim=claim), valid.why
        refusal = await check_access(
            request,
            self.allowlist,
            allowed_workflows=self.allowed_workflows,
            admin_contact=self.settings.slack.admin_contact,
        )
        if refusal is None and not hold_for_quota:
            refusal = self.quota.check()
        if refusal is not None:
            admitted = await self.store.admit(self._refused(valid, refusal), claim=claim)
            return admitted, Reason.of(refusal)
        recipient = str(valid["recipient"])
        caps = caps_for(self.settings, request.surface, request.actor, recipient)
        new = NewRecord(**valid, outcome=outcome)
        admission = await self.store.admit(new, caps, claim=claim)
        return admission, reason_of(caps)  # a reached cap's reason, None when none was

    async def _admit_refused(
        self, request: SendRequest, refusal: Refusal
    ) -> tuple[Admission, Reason | None]:
        valid = self._validate(request)
        if isinstance(valid, _Invalid):
            return await self.store.admit(valid.record), valid.why
        return await self.store.admit(self._refused(valid, refusal)), Reason.of(refusal)

    def _validate(self, request: SendRequest) -> dict[str, Any] | _Invalid:
        """Step 1: the request's fields for its record, or the `invalid` record to store."""
        base = {
            "actor": request.actor,
            "surface": request.surface,
            "idempotency_key": request.idempotency_key,
            "channel": request.channel,
            "reply": request.reply,
            "text_length": len(request.text),
            "text": storable(request.text),  # as typed; a refused NUL shows as U+FFFD
            "resend_after": request.resend_unknown_after,
            "repeat_of": request.repeat_of,
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
            why = Reason.of(exc)
            if (
                why is not None
                and isinstance(exc, InvalidNumber)
                and self.settings.audit.mask_numbers
            ):
                why = why.masked(request.to)
            return _Invalid(NewRecord(**base, recipient=recipient, **invalid), why)
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

    # -- for the outbox ------------------------------------------------------------------

    async def send_taken(
        self,
        record: AuditRecord,
        *,
        retry_at: RetryAt,
        recorded: Callable[[], None] | None = None,
    ) -> AuditRecord | None:
        """Steps 4-6 for a queued row the outbox has taken (marked `sending`). Returns the final
        record, or None when the row went back to the queue: to wait for KPN's quota, or, while
        KPN is unreachable, until `retry_at(record)` (None: it has waited long enough).
        `recorded` is called once the outcome is in the store, before the notifier is told."""
        return await self._send(record, record.to_request(), retry_at=retry_at, recorded=recorded)

    async def finished(self, request: SendRequest, record: AuditRecord) -> None:
        """Step 6 for a record that became final outside the pipeline (a row left `sending`
        by a process that died, declared `unknown` by the outbox)."""
        await self._finished(request, record, reason="died_while_sending", detail=DIED_REASON)

    async def _send(
        self,
        record: AuditRecord,
        request: SendRequest,
        *,
        retry_at: RetryAt | None,
        recorded: Callable[[], None] | None = None,
    ) -> AuditRecord | None:
        """Steps 4-6 for a row this process has marked `sending`. With `retry_at` (the outbox's
        schedule) the row may go back to the queue instead of failing: nobody waits on an
        outbox row, and an alert's sender got its 200 already and will not send it again."""
        assert record.recipient is not None and record.text is not None
        started = time.perf_counter()
        outcome, fields, reason = Outcome.SENT, dict[str, Any](), None
        why: Reason | None = None  # for a failure: its code for the notifier, its English kept
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
            why = used_up_until(until, self.settings.timezone)
            if retry_at is not None:
                await self.store.requeue(record.request_id, not_before=until, error=why.english())
                log.info("sms %s waits in the outbox for KPN's quota", record.request_id)
                return None
            outcome, fields = Outcome.FAILED, {"rule": "kpn_quota", "retry_at": until}
        except KpnOutcomeUnknown:
            outcome, why, reason = Outcome.UNKNOWN, NO_ANSWER_REASON, "kpn_no_answer"
        except KpnUnavailable as exc:
            again = retry_at(record) if retry_at is not None else None
            if again is not None:
                shown = local_time(again, self.settings.timezone, seconds=True)
                error = f"{exc} Not sent yet; trying again after {shown}."
                await self.store.requeue(record.request_id, not_before=again, error=error)
                log.info("sms %s waits in the outbox for KPN to be reachable", record.request_id)
                return None
            outcome, why, reason = Outcome.FAILED, not_sent(exc), "kpn_unreachable"
        except KpnAuthError as exc:
            # Wrong or missing credentials: the settings need fixing (the CLI exits 2).
            outcome, why, fields = Outcome.FAILED, kpn_reason(exc), {"rule": KPN_CREDENTIALS_RULE}
        except KpnError as exc:
            outcome, why, reason = Outcome.FAILED, kpn_reason(exc), failure_reason(exc)
        except Exception:
            log.exception("unexpected error sending sms %s", record.request_id)
            outcome, why, reason = Outcome.UNKNOWN, UNEXPECTED_REASON, "unexpected_error"
        else:
            self.quota.saw_quota(receipt.quota)
            fields = {"document_id": receipt.document_id, "extra_attempts": receipt.attempts - 1}
        finally:
            if self.metrics is not None:
                self.metrics.kpn_latency.observe(time.perf_counter() - started)
        if why is not None:
            fields["error"] = why.english()
        final = await self.store.finish(record.request_id, outcome, **fields)
        if recorded is not None:
            recorded()
        await self._finished(request, final, reason=reason, detail=why)
        return final

    async def _finished(
        self,
        request: SendRequest,
        record: AuditRecord,
        *,
        reason: str | None = None,
        detail: Reason | None = None,
    ) -> None:
        """Step 6: count, log (number masked; the rule, or for outcomes without one what
        happened, but never the message, which may quote a number) and tell the surface."""
        if self.metrics is not None:
            self.metrics.sends.labels(str(record.surface), str(record.outcome)).inc()
        shown = mask_number(record.recipient) if record.recipient else "-"
        why = record.rule or reason
        # `unknown` needs a person: the SMS may or may not have reached the phone.
        level = logging.WARNING if record.outcome is Outcome.UNKNOWN else logging.INFO
        log.log(
            level,
            "sms %s %s: %s to %s from %s%s%s",
            record.request_id,
            record.outcome,
            record.surface,
            shown,
            record.actor,
            f" rule={why}" if why else "",
            f" document_id={record.document_id}" if record.document_id else "",
        )
        notifier = self._notifiers.get(record.surface)
        if notifier is None:
            return
        try:
            await notifier.notify(request, _explained(record.to_result(), detail))
        except Exception:
            log.exception("the %s notifier failed for sms %s", record.surface, record.request_id)
