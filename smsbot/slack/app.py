"""The Bolt app: `build_slack_app(settings, service)` wires the listeners to the service.

Built on call, never at import. The listener modules register themselves from one tuple,
`LISTENERS`; a module is anything with `register(app, deps)`.

Acknowledge first: `process_before_response=False` makes Bolt run each listener in a task of
its own and answer Slack as soon as the listener calls `ack()`; every listener acks before it
touches the store, KPN or a slow Slack method. The modal submission is the one exception by
design: it checks the form (pure code and a cached allowlist) before its ack, because that is
the only moment Slack lets errors appear inline in the form.

One connection pool for Slack: the Web API client is given the bot's `aiohttp.ClientSession`
(`session=`), and Bolt's per-request clients, the directory and the notifier (also for
`response_url` posts) share it. Without it slack-sdk opens a session, a TCP (and TLS)
connection, for every call and closes it again, which cost more CPU than the rest of a
confirmation. `warm_up_authorization` asks `auth.test` once before Slack's first request.
The client waits out Slack's rate limits (`smsbot.slack.retry`), and so does every client Bolt
derives from it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from types import ModuleType
from typing import TYPE_CHECKING

import aiohttp
from slack_bolt.async_app import AsyncApp
from slack_bolt.middleware.authorization.async_single_team_authorization import (
    AsyncSingleTeamAuthorization,
)
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from smsbot.errors import ConfigurationError
from smsbot.metrics import Metrics
from smsbot.settings import Settings
from smsbot.slack import command, modal, reply_button, shortcuts, workflow_step
from smsbot.slack.context import SlackDeps
from smsbot.slack.delivery_updates import SlackDeliveryUpdates
from smsbot.slack.directory import SlackDirectory
from smsbot.slack.notifier import SlackNotifier
from smsbot.slack.retry import web_client
from smsbot.slack.step_permissions import SYNC as STEP_PERMISSIONS_SYNC
from smsbot.slack.step_permissions import StepPermissions
from smsbot.sms.request import Surface

if TYPE_CHECKING:
    from smsbot.service import SmsService

log = logging.getLogger(__name__)

LISTENERS: tuple[ModuleType, ...] = (command, modal, reply_button, shortcuts, workflow_step)
SLACK_SURFACES = (Surface.SLACK_COMMAND, Surface.SLACK_MODAL, Surface.SLACK_SHORTCUT)


def build_slack_app(
    settings: Settings,
    service: SmsService,
    *,
    metrics: Metrics | None = None,
    client: AsyncWebClient | None = None,
    session: aiohttp.ClientSession | None = None,
    listeners: Iterable[ModuleType] = LISTENERS,
) -> AsyncApp:
    """The Bolt app with every listener; `session` is the connection pool for Slack calls
    (the caller closes it after the service, whose outbox may still confirm sends)."""
    slack = settings.slack
    if client is None:
        if slack.bot_token is None or not slack.bot_token.get_secret_value():
            raise ConfigurationError(
                "SMSBOT_SLACK__BOT_TOKEN (or SLACK_BOT_TOKEN) is not set: copy the xoxb- token "
                "from your Slack app's OAuth & Permissions page."
            )
        client = web_client(slack.bot_token.get_secret_value(), slack.api_url, session=session)
    app = AsyncApp(
        # Bolt sets the root's level on a logger of this name: not "smsbot", smsbot's own.
        name="smsbot-bolt",
        # Bolt takes the token from the client (and authorizes with auth.test on first use).
        # HTTP requests are verified before Bolt sees them, at the seam (`slack.http`), with
        # the same slack_sdk verifier: Bolt's own check parses the body first and logs all of
        # it on every failure. Socket Mode needs none, Slack authenticates the websocket.
        signing_secret=slack.signing_secret.get_secret_value() if slack.signing_secret else "",
        request_verification_enabled=False,
        client=client,
        process_before_response=False,
    )
    directory = SlackDirectory(
        client,
        cache_seconds=slack.usergroup_cache_seconds,
        team_id=slack.team_id,
        phone_field=slack.phone_field,
    )
    service.allowlist.directory = directory
    if slack.step_permissions == STEP_PERMISSIONS_SYNC:
        service.allowed_workflows = StepPermissions(client, settings, service.allowlist)
    # The confirmation's (channel, ts) stored with the SMS: its delivery is shown there.
    notifier = SlackNotifier(client, settings, directory)
    notifier.remember = SlackDeliveryUpdates(notifier, service.store).confirmation_posted
    for surface in SLACK_SURFACES:
        service.register_notifier(surface, notifier)
    deps = SlackDeps(settings, service, directory, notifier, metrics)
    for listener in listeners:
        listener.register(app, deps)
    return app


# Long enough for Slack's auth.test (well under a second); an unreachable Slack must not hold
# up the start: Bolt then asks on the first request, as it would have anyway.
WARM_UP_SECONDS = 5.0


async def warm_up_authorization(app: AsyncApp) -> bool:
    """Asks Slack's `auth.test` once, now, for Bolt's single-workspace authorization.

    Bolt asks it on the first request and keeps the answer, but every request that arrives
    before the first answer asks again: a burst of 50 commands right after a start made 50
    `auth.test` calls, each on the way to an ack. Answered here, before the bot serves, the
    first request finds it. Returns whether the answer is in place; on any failure (Slack
    unreachable, a refused token) Bolt asks per request as before and answers its own error.
    """
    authorization = next(
        (m for m in app._async_middleware_list if isinstance(m, AsyncSingleTeamAuthorization)),
        None,
    )
    if authorization is None:  # not a single-workspace app (or Bolt changed): nothing to do
        return False
    if authorization.auth_test_result is None:
        try:
            async with asyncio.timeout(WARM_UP_SECONDS):
                authorization.auth_test_result = await app.client.auth_test()
        except (SlackApiError, aiohttp.ClientError, OSError, TimeoutError) as exc:
            log.warning("Slack auth.test did not answer at start (%s); asking on first use", exc)
            return False
    return True
