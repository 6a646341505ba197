"""Everything one sandbox holds in memory: tokens, quota, scripted faults, inbox, counters."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from aiohttp import web

from smsbot.sandbox.config import SandboxConfig
from smsbot.sandbox.faults import FaultPlan
from smsbot.sandbox.inbox import Inbox
from smsbot.sandbox.quota import QuotaCounter
from smsbot.sandbox.tokens import TokenStore


@dataclass
class SandboxState:
    config: SandboxConfig
    tokens: TokenStore = field(init=False)
    quota: QuotaCounter = field(init=False)
    inbox: Inbox = field(init=False)
    faults: FaultPlan = field(default_factory=FaultPlan)
    # Requests that reached each endpoint, whatever the answer (faults and errors included).
    token_requests: int = 0
    send_requests: int = 0
    # KPN names the API Store app a token was issued to; one per sandbox.
    application_name: str = field(default_factory=lambda: str(uuid.uuid4()))

    def __post_init__(self) -> None:
        self.tokens = TokenStore(self.config.clock)
        self.quota = QuotaCounter(self.config.quota, self.config.clock)
        self.inbox = Inbox(self.config.max_messages)

    def reset(self) -> None:
        """Empty inbox, faults, counters and quota use; issued tokens stay valid."""
        self.inbox.clear()
        self.faults.clear()
        self.quota.reset()
        self.token_requests = self.send_requests = 0

    def stats(self) -> dict[str, object]:
        return {
            "token_requests": self.token_requests,
            "send_requests": self.send_requests,
            "messages": len(self.inbox),
            "messages_received": self.inbox.received_total,
            "quota": self.quota.describe(),
            "faults_pending": self.faults.pending(),
        }


# Where an application keeps its state; handlers reach it as `request.app[STATE]`.
STATE: web.AppKey[SandboxState] = web.AppKey("sandbox_state", SandboxState)
