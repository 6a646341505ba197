"""`POST /slack/events`: Slack's HTTP requests into the Bolt app.

Every request is checked here first (`inbound`): the signature (`X-Slack-Signature` over
`v0:{timestamp}:{body}`, timestamps older than five minutes refused: 401), then the body
(400 when it is not what Slack sends). Only then does Bolt get it, already parsed: Bolt's own
verification is off (`slack.app`), because it parses the body before it checks the signature
and logs the whole body of every request that fails. A refusal is logged in one short line
that says what was wrong, never what the body held.

Slack's retries (`X-Slack-Retry-Num`) are dispatched like first deliveries on purpose: if the
first one never got recorded, the retry is how the request arrives at all, and the idempotency
keys derived from Slack's own ids make a second delivery of a recorded request send nothing.

`on_ack` gets the seconds from the request's arrival in the handler to its response (the ack),
for `smsbot_slack_ack_seconds`. Timed in the handler itself, not in an aiohttp middleware,
which every other route (alerts, probes, metrics) would pass through too.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.request.async_internals import build_async_context
from slack_bolt.request.async_request import AsyncBoltRequest

from smsbot.slack.inbound import Refused, SlackSignature, parse_body

SLACK_EVENTS_PATH = "/slack/events"

log = logging.getLogger(__name__)


def add_slack_routes(
    app: web.Application,
    bolt_app: AsyncApp,
    *,
    signing_secret: str | None,
    on_ack: Callable[[float], object] | None = None,
) -> None:
    signature = SlackSignature(signing_secret)

    async def slack_events(request: web.Request) -> web.Response:
        try:
            text = signature.check(request.headers, await request.read())
            bolt_request = _bolt_request(request, text, parse_body(text, request.content_type))
        except Refused as refused:
            log.info(
                "refused a request to %s (%d): %s",
                SLACK_EVENTS_PATH,
                refused.status,
                refused.reason,
            )
            return web.json_response({"error": refused.reason}, status=refused.status)
        bolt_response = await bolt_app.async_dispatch(bolt_request)
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


def _bolt_request(request: web.Request, text: str, body: dict[str, Any]) -> AsyncBoltRequest:
    """Bolt's request with the body parsed here, not by `slack_bolt.request.internals.parse_body`
    (see `inbound`): built empty, then given the signed text and the parsed body, as Bolt's
    constructor would have set them. (Bolt re-parses `raw_body` only to copy a request for a lazy
    listener; smsbot has none.)"""
    bolt_request = AsyncBoltRequest(body="", query=request.query_string, headers=request.headers)  # type: ignore[arg-type]
    bolt_request.raw_body = text
    bolt_request.body = body
    try:
        bolt_request.context = build_async_context(AsyncBoltContext({}), body)
    except (AttributeError, TypeError, KeyError, IndexError, ValueError):
        # Bolt walks ids out of the body; a shape `inbound` does not know still gets a 400.
        reason = "the body's ids (team, user, channel) are not where Slack puts them"
        raise Refused(400, reason) from None
    return bolt_request
