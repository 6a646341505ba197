"""Escalation: when a group is still unacknowledged at a step's time, that step's people are
paged.

The steps are durable timers in the store (armed when the group opens, cancelled in the same
transaction as an acknowledgement, a silence or a resolve). Every replica runs an
`EscalationTimer`; each tick takes the due steps (`Store.take_due_steps`: row locks that other
replicas skip, and a lease), pages, and marks them fired. A replica that dies after taking a
step leaves it to be taken again when its lease ends; the SMS it may have recorded already
carry an idempotency key per group, episode, step and phone, so the retaker records none
twice. So each step fires once, across restarts and replicas.

Escalation SMS go through `SmsService.enqueue` like every alert SMS (caps, audit, outbox, the
mirror), say they are an escalation, and carry the reply hint with each phone's code.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from datetime import timedelta
from typing import TYPE_CHECKING

from smsbot.alerts.groups import AlertGroups
from smsbot.alerts.recipients import RecipientResolver
from smsbot.alerts.render import with_hint
from smsbot.alerts.replies import format_duration
from smsbot.periodic import every
from smsbot.sms.request import SendRequest, Surface
from smsbot.store.alert_groups import AlertGroupRecord, EscalationStep, GroupState, StepState

if TYPE_CHECKING:
    from smsbot.service import SmsService

log = logging.getLogger(__name__)

# How long a replica owns a step it took: far longer than paging a few phones takes.
LEASE = timedelta(minutes=2)
TICK_SECONDS = 5.0


class EscalationTimer:
    def __init__(
        self,
        groups: AlertGroups,
        service: SmsService,
        resolver: RecipientResolver,
        *,
        max_parts: int = 1,
        lease: timedelta = LEASE,
    ) -> None:
        self.groups = groups
        self.service = service
        self.resolver = resolver
        self.max_parts = max_parts
        self.lease = lease

    async def tick(self) -> list[EscalationStep]:
        """Fire every due step; the steps this call fired."""
        fired = []
        for step in await self.groups.store.take_due_steps(self.lease):
            try:
                if await self._fire(step):
                    fired.append(step)
            except Exception:
                # Left `firing`: after its lease, this or another replica tries it again.
                log.exception("escalation step %d of group %s failed", step.step, step.group_id)
        return fired

    async def _fire(self, step: EscalationStep) -> bool:
        store = self.groups.store
        group = await store.alert_group(step.group_id)
        route = self.groups.routes.get(group.route) if group else None
        if (
            group is None
            or route is None
            or group.state is not GroupState.FIRING
            or group.episode != step.episode
            or step.step >= len(route.escalate)
        ):
            await store.finish_step(step, StepState.CANCELLED)
            return False
        config = route.escalate[step.step]
        numbers = await self.resolver.numbers(config.to)
        waited = format_duration(config.after)
        for number in numbers:
            name = await self.resolver.name_for(number)
            code = await self.groups.code_for(group.id, number, name)
            text = escalation_text(group, waited, self.groups.hint(code, route), self.max_parts)
            result = await self.service.enqueue(
                SendRequest(
                    actor=f"alert:{route.name}",
                    surface=Surface(group.source),
                    to=number,
                    text=text,
                    channel=route.mirror_channel,
                    idempotency_key=(f"escalation:{group.id}:{step.episode}:{step.step}:{number}"),
                    reply={
                        "route": route.name,
                        "mirror_channel": route.mirror_channel,
                        "group_key": group.group_key,
                        "alert_group": group.id,
                        "escalation_step": step.step + 1,
                    },
                    # A page like the first: repeated once if its send ends unknown, unreported.
                    resend_unknown_after=route.resend_unknown_after,
                )
            )
            await self.groups.note_send(group.id, number, result.request_id)
        if not await store.finish_step(step, StepState.FIRED):
            return False  # acknowledged meanwhile; the SMS recorded above still go
        await self.groups.tell(
            group,
            f"escalated (step {step.step + 1}): not acknowledged after {waited}, "
            f"paged {len(numbers)} more {'person' if len(numbers) == 1 else 'people'}",
        )
        log.info(
            "alert group %s escalated, step %d: %d phone(s)", group.id, step.step + 1, len(numbers)
        )
        return True


def escalation_text(group: AlertGroupRecord, waited: str, hint: str | None, max_parts: int) -> str:
    head = f"ESCALATION, not acknowledged after {waited}: "
    body = group.summary or ", ".join(f"{k}={v}" for k, v in sorted(group.labels.items()))
    return with_hint(head + body, hint, max_parts)


def running(
    timer: EscalationTimer, tick_seconds: float = TICK_SECONDS
) -> AbstractAsyncContextManager[None]:
    """Run `timer.tick()` every `tick_seconds` until the block ends."""
    return every(tick_seconds, timer.tick, name="escalation timer")


__all__: Sequence[str] = ("EscalationTimer", "escalation_text", "running")
