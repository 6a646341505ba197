"""The Bolt app: `build_slack_app(settings, service)` wires the listeners to the service.

Built on call, never at import. The listener modules register themselves from one tuple,
`LISTENERS`; a module is anything with `register(app, deps)`.

Acknowledge first: `process_before_response=False` makes Bolt run each listener in a task of
its own and answer Slack as soon as the listener calls `ack()`; every listener acks before it
touches the store, KPN or a slow Slack method. The modal submission is the one exception by
design: it checks the form (pure code and a cached allowlist) before its ack, because that is
the only moment Slack lets errors appear inline in the form.
"""

from __future__ import annotations

from collections.abc import Iterable
from types import ModuleType
from typing import TYPE_CHECKING

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from smsbot.errors import ConfigurationError
from smsbot.metrics import Metrics
from smsbot.settings import Settings
from smsbot.slack import command, modal, shortcuts, workflow_step
from smsbot.slack.context import SlackDeps
from smsbot.slack.directory import SlackDirectory
from smsbot.slack.notifier import SlackNotifier
from smsbot.sms.request import Surface

if TYPE_CHECKING:
    from smsbot.service import SmsService

LISTENERS: tuple[ModuleType, ...] = (command, modal, shortcuts, workflow_step)
SLACK_SURFACES = (Surface.SLACK_COMMAND, Surface.SLACK_MODAL, Surface.SLACK_SHORTCUT)


def build_slack_app(
    settings: Settings,
    service: SmsService,
    *,
    metrics: Metrics | None = None,
    client: AsyncWebClient | None = None,
    listeners: Iterable[ModuleType] = LISTENERS,
) -> AsyncApp:
    slack = settings.slack
    if client is None:
        if slack.bot_token is None or not slack.bot_token.get_secret_value():
            raise ConfigurationError(
                "SMSBOT_SLACK__BOT_TOKEN (or SLACK_BOT_TOKEN) is not set: copy the xoxb- token "
                "from your Slack app's OAuth & Permissions page."
            )
        client = AsyncWebClient(token=slack.bot_token.get_secret_value(), base_url=slack.api_url)
    app = AsyncApp(
        name="smsbot",
        # Bolt takes the token from the client (and authorizes with auth.test on first use).
        # Without a secret no HTTP request verifies, so HTTP mode refuses everything (401);
        # Socket Mode needs none, Slack authenticates the websocket instead.
        signing_secret=slack.signing_secret.get_secret_value() if slack.signing_secret else "",
        client=client,
        process_before_response=False,
    )
    directory = SlackDirectory(client, cache_seconds=slack.usergroup_cache_seconds)
    service.allowlist.directory = directory
    notifier = SlackNotifier(client, settings)
    for surface in SLACK_SURFACES:
        service.register_notifier(surface, notifier)
    deps = SlackDeps(settings, service, directory, notifier, metrics)
    for listener in listeners:
        listener.register(app, deps)
    return app
