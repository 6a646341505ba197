"""`POST /slack/events`: Slack's HTTP requests into the Bolt app.

Bolt checks the signature (`X-Slack-Signature` over `v0:{timestamp}:{body}`, timestamps older
than five minutes refused) and answers 401 itself. Slack's retries (`X-Slack-Retry-Num`) are
dispatched like first deliveries on purpose: if the first one never got recorded, the retry is
how the request arrives at all, and the idempotency keys derived from Slack's own ids make a
second delivery of a recorded request send nothing.
"""

from __future__ import annotations

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp

SLACK_EVENTS_PATH = "/slack/events"


def add_slack_routes(app: web.Application, bolt_app: AsyncApp) -> None:
    async def slack_events(request: web.Request) -> web.Response:
        bolt_response = await bolt_app.async_dispatch(await to_bolt_request(request))
        return await to_aiohttp_response(bolt_response)

    app.router.add_post(SLACK_EVENTS_PATH, slack_events)
