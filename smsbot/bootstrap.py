"""Opening and closing the service with everything it needs, in the right order.

```python
async with open_service(settings, metrics=metrics) as service:
    ...
```

Opens the store (creating or upgrading its schema), the KPN client and the outbox worker; the
worker first resumes what a previous process left: rows still `queued` are sent, rows left
`sending` for longer than a send can take become `unknown`. On exit the worker stops claiming,
sends under way get time to finish, and the client and store are closed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from smsbot.kpn.client import KpnClient
from smsbot.metrics import Metrics
from smsbot.service import RETRY_DELAYS, SmsService
from smsbot.settings import Settings
from smsbot.store import Store

# How long a stop lets the outbox's sends under way finish: below Kubernetes' default 30 s
# termination grace period.
STOP_GRACE_SECONDS = 20.0


@asynccontextmanager
async def open_service(
    settings: Settings,
    *,
    metrics: Metrics | None = None,
    run_outbox: bool = True,
    outbox_concurrency: int | None = None,
    stale_after: timedelta | None = None,
    retry_delays: tuple[float, float] = RETRY_DELAYS,
    stop_grace_seconds: float = STOP_GRACE_SECONDS,
) -> AsyncIterator[SmsService]:
    """`run_outbox=False` is for one-shot commands (`smsbot send`) that send in their own task
    and should leave the bot's queued rows to the bot, whose notifiers can answer in Slack.
    `outbox_concurrency` (default `kpn.outbox_concurrency`) bounds the sends the worker has
    under way at once; `stale_after`
    (default: the longest a send can take under the KPN timeouts) is how long a row may stay
    `sending` before it is declared `unknown`. `retry_delays` (first, longest) spaces the
    outbox's tries while KPN is unreachable (tests shorten it). On exit, sends under way get
    `stop_grace_seconds` to finish; then they are cancelled, their rows left `sending` to become
    `unknown` (perhaps sent), never sent again."""
    store = await Store.open(settings.database_url, store_text=settings.audit.store_text)
    try:
        async with KpnClient(settings.kpn) as kpn:
            if metrics is not None:
                metrics.watch_outbox(store.outbox_state)
                metrics.watch_kpn(kpn)
            service = SmsService(
                settings,
                store,
                kpn,
                metrics=metrics,
                outbox_concurrency=outbox_concurrency or settings.kpn.outbox_concurrency,
                stale_after=stale_after,
                retry_delays=retry_delays,
            )
            if run_outbox:
                service.start_outbox()
            try:
                yield service
            finally:
                await service.stop_outbox(stop_grace_seconds)
    finally:
        await store.close()
