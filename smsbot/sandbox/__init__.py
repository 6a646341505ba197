"""A KPN-compatible SMS server with a web inbox, for demos, development and tests.

It speaks KPN's token and send API on the same paths, with the same JSON, validation rules,
error bodies and response headers, keeps what it receives in memory, and shows it at `GET /`
as a phone would. Faults (error statuses, slow answers, dropped connections) can be scripted
through `POST /sandbox/faults`, so clients can be tested for retries and unknown outcomes.

    app = create_sandbox_app(SandboxConfig())          # an aiohttp application
    async with running_sandbox() as sandbox: ...       # smsbot.sandbox.testing, on loopback
"""

from smsbot.sandbox.app import create_sandbox_app
from smsbot.sandbox.config import QuotaRule, SandboxConfig

__all__ = ["QuotaRule", "SandboxConfig", "create_sandbox_app"]
