"""The Bolt app: `build_slack_app(deps, ...)` wires the listeners to the service.

Built on call, never at import. The listener modules register themselves from one tuple,
`LISTENERS`; a module is anything with `register(app, deps)`, and `deps` (`SlackDeps`) holds
every part a listener may use, all built before the app (`smsbot.bootstrap`).

Acknowledge first: `process_before_response=False` makes Bolt run each listener in a task of
its own and answer Slack as soon as the listener calls `ack()`; every listener acks before it
touches the store, KPN or a slow Slack method. The modal submission is the one exception by
design: it checks the form (pure code and a cached allowlist) before its ack, because that is
the only moment Slack lets errors appear inline in the form.

One connection pool for Slack: the Web API client (built by `smsbot.bootstrap` with the bot's
`aiohttp.ClientSession`) is shared by Bolt's per-request clients, the directory and the notifier
(also for `response_url` posts). Without it slack-sdk opens a session, a TCP (and TLS)
connection, for every call and closes it again, which cost more CPU than the rest of a
confirmation. The client waits out Slack's rate limits (`smsbot.slack.retry`), and so
does every client Bolt derives from it.

Authorization: one workspace, one bot token. Bolt's `authorize` hook is
`WorkspaceAuthorization`, which asks `auth.test` once and hands its answer to every request;
`warm_up` asks it before Slack's first request, so a burst right after a start does not ask once
per request.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from types import ModuleType

import aiohttp
from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.authorization.async_authorize import AsyncAuthorize
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from smsbot.slack import alert_buttons, command, modal, reply_button, shortcuts, workflow_step
from smsbot.slack.context import SlackDeps
from smsbot.slack.retry import web_client
from smsbot.sms.request import Surface

log = logging.getLogger(__name__)

LISTENERS: tuple[ModuleType, ...] = (
    command,
    modal,
    reply_button,
    shortcuts,
    workflow_step,
    alert_buttons,
)
SLACK_SURFACES = (Surface.SLACK_COMMAND, Surface.SLACK_MODAL, Surface.SLACK_SHORTCUT)
# Long enough for Slack's auth.test (well under a second); an unreachable Slack must not hold
# up the start: the first request then asks, as Bolt would have anyway.
WARM_UP_SECONDS = 5.0


class WorkspaceAuthorization(AsyncAuthorize):
    """Bolt's `authorize` for the workspace of the bot token: `auth.test`, asked once.

    Requests arriving while it is being asked share that one call. When it fails (Slack
    unreachable, a refused token) the next request asks again, and Bolt answers the failed one
    with its own error.
    """

    def __init__(self, client: AsyncWebClient) -> None:
        self._client = client
        self._answer: AuthorizeResult | None = None
        self._asking: asyncio.Future[AuthorizeResult] | None = None

    async def __call__(self, **_request: object) -> AuthorizeResult:
        """Called by Bolt for each request (with its context and ids: one workspace, one
        answer for all)."""
        return self._answer or await self._ask()

    async def warm_up(self) -> bool:
        """Ask now, before serving; True when the answer is in place. On failure (logged)
        the first request asks again."""
        try:
            async with asyncio.timeout(WARM_UP_SECONDS):
                await self._ask()
        except (SlackApiError, aiohttp.ClientError, OSError, TimeoutError) as exc:
            log.warning("Slack auth.test did not answer at start (%s); asking on first use", exc)
            return False
        return True

    async def _ask(self) -> AuthorizeResult:
        if self._answer is not None:
            return self._answer
        if self._asking is None:
            self._asking = asyncio.ensure_future(self._auth_test())
            self._asking.add_done_callback(self._asked)
        return await asyncio.shield(self._asking)

    async def _auth_test(self) -> AuthorizeResult:
        token = self._client.token
        response = await self._client.auth_test()
        answer = AuthorizeResult.from_auth_test_response(
            auth_test_response=response,
            bot_token=token,
            bot_scopes=response.headers.get("x-oauth-scopes"),
        )
        self._answer = answer
        return answer

    def _asked(self, asking: asyncio.Future[AuthorizeResult]) -> None:
        self._asking = None
        if not asking.cancelled():
            asking.exception()  # retrieved here: whoever awaited it has seen it


def build_slack_app(
    deps: SlackDeps,
    *,
    client: AsyncWebClient,
    authorization: WorkspaceAuthorization,
    listeners: Iterable[ModuleType] = LISTENERS,
) -> AsyncApp:
    """The Bolt app with every listener, each handed `deps`, on `client` (the bot token's,
    sharing the bot's connection pool). The notifiers and the allowlist's directory in `deps`
    come from the same client; `smsbot.bootstrap` builds them all, before this."""
    settings = deps.settings
    slack = settings.slack
    app = AsyncApp(
        # Bolt sets the root's level on a logger of this name: not "smsbot", smsbot's own.
        name="smsbot-bolt",
        # HTTP requests are verified before Bolt sees them, at the seam (`slack.http`), with
        # the same slack_sdk verifier: Bolt's own check parses the body first and logs all of
        # it on every failure. Socket Mode needs none, Slack authenticates the websocket.
        signing_secret=slack.signing_secret.get_secret_value() if slack.signing_secret else "",
        request_verification_enabled=False,
        # The token comes with each request's authorization; Bolt's own per-request clients
        # are built from this one: the same API URL, connection pool and rate-limit retries.
        client=web_client(
            None, client.base_url, session=client.session, handlers=client.retry_handlers
        ),
        authorize=authorization,
        process_before_response=False,
    )
    for listener in listeners:
        listener.register(app, deps)
    return app
