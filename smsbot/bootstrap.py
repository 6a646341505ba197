"""Building smsbot from its settings: the one place where the parts are put together.

```python
async with open_bot(settings, mode=slack_mode(settings)) as bot:   # smsbot serve, demo, tests
    bot.web          # the aiohttp application: Slack (HTTP mode), alert intake, health, metrics
    bot.service      # the pipeline; bot.outbox sends what it queued
async with open_service(settings, run_outbox=False) as service:     # one-shot commands
    ...
```

`open_bot` builds, in this order, each part from the ones before it, and changes none after:
the Slack Web API client (when a bot token is set, on one connection pool), the directory of
Slack people on it, the allowlist with that directory, KPN's quota gate, the store and the KPN
client, the service with that policy, the outbox, the notifiers, the Bolt app, the Socket Mode
connection, the alert, delivery-report and inbound-SMS routes and the web application.
Serving it (ports, signals, process tuning) is the caller's: `smsbot.cli.serve_cmd`.

Opening resumes what a previous process left: the outbox sends rows still `queued`, and rows
left `sending` for longer than a send can take become `unknown`. On exit the outbox stops
taking rows, sends under way get time to finish, and the client, store and session are closed.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Collection, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from aiohttp import web
from pydantic import SecretStr

from smsbot.alerts.group_mirror import GroupMirror
from smsbot.alerts.history import AlertHistory
from smsbot.alerts.routes import ALERT_COMMANDS, ALERT_GROUPS
from smsbot.deliveries import DeliveryRecorder, DeliveryWatcher
from smsbot.inbound import InboundService
from smsbot.inbound.threads import ThreadReplies
from smsbot.kpn.client import KpnClient
from smsbot.kpn.delivery.route import delivery_routes
from smsbot.kpn.inbound_route import inbound_routes
from smsbot.metrics import Metrics
from smsbot.outbox import DEFAULT_OUTBOX, Outbox, OutboxOptions
from smsbot.policy import Allowlist, QuotaGate
from smsbot.policy.allowlist import UsergroupDirectory
from smsbot.service import SmsService
from smsbot.settings import Settings
from smsbot.store import Clock, Store, utcnow
from smsbot.web import RouteRegistrar, create_app

if TYPE_CHECKING:
    import aiohttp
    from slack_bolt.async_app import AsyncApp
    from slack_sdk.web.async_client import AsyncWebClient

    from smsbot.slack.app import WorkspaceAuthorization
    from smsbot.slack.delivery_updates import SlackDeliveryUpdates
    from smsbot.slack.directory import SlackDirectory
    from smsbot.slack.notifier import SlackNotifier
    from smsbot.slack.socket_mode import SocketModeConnection
    from smsbot.slack.thread_replies import SlackReplyPoster


class SlackMode(StrEnum):
    SOCKET = "socket"  # Slack delivers over a websocket the bot opens (an app token is set)
    HTTP = "http"  # Slack posts to /slack/events, signed with the signing secret


def secret_text(value: SecretStr | None) -> str:
    return value.get_secret_value().strip() if value is not None else ""


def slack_configured(settings: Settings) -> bool:
    """Whether any Slack setting is given; with none, the bot runs without Slack."""
    slack = settings.slack
    return any(secret_text(t) for t in (slack.bot_token, slack.app_token, slack.signing_secret))


def slack_mode(settings: Settings) -> SlackMode | None:
    """How the bot talks to Slack: None (Slack off) when no Slack setting is given."""
    if not slack_configured(settings):
        return None
    return SlackMode.SOCKET if secret_text(settings.slack.app_token) else SlackMode.HTTP


@dataclass(frozen=True)
class Pipeline:
    service: SmsService
    outbox: Outbox


def allowlist_for(settings: Settings, directory: UsergroupDirectory | None = None) -> Allowlist:
    """The settings' allowlist; user groups are asked of `directory` (Slack's)."""
    allow = settings.allow
    return Allowlist(
        users=allow.users,
        usergroups=allow.usergroups,
        channels=allow.channels,
        directory=directory,
        cache_seconds=settings.slack.usergroup_cache_seconds,
    )


@contextlib.asynccontextmanager
async def open_pipeline(
    settings: Settings,
    *,
    metrics: Metrics | None = None,
    allowlist: Allowlist | None = None,
    allowed_workflows: Collection[str] = (),
    outbox: OutboxOptions = DEFAULT_OUTBOX,
    run_outbox: bool = True,
    clock: Clock = utcnow,
) -> AsyncIterator[Pipeline]:
    """The store (its schema created or upgraded), the KPN client, the service with its policy
    (`allowlist`, by default the settings' without user groups, and the workflow app ids
    `allowed_workflows`) and the outbox, started unless
    `run_outbox=False`: for one-shot commands (`smsbot send`) that send in their own task and
    leave the bot's queued rows to the bot, whose notifiers can answer in Slack. `clock` is
    the time of every part (tests hand in a `smsbot.store.ManualClock`)."""
    allowlist = allowlist or allowlist_for(settings)
    quota = QuotaGate(timezone=settings.timezone, clock=clock)
    store = await Store.open(
        settings.database_url, store_text=settings.audit.store_text, clock=clock
    )
    try:
        async with KpnClient(settings.kpn) as kpn:
            if metrics is not None:
                metrics.watch_outbox(store.outbox_state)
                metrics.watch_kpn(kpn)
            service = SmsService(
                settings,
                store,
                kpn,
                allowlist=allowlist,
                quota=quota,
                allowed_workflows=allowed_workflows,
                metrics=metrics,
            )
            worker = Outbox(settings, store, service, quota, outbox, clock=clock)
            if run_outbox:
                worker.start()
            try:
                yield Pipeline(service, worker)
            finally:
                await worker.stop()
    finally:
        await store.close()


@contextlib.asynccontextmanager
async def open_service(
    settings: Settings,
    *,
    metrics: Metrics | None = None,
    run_outbox: bool = True,
    outbox: OutboxOptions = DEFAULT_OUTBOX,
    clock: Clock = utcnow,
) -> AsyncIterator[SmsService]:
    """The service of `open_pipeline`, without Slack: for commands and pipeline tests."""
    async with open_pipeline(
        settings, metrics=metrics, outbox=outbox, run_outbox=run_outbox, clock=clock
    ) as pipeline:
        yield pipeline.service


@dataclass(frozen=True)
class Bot:
    settings: Settings
    metrics: Metrics
    service: SmsService
    outbox: Outbox
    web: web.Application
    slack_app: AsyncApp | None  # None: Slack off
    socket: SocketModeConnection | None  # None: HTTP mode, or Slack off
    authorization: WorkspaceAuthorization | None  # auth.test, to warm up before serving
    inbound: InboundService  # what KPN's inbound webhook hands SMS to


@contextlib.asynccontextmanager
async def open_bot(
    settings: Settings,
    *,
    mode: SlackMode | None,
    outbox: OutboxOptions = DEFAULT_OUTBOX,
    slack_session: aiohttp.ClientSession | None = None,
    routes: Iterable[RouteRegistrar] = (),
    clock: Clock = utcnow,
    run_outbox: bool = True,
    escalation_tick: float | None = None,
) -> AsyncIterator[Bot]:
    """The whole bot, built from `settings`; `mode=None` runs it without Slack (alerts only).

    `slack_session` is the connection pool for Slack calls (default: one of its own, closed
    after the service, whose outbox may still confirm sends while it stops). `routes` adds
    routes to the web application; `clock` is the time of every part (store, outbox, alerts);
    `run_outbox=False` leaves queued rows unsent (`bot.outbox.start()` starts it);
    `escalation_tick` is how often the escalation timer looks for due steps, and the
    resender for due repeats of unknown alert SMS (tests that run them themselves make it rare).
    Raises `ConfigurationError` for settings that cannot work (e.g. alert routes)."""
    metrics = Metrics()
    bot_token = secret_text(settings.slack.bot_token)
    async with contextlib.AsyncExitStack() as stack:
        client = directory = None
        if bot_token:
            if slack_session is None:
                import aiohttp

                slack_session = await stack.enter_async_context(aiohttp.ClientSession())
            client, directory = _slack_client(settings, bot_token, slack_session)
        allowlist = allowlist_for(settings, directory)
        allowed_workflows: Collection[str] = ()
        if mode is not None and client is not None:
            allowed_workflows = _step_permissions(settings, client, allowlist)
        pipeline = await stack.enter_async_context(
            open_pipeline(
                settings,
                metrics=metrics,
                allowlist=allowlist,
                allowed_workflows=allowed_workflows,
                outbox=outbox,
                run_outbox=run_outbox,
                clock=clock,
            )
        )
        service = pipeline.service
        slack_app = socket = authorization = poster = None
        watchers: list[DeliveryWatcher] = []
        if mode is not None:
            assert client is not None and directory is not None, "Slack needs a bot token"
            slack_app, authorization, updates = _slack_app(
                settings, service, client, directory, metrics
            )
            watchers.append(updates)  # delivery reports shown on Slack's confirmations
            poster = _reply_poster(updates.notifier)
        if mode is SlackMode.SOCKET:
            from smsbot.slack.socket_mode import SocketModeConnection

            socket = SocketModeConnection(
                slack_app,  # type: ignore[arg-type]
                app_token=secret_text(settings.slack.app_token),
                api_url=settings.slack.api_url,
                metrics=metrics,
            )
            metrics.watch_slack(socket)
        alerts = _alert_routes(
            settings, service, client, directory, metrics, clock, escalation_tick
        )
        recorder = DeliveryRecorder(service.store, metrics=metrics, watchers=watchers)
        deliveries = delivery_routes(settings, recorder)
        # Inbound SMS: reply handlers in order, the first taker wins (`smsbot.inbound`).
        # The last handler: replies into their Slack threads, or (Slack off) the bot's log.
        threads = ThreadReplies(settings, service.store, poster)
        inbound = InboundService.from_settings(settings, service.store, [threads], metrics=metrics)
        app = create_app(
            settings,
            service,
            metrics=metrics,
            slack_app=slack_app,
            socket=socket,
            routes=(alerts, deliveries, inbound_routes(settings, inbound), *routes),
        )
        # Alert reply commands (`1a`, `1s 2h`) are taken before a reply goes to its thread.
        if ALERT_COMMANDS in app:
            inbound.add_handler(app[ALERT_COMMANDS], first=True)
        # The Acknowledge and Silence buttons on alert groups' mirror messages.
        if slack_app is not None and ALERT_GROUPS in app:
            from smsbot.slack.alert_buttons import register_buttons

            register_buttons(slack_app, app[ALERT_GROUPS], service.allowlist)
        # Alert SMS that did not reach the phone: said in the mirror channel, fallbacks paged.
        recorder.watch(_page_not_delivered(settings, service, client, directory))
        # Delivery reports of alert group SMS update the group's Slack message.
        mirror = app[ALERT_GROUPS].events if ALERT_GROUPS in app else None
        if isinstance(mirror, GroupMirror):
            group_mirror = mirror
            recorder.watch(lambda applied: group_mirror.delivery_changed(applied.record))
        yield Bot(
            settings,
            metrics,
            service,
            pipeline.outbox,
            app,
            slack_app,
            socket,
            authorization,
            inbound,
        )


def _slack_client(
    settings: Settings, bot_token: str, session: aiohttp.ClientSession
) -> tuple[AsyncWebClient, SlackDirectory]:
    from smsbot.slack.directory import SlackDirectory
    from smsbot.slack.retry import web_client

    # Waits out Slack's rate limits (`smsbot.slack.retry`), as every client derived from it.
    client = web_client(bot_token, settings.slack.api_url, session=session)
    slack = settings.slack
    directory = SlackDirectory(
        client,
        cache_seconds=slack.usergroup_cache_seconds,
        team_id=slack.team_id,
        phone_field=slack.phone_field,
    )
    return client, directory


def _step_permissions(
    settings: Settings, client: AsyncWebClient, allowlist: Allowlist
) -> Collection[str]:
    """Which workflow runs that name no person may send: the live list of
    `smsbot.slack.step_permissions` when it keeps Slack's step permissions in sync (synced at
    start by `smsbot.cli.serve_cmd`), else none."""
    from smsbot.slack.step_permissions import SYNC, StepPermissions

    if settings.slack.step_permissions != SYNC:
        return ()
    return StepPermissions(client, settings, allowlist)


def _slack_app(
    settings: Settings,
    service: SmsService,
    client: AsyncWebClient,
    directory: SlackDirectory,
    metrics: Metrics,
) -> tuple[AsyncApp, WorkspaceAuthorization, SlackDeliveryUpdates]:
    from smsbot.slack.app import (
        SLACK_SURFACES,
        WorkspaceAuthorization,
        build_slack_app,
    )
    from smsbot.slack.delivery_updates import SlackDeliveryUpdates
    from smsbot.slack.notifier import SlackNotifier

    notifier = SlackNotifier(client, settings, directory)
    # The confirmation's (channel, ts) stored with the SMS: its delivery is shown there.
    updates = SlackDeliveryUpdates(notifier, service.store)
    notifier.remember = updates.confirmation_posted
    for surface in SLACK_SURFACES:
        service.register_notifier(surface, notifier)
    authorization = WorkspaceAuthorization(client)
    app = build_slack_app(
        settings,
        service,
        client=client,
        directory=directory,
        notifier=notifier,
        authorization=authorization,
        metrics=metrics,
    )
    return app, authorization, updates


def _reply_poster(notifier: SlackNotifier) -> SlackReplyPoster:
    from smsbot.slack.thread_replies import SlackReplyPoster

    return SlackReplyPoster(notifier)


def _page_not_delivered(
    settings: Settings,
    service: SmsService,
    client: AsyncWebClient | None,
    directory: SlackDirectory | None,
) -> DeliveryWatcher:
    from smsbot.alerts.delivery_alarms import PageNotDelivered
    from smsbot.alerts.recipients import RecipientResolver
    from smsbot.alerts.routing import load_routes

    routes = {route.name: route for route in load_routes(settings.alerts.routes)}
    return PageNotDelivered(
        service,
        routes,
        RecipientResolver(directory),
        client=client,
        mask_numbers=settings.audit.mask_numbers,
        max_parts=settings.alerts.max_parts,
        timezone=settings.timezone,
    )


def _alert_routes(
    settings: Settings,
    service: SmsService,
    client: AsyncWebClient | None,
    directory: SlackDirectory | None,
    metrics: Metrics,
    clock: Clock,
    escalation_tick: float | None,
) -> RouteRegistrar:
    """The alert intake; it raises `ConfigurationError` for bad routes, so serve stops at start."""
    from smsbot.alerts import routes as alert_routes

    def register(app: web.Application) -> None:
        alert_routes.register(
            app,
            settings=settings,
            service=service,
            history=AlertHistory(service.store),
            slack=client,
            directory=directory,
            metrics=metrics,
            clock=clock,
            escalation_tick=escalation_tick,
            # The other durable timer: tests that run the timers themselves make both rare.
            resend_tick=escalation_tick,
        )

    return register
