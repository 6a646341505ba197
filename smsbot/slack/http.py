"""`POST /slack/events`: Slack's HTTP requests into the Bolt app.

Bolt checks the signature (`X-Slack-Signature` over `v0:{timestamp}:{body}`, timestamps older
than five minutes refused) and answers 401 itself. Slack's retries (`X-Slack-Retry-Num`) are
dispatched like first deliveries on purpose: if the first one never got recorded, the retry is
how the request arrives at all, and the idempotency keys derived from Slack's own ids make a
second delivery of a recorded request send nothing.

`on_ack` gets the seconds from the request's arrival in the handler to its response (the ack),
for `smsbot_slack_ack_seconds`. Timed in the handler itself, not in an aiohttp middleware,
which every other route (alerts, probes, metrics) would pass through too.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp

SLACK_EVENTS_PATH = "/slack/events"


def add_slack_routes(
    app: web.Application,
    bolt_app: AsyncApp,
    *,
    on_ack: Callable[[float], object] | None = None,
) -> None:
    async def slack_events(request: web.Request) -> web.Response:
        bolt_response = await bolt_app.async_dispatch(await to_bolt_request(request))
        return await to_aiohttp_response(bolt_response)

    if on_ack is None:
        app.router.add_post(SLACK_EVENTS_PATH, slack_events)
        return

    async def timed_slack_events(request: web.Request) -> web.Response:
        started = time.perf_counter()
        try:
            return await slack_events(request)
        finally:
            on_ack(time.perf_counter() - started)

    app.router.add_post(SLACK_EVENTS_PATH, timed_slack_events)
