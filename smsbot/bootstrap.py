"""Building smsbot from its settings: the one place where the parts are put together.

```python
async with open_bot(settings, mode=slack_mode(settings)) as bot:   # smsbot serve, demo, tests
    bot.web          # the aiohttp application: Slack (HTTP mode), alert intake, health, metrics
    bot.service      # the pipeline; bot.outbox sends what it queued
async with open_service(settings, run_outbox=False) as service:     # one-shot commands
    ...
```

`open_bot` builds, in this order, each part from the ones before it, handing every part what
it needs to its constructor, and changes none after:

1. the metrics (every part counts into them), the Slack Web API client (when a bot token is
   set, on one connection pool), the directory of Slack people on it, the allowlist with that
   directory, and the store;
2. what hears outcomes, none of which needs the service: the alert groundwork (the checked
   routes, the on-call loop's groups with the group mirror as their listener, the alert
   mirror, `smsbot.alerts.parts`) and the Slack parts (confirmations, notifier, workflow step
   completer, delivery updates, reply poster, `smsbot.slack.parts`);
3. the KPN client, the service with those notifiers (one mapping, surface to notifier), and
   the outbox;
4. the Bolt app (its listeners, the alert buttons among them, handed one `SlackDeps`) and the
   Socket Mode connection;
5. the alert parts that send through the service (intake, storm summaries, escalation timer,
   resender, reply commands, delivery alarms);
6. the delivery recorder with its watchers, and the inbound-SMS service with its reply handlers
   (lists, in order);
7. what `/metrics` reads of those parts at each scrape (`ScrapeReadings`), and the web
   application with the routes made from them.

Serving it (ports, signals, process tuning) is the caller's: `smsbot.cli.serve_cmd`.

Opening resumes what a previous process left: the outbox sends rows still `queued`, and rows
left `sending` for longer than a send can take become `unknown`. On exit the outbox stops
taking rows, sends under way get time to finish, and the client, store and session are closed.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Collection, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from aiohttp import web
from pydantic import SecretStr

from smsbot.alerts.parts import (
    AlertGroundwork,
    AlertParts,
    SilencesFor,
    alert_groundwork,
    alert_parts,
)
from smsbot.alerts.routes import alert_routes
from smsbot.deliveries import DeliveryRecorder
from smsbot.inbound import InboundService
from smsbot.inbound.threads import ThreadReplies
from smsbot.kpn.client import KpnClient
from smsbot.kpn.delivery.route import delivery_routes
from smsbot.kpn.inbound_route import inbound_routes
from smsbot.metrics import Metrics, ScrapeReadings
from smsbot.notify import Notifier
from smsbot.outbox import DEFAULT_OUTBOX, Outbox, OutboxOptions
from smsbot.policy import Allowlist, QuotaGate
from smsbot.policy.allowlist import UsergroupDirectory
from smsbot.service import SmsService
from smsbot.settings import Settings
from smsbot.sms.request import Surface
from smsbot.store import Clock, Store, utcnow
from smsbot.web import RouteRegistrar, create_app

if TYPE_CHECKING:
    import aiohttp
    from slack_bolt.async_app import AsyncApp
    from slack_sdk.web.async_client import AsyncWebClient

    from smsbot.slack.app import WorkspaceAuthorization
    from smsbot.slack.directory import SlackDirectory
    from smsbot.slack.parts import SlackParts
    from smsbot.slack.socket_mode import SocketModeConnection


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
    kpn: KpnClient  # the service's; the metrics read its health and quota


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
async def open_store(settings: Settings, *, clock: Clock = utcnow) -> AsyncIterator[Store]:
    """The store of `settings.database_url`, its schema created or upgraded; closed on exit."""
    store = await Store.open(
        settings.database_url, store_text=settings.audit.store_text, clock=clock
    )
    try:
        yield store
    finally:
        await store.close()


@contextlib.asynccontextmanager
async def running_pipeline(
    settings: Settings,
    store: Store,
    *,
    notifiers: Mapping[Surface, Notifier] | None = None,
    metrics: Metrics | None = None,
    allowlist: Allowlist | None = None,
    allowed_workflows: Collection[str] = (),
    outbox: OutboxOptions = DEFAULT_OUTBOX,
    run_outbox: bool = True,
    clock: Clock = utcnow,
) -> AsyncIterator[Pipeline]:
    """On `store`: the KPN client, the service with its policy (`allowlist`, by default the
    settings' without user groups, and the workflow app ids `allowed_workflows`) and the
    `notifiers` of the surfaces, and the outbox, started unless `run_outbox=False`. On exit the
    outbox stops (sends under way get time to finish) and the KPN client closes."""
    allowlist = allowlist or allowlist_for(settings)
    quota = QuotaGate(timezone=settings.timezone, clock=clock)
    async with KpnClient(settings.kpn) as kpn:
        service = SmsService(
            settings,
            store,
            kpn,
            allowlist=allowlist,
            quota=quota,
            notifiers=notifiers,
            allowed_workflows=allowed_workflows,
            metrics=metrics,
        )
        worker = Outbox(settings, store, service, quota, outbox, clock=clock)
        if run_outbox:
            worker.start()
        try:
            yield Pipeline(service, worker, kpn)
        finally:
            await worker.stop()


@contextlib.asynccontextmanager
async def open_pipeline(
    settings: Settings,
    *,
    notifiers: Mapping[Surface, Notifier] | None = None,
    metrics: Metrics | None = None,
    outbox: OutboxOptions = DEFAULT_OUTBOX,
    run_outbox: bool = True,
    clock: Clock = utcnow,
) -> AsyncIterator[Pipeline]:
    """The store and `running_pipeline` on it, without Slack. `run_outbox=False` is for
    one-shot commands (`smsbot send`) that send in their own task and leave the bot's queued
    rows to the bot, whose notifiers can answer in Slack. `notifiers` hear each surface's
    outcomes (tests hand in their own); `clock` is the time of every part (tests hand in a
    `smsbot.store.ManualClock`)."""
    async with (
        open_store(settings, clock=clock) as store,
        running_pipeline(
            settings,
            store,
            notifiers=notifiers,
            metrics=metrics,
            outbox=outbox,
            run_outbox=run_outbox,
            clock=clock,
        ) as pipeline,
    ):
        yield pipeline


@contextlib.asynccontextmanager
async def open_service(
    settings: Settings,
    *,
    notifiers: Mapping[Surface, Notifier] | None = None,
    metrics: Metrics | None = None,
    run_outbox: bool = True,
    outbox: OutboxOptions = DEFAULT_OUTBOX,
    clock: Clock = utcnow,
) -> AsyncIterator[SmsService]:
    """The service of `open_pipeline`, without Slack: for commands and pipeline tests."""
    async with open_pipeline(
        settings,
        notifiers=notifiers,
        metrics=metrics,
        outbox=outbox,
        run_outbox=run_outbox,
        clock=clock,
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
    alerts: AlertParts  # the alert intake, storm summaries, on-call loop and timers


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
    silences: SilencesFor | None = None,
    metrics: Metrics | None = None,
) -> AsyncIterator[Bot]:
    """The whole bot, built from `settings`; `mode=None` runs it without Slack (alerts only).

    `slack_session` is the connection pool for Slack calls (default: one of its own, closed
    after the service, whose outbox may still confirm sends while it stops). `routes` adds
    routes to the web application; `clock` is the time of every part (store, outbox, alerts);
    `run_outbox=False` leaves queued rows unsent (`bot.outbox.start()` starts it);
    `escalation_tick` is how often the escalation timer looks for due steps, and the
    resender for due repeats of unknown alert SMS (tests that run them themselves make it rare);
    `silences` gives a route's Alertmanager client (default: from the settings; tests hand in
    one on the Alertmanager they run); `metrics` are the bot's (default: its own; tests hand
    in theirs on a clock of their own).
    Raises `ConfigurationError` for settings that cannot work (e.g. alert routes)."""
    metrics = metrics or Metrics()
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
        store = await stack.enter_async_context(open_store(settings, clock=clock))
        # What hears outcomes, built before the service that tells them.
        ground = alert_groundwork(settings, store, client, silences=silences)
        if ground.groups is not None:
            stack.push_async_callback(ground.groups.close)  # its Alertmanager clients
        slack = None
        if mode is not None:
            assert client is not None and directory is not None, "Slack needs a bot token"
            slack = _slack_parts(settings, client, directory, store)
        notifiers = {**(slack.notifiers() if slack else {}), **ground.notifiers()}
        pipeline = await stack.enter_async_context(
            running_pipeline(
                settings,
                store,
                notifiers=notifiers,
                metrics=metrics,
                allowlist=allowlist,
                allowed_workflows=allowed_workflows,
                outbox=outbox,
                run_outbox=run_outbox,
                clock=clock,
            )
        )
        service = pipeline.service
        slack_app = socket = None
        if slack is not None:
            slack_app = _slack_app(settings, service, slack, ground, metrics)
            if mode is SlackMode.SOCKET:
                socket = _socket_mode(settings, slack_app, metrics)
        alerts = alert_parts(
            settings,
            ground,
            service,
            slack=client,
            directory=directory,
            metrics=metrics,
            clock=clock,
        )
        # Delivery reports: shown on Slack's confirmations, then to the alert side.
        recorder = DeliveryRecorder(
            store,
            metrics=metrics,
            watchers=[*([slack.updates] if slack else []), *alerts.delivery_watchers()],
        )
        # Inbound SMS: reply handlers in order, the first taker wins (`smsbot.inbound`): alert
        # reply commands (`1a`, `1s 2h`), then replies into their Slack threads, or (Slack
        # off) the bot's log.
        threads = ThreadReplies(settings, store, slack.poster if slack else None)
        inbound = InboundService.from_settings(
            settings, store, [*alerts.reply_handlers(), threads], metrics=metrics
        )
        # Read at each scrape of /metrics: the outbox, KPN's and Slack's connection.
        readings = ScrapeReadings(
            metrics, outbox=store.outbox_state, kpn=pipeline.kpn, slack=socket
        )
        app = create_app(
            settings,
            service,
            metrics=metrics,
            readings=readings,
            slack_app=slack_app,
            socket=socket,
            routes=(
                alert_routes(
                    settings,
                    alerts,
                    metrics=metrics,
                    escalation_tick=escalation_tick,
                    # The other durable timer: tests that run the timers themselves make both rare.
                    resend_tick=escalation_tick,
                ),
                delivery_routes(settings, recorder),
                inbound_routes(settings, inbound),
                *routes,
            ),
        )
        yield Bot(
            settings,
            metrics,
            service,
            pipeline.outbox,
            app,
            slack_app,
            socket,
            slack.authorization if slack else None,
            inbound,
            alerts,
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


def _socket_mode(settings: Settings, app: AsyncApp, metrics: Metrics) -> SocketModeConnection:
    from smsbot.slack.socket_mode import SocketModeConnection

    return SocketModeConnection(
        app,
        app_token=secret_text(settings.slack.app_token),
        api_url=settings.slack.api_url,
        metrics=metrics,
    )


def _slack_parts(
    settings: Settings, client: AsyncWebClient, directory: SlackDirectory, store: Store
) -> SlackParts:
    from smsbot.slack.parts import slack_parts

    return slack_parts(settings, client, directory, store)


def _slack_app(
    settings: Settings,
    service: SmsService,
    slack: SlackParts,
    ground: AlertGroundwork,
    metrics: Metrics,
) -> AsyncApp:
    from smsbot.slack.app import build_slack_app
    from smsbot.slack.context import SlackDeps

    deps = SlackDeps(
        settings,
        service,
        slack.directory,
        slack.notifier,
        slack.completer,
        alert_groups=ground.groups,  # the mirror's Acknowledge and Silence buttons
        metrics=metrics,
    )
    return build_slack_app(deps, client=slack.client, authorization=slack.authorization)
