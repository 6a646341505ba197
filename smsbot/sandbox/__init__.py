"""A KPN-compatible SMS server with a web inbox, for demos, development and tests.

It speaks KPN's token and send API on the same paths, with the same JSON, validation rules,
error bodies and response headers, keeps what it receives in memory, and shows it at `GET /`
as a phone would. It plays KPN's side of what comes back too: delivery reports posted to each
send's `webhook_url`, and replies typed on a phone's card (or `POST /sandbox/inbound`) posted
to the inbound webhook as KPN's inbound SMS. Faults (error statuses, slow answers, dropped
connections) and delivery reports (failed, expired, duplicate, out of order...) can be
scripted through `POST /sandbox/faults`, so clients can be tested for retries, unknown
outcomes and every report. The bodies it posts are built in `webhook_bodies`.

    app = create_sandbox_app(SandboxConfig())          # an aiohttp application
    async with running_sandbox() as sandbox: ...       # smsbot.sandbox.testing, on loopback
"""

from smsbot.sandbox.app import create_sandbox_app
from smsbot.sandbox.config import QuotaRule, SandboxConfig

__all__ = ["QuotaRule", "SandboxConfig", "create_sandbox_app"]
