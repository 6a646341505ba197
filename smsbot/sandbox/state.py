"""Everything one sandbox holds in memory: tokens, quota, scripted faults, inbox, counters,
and the posts it has under way to webhooks."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from aiohttp import web

from smsbot.sandbox.config import SandboxConfig, check_webhook_url
from smsbot.sandbox.faults import FaultPlan
from smsbot.sandbox.holding import AnswerGate
from smsbot.sandbox.inbox import Inbox
from smsbot.sandbox.posting import Poster
from smsbot.sandbox.quota import QuotaCounter
from smsbot.sandbox.tokens import TokenStore


@dataclass
class SandboxState:
    config: SandboxConfig
    tokens: TokenStore = field(init=False)
    quota: QuotaCounter = field(init=False)
    inbox: Inbox = field(init=False)
    poster: Poster = field(init=False)
    faults: FaultPlan = field(default_factory=FaultPlan)
    # Tests close it to hold the answers to sends (smsbot.sandbox.holding).
    answers: AnswerGate = field(default_factory=AnswerGate)
    # Requests that reached each endpoint, whatever the answer (faults and errors included).
    token_requests: int = 0
    send_requests: int = 0
    # KPN names the API Store app a token was issued to; one per sandbox.
    application_name: str = field(default_factory=lambda: str(uuid.uuid4()))
    # Where inbound SMS go; starts as configured, and can be pointed elsewhere while serving
    # (a demo knows its bot's address only once the bot listens).
    inbound_webhook: str | None = None

    def __post_init__(self) -> None:
        self.tokens = TokenStore(self.config.clock)
        self.quota = QuotaCounter(self.config.quota, self.config.clock)
        self.inbox = Inbox(self.config.max_messages)
        self.poster = Poster(self.config.retry_delays, self.config.post_timeout)
        self.inbound_webhook = self.config.inbound_webhook

    def set_inbound_webhook(self, url: str | None) -> None:
        self.inbound_webhook = None if url is None else check_webhook_url(url, "inbound webhook")

    async def start_posting(self) -> None:
        await self.poster.start()

    async def stop_posting(self) -> None:
        await self.poster.stop()

    def reset(self) -> None:
        """Empty inbox and faults, stop reports still due, zero every counter and the quota
        use, let held answers go; issued tokens stay valid."""
        self.poster.cancel_all()
        self.inbox.clear()
        self.inbox.reset_totals()
        self.faults.clear()
        self.answers.open()
        self.quota.reset()
        self.poster.reset_counts()
        self.token_requests = self.send_requests = 0

    def stats(self) -> dict[str, object]:
        return {
            "token_requests": self.token_requests,
            "send_requests": self.send_requests,
            "messages": len(self.inbox),
            "messages_received": self.inbox.received_total,
            "replies": self.inbox.replies_count(),
            "replies_sent": self.inbox.replies_total,
            "webhook_posts_taken": self.poster.posted,
            "webhook_posts_failed": self.poster.failed,
            "quota": self.quota.describe(),
            "faults_pending": self.faults.pending(),
        }


# Where an application keeps its state; handlers reach it as `request.app[STATE]`.
STATE: web.AppKey[SandboxState] = web.AppKey("sandbox_state", SandboxState)
