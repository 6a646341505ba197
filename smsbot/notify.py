"""How the service tells a surface what became of its request, without knowing the surface."""

from __future__ import annotations

from typing import Protocol

from smsbot.sms.request import SendRequest, SendResult


class Notifier(Protocol):
    """Handed to `SmsService(notifiers={surface: notifier})`, one per surface.

    Called once for each request that reaches a final outcome (sent, failed, unknown, refused,
    invalid), also when the outbox finishes a request after a restart. An exception raised here
    is logged and never changes the outcome.
    """

    async def notify(self, request: SendRequest, result: SendResult) -> None: ...
