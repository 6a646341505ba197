"""`smsbot serve [--port 3000] [--host 0.0.0.0]`: the bot.

Slack in Socket Mode when an app token is set (no public URL needed), otherwise in HTTP mode at
`POST /slack/events`; health, readiness and metrics on the same port. SIGTERM or SIGINT stop it
cleanly: Slack intake stops first, then in-flight work finishes, then the service closes (its
outbox finishes the sends it started) and every session is closed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import signal
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import aiohttp
from aiohttp import web
from pydantic import SecretStr

from smsbot.deliveries import DeliveryRecorder, delivery_watchers
from smsbot.errors import ConfigurationError
from smsbot.inbound import InboundService
from smsbot.inbound.threads import ThreadReplies
from smsbot.kpn.delivery.route import delivery_routes
from smsbot.kpn.inbound_route import inbound_routes
from smsbot.metrics import Metrics
from smsbot.settings import Settings, load_settings
from smsbot.web import RouteRegistrar, create_app

if TYPE_CHECKING:
    from slack_bolt.async_app import AsyncApp

    from smsbot.service import SmsService
    from smsbot.slack.socket_mode import SocketModeConnection
    from smsbot.store import Store

log = logging.getLogger(__name__)

DEFAULT_PORT = 3000
# A stop first lets HTTP requests being answered finish (acks and alert intake answer in
# milliseconds), then waits for work under way (Slack listeners and outbox sends, together)
# before closing the service anyway. Both add up to below Kubernetes' default 30 s.
HTTP_SHUTDOWN_SECONDS = 5.0
SHUTDOWN_GRACE_SECONDS = 20.0
# Collections of the middle generation between two full collections while serving (Python: 10).
FULL_COLLECTION_AFTER = 100


class SlackMode(StrEnum):
    SOCKET = "socket"
    HTTP = "http"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="run the bot: Slack, alert intake, /healthz, /readyz, /metrics",
        description="Run the bot. Socket Mode when SMSBOT_SLACK__APP_TOKEN is set, "
        "otherwise HTTP mode at POST /slack/events (needs SMSBOT_SLACK__SIGNING_SECRET).",
    )
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="default 3000")
    parser.add_argument("--host", default="0.0.0.0", help="default 0.0.0.0 (all interfaces)")
    parser.set_defaults(run=run)


async def run(args: argparse.Namespace) -> int:
    settings = load_settings()
    problems = slack_problems(settings) + kpn_problems(settings)
    if problems:
        raise ConfigurationError("cannot start:\n  - " + "\n  - ".join(problems))
    return await serve_until_stopped(
        settings, host=args.host, port=args.port, mode=slack_mode(settings)
    )


def secret_text(value: SecretStr | None) -> str:
    return value.get_secret_value().strip() if value is not None else ""


def slack_problems(settings: Settings) -> list[str]:
    """What is missing or wrong in the Slack settings, each with how to fix it."""
    slack = settings.slack
    problems = []
    bot_token = secret_text(slack.bot_token)
    if not bot_token:
        problems.append(
            "no Slack bot token: set SMSBOT_SLACK__BOT_TOKEN (or SLACK_BOT_TOKEN) to the app's "
            "xoxb- token (Slack app settings > OAuth & Permissions)"
        )
    elif not bot_token.startswith("xoxb-"):
        problems.append(
            "SMSBOT_SLACK__BOT_TOKEN is not a bot token: it must start with xoxb- "
            "(Slack app settings > OAuth & Permissions > Bot User OAuth Token)"
        )
    app_token = secret_text(slack.app_token)
    if app_token and not app_token.startswith("xapp-"):
        problems.append(
            "SMSBOT_SLACK__APP_TOKEN is not an app-level token: it must start with xapp- "
            "(Slack app settings > Basic Information > App-Level Tokens, scope connections:write)"
        )
    if not app_token and not secret_text(slack.signing_secret):
        problems.append(
            "Slack needs a way in: set SMSBOT_SLACK__APP_TOKEN (or SLACK_APP_TOKEN, xapp-...) for "
            "Socket Mode, or SMSBOT_SLACK__SIGNING_SECRET (or SLACK_SIGNING_SECRET, from Basic "
            "Information > App Credentials) for HTTP mode at POST /slack/events"
        )
    from smsbot.slack.step_permissions import retired_settings

    return problems + retired_settings(settings)


def kpn_problems(settings: Settings) -> list[str]:
    if settings.kpn.client_id and secret_text(settings.kpn.client_secret):
        return []
    return [
        "no KPN credentials: set SMSBOT_KPN__CLIENT_ID and SMSBOT_KPN__CLIENT_SECRET "
        "(KPN API Store > My Apps), or try the bot against the sandbox with `smsbot demo`"
    ]


def _alert_routes(settings: Settings, service: SmsService, metrics: Metrics) -> RouteRegistrar:
    """The alert intake; it raises `ConfigurationError` for bad routes, so serve stops at start."""
    from smsbot.alerts import routes as alert_routes

    def register(app: web.Application) -> None:
        alert_routes.register(
            app,
            settings=settings,
            service=service,
            metrics=metrics,
            directory=service.allowlist.directory,
        )

    return register


def _alert_commands_first(app: web.Application, inbound: InboundService) -> None:
    """Alert reply commands (`1a`, `1s 2h`) are taken before a reply goes to its thread."""
    from smsbot.alerts.routes import ALERT_COMMANDS

    if ALERT_COMMANDS in app:
        inbound.add_handler(app[ALERT_COMMANDS], first=True)


def _alert_buttons(app: web.Application, slack_app: AsyncApp | None, service: SmsService) -> None:
    """The Acknowledge and Silence buttons on alert groups' mirror messages."""
    from smsbot.alerts.routes import ALERT_GROUPS

    if slack_app is not None and ALERT_GROUPS in app:
        from smsbot.slack.alert_buttons import register_buttons

        register_buttons(slack_app, app[ALERT_GROUPS], service.allowlist)


def _alert_deliveries(app: web.Application, deliveries: DeliveryRecorder) -> None:
    """Delivery reports of alert group SMS update the group's Slack message."""
    from smsbot.alerts.group_mirror import GroupMirror
    from smsbot.alerts.routes import ALERT_GROUPS

    mirror = app[ALERT_GROUPS].events if ALERT_GROUPS in app else None
    if isinstance(mirror, GroupMirror):
        deliveries.watch(mirror.delivery_changed)


def reply_threads(settings: Settings, store: Store, slack_app: AsyncApp | None) -> ThreadReplies:
    """The last reply handler: into Slack threads, or (Slack off) the bot's log."""
    poster = None
    if slack_app is not None:
        from smsbot.slack.notifier import SlackNotifier
        from smsbot.slack.thread_replies import SlackReplyPoster

        poster = SlackReplyPoster(SlackNotifier(slack_app.client, settings))
    return ThreadReplies(settings, store, poster)


def slack_mode(settings: Settings) -> SlackMode:
    return SlackMode.SOCKET if secret_text(settings.slack.app_token) else SlackMode.HTTP


@dataclass
class RunningBot:
    url: str  # where the web routes are served, e.g. http://127.0.0.1:3000
    service: SmsService
    metrics: Metrics
    slack_app: AsyncApp | None  # None: running without Slack (the demo without tokens)
    socket: SocketModeConnection | None  # None: HTTP mode, or no Slack
    inbound: InboundService | None = None  # what KPN's inbound webhook hands SMS to


@contextlib.asynccontextmanager
async def running_bot(
    settings: Settings,
    *,
    host: str = "0.0.0.0",
    port: int = DEFAULT_PORT,
    mode: SlackMode | None,
    routes: Iterable[RouteRegistrar] = (),
) -> AsyncIterator[RunningBot]:
    """The whole bot, serving until the block ends; `mode=None` runs it without Slack."""
    from smsbot.bootstrap import open_service

    metrics = Metrics()
    # Slack's connection pool outlives the service: the outbox may confirm sends while it stops.
    async with (
        _slack_session(mode) as slack_session,
        open_service(
            settings, metrics=metrics, stop_grace_seconds=SHUTDOWN_GRACE_SECONDS
        ) as service,
    ):
        slack_app = socket = None
        if mode is not None:
            from smsbot.slack.app import build_slack_app, warm_up_authorization
            from smsbot.slack.step_permissions import sync_step_permissions

            slack_app = build_slack_app(settings, service, metrics=metrics, session=slack_session)
            await warm_up_authorization(slack_app)
            await sync_step_permissions(service)
        if mode is SlackMode.SOCKET:
            from smsbot.slack.socket_mode import SocketModeConnection

            socket = SocketModeConnection(
                slack_app,
                app_token=secret_text(settings.slack.app_token),
                api_url=settings.slack.api_url,
                metrics=metrics,
            )
            metrics.watch_slack(socket)
        # Inbound SMS: reply handlers in order, the first taker wins (`smsbot.inbound`).
        inbound = InboundService.from_settings(
            settings, service.store, [reply_threads(settings, service.store, slack_app)]
        )
        deliveries = DeliveryRecorder(
            service.store,
            metrics=metrics,
            watchers=delivery_watchers(settings, service.store, slack_app),
        )
        app = create_app(
            settings,
            service,
            metrics=metrics,
            slack_app=slack_app,
            socket=socket,
            routes=(
                _alert_routes(settings, service, metrics),
                delivery_routes(settings, deliveries),
                inbound_routes(settings, inbound),
                *routes,
            ),
        )
        _alert_commands_first(app, inbound)
        _alert_buttons(app, slack_app, service)
        _alert_deliveries(app, deliveries)
        # No access log: probes hit /healthz every few seconds; /metrics counts what matters.
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=HTTP_SHUTDOWN_SECONDS)
        await runner.setup()
        thresholds = gc.get_threshold()
        try:
            site = web.TCPSite(runner, host, port)
            try:
                await site.start()
            except OSError as exc:
                raise ConfigurationError(
                    f"cannot listen on {host}:{port} ({exc.strerror or exc}); "
                    "choose another port with --port"
                ) from exc
            if socket is not None:
                await socket.start()
            # Everything running now lives as long as the bot; what starts later is work.
            long_lived = asyncio.all_tasks()
            # The objects built so far (modules, the Bolt app, SQLAlchemy, pydantic) live as
            # long as the process. Left to the collector, every full collection walks them all
            # and stalls the event loop for tens of milliseconds, enough to push Slack acks
            # past their latency target; frozen, a full collection only walks newer objects.
            gc.collect()  # garbage from startup goes now, not frozen forever
            gc.freeze()
            # What requests leave behind still reaches the oldest generation: work after an
            # ack that waits for the store keeps its objects alive long enough. Python's
            # default, a full collection after every 10th of the middle generation's, ran one
            # or two of 20-40 ms in every burst of 1000 commands, each stalling every ack in
            # flight (bench p99 ~48 ms against ~37 ms without); after every 100th they are ten
            # times rarer. The cyclic garbage they free waits longer (~4000 objects per 1000
            # commands here, so some MB at most).
            gc.set_threshold(thresholds[0], thresholds[1], FULL_COLLECTION_AFTER)
            yield RunningBot(_url_of(runner, host), service, metrics, slack_app, socket, inbound)
        finally:
            gc.set_threshold(*thresholds)
            gc.unfreeze()  # collectable again, for a process that runs the bot more than once
            if socket is not None:
                await socket.close()
            await runner.cleanup()  # stops accepting, waits for requests being answered
        # The outbox stops claiming rows now, not after the listeners: one grace period for all.
        await asyncio.gather(
            _finish_work_under_way(long_lived), service.stop_outbox(SHUTDOWN_GRACE_SECONDS)
        )
    # Leaving open_service closed the store, the KPN client and the outbox worker.


@contextlib.asynccontextmanager
async def _slack_session(mode: SlackMode | None) -> AsyncIterator[aiohttp.ClientSession | None]:
    """One `aiohttp.ClientSession` for every call to Slack's Web API and response URLs."""
    if mode is None:
        yield None
        return
    async with aiohttp.ClientSession() as session:
        yield session


async def _finish_work_under_way(long_lived: set[asyncio.Task[Any]]) -> None:
    """Waits for tasks started while serving, such as Bolt listeners that send after the ack."""
    current = asyncio.current_task()
    under_way = [
        t
        for t in asyncio.all_tasks()
        if t not in long_lived and t is not current and not _serves_a_connection(t)
    ]
    if not under_way:
        return
    log.debug(
        "waiting up to %.0f s for work under way: %s",
        SHUTDOWN_GRACE_SECONDS,
        ", ".join(sorted(_task_name(t) for t in under_way)),
    )
    _, pending = await asyncio.wait(under_way, timeout=SHUTDOWN_GRACE_SECONDS)
    if pending:
        names = ", ".join(sorted(_task_name(t) for t in pending))
        log.warning("still running after the grace period, stopping anyway: %s", names)


def _serves_a_connection(task: asyncio.Task[Any]) -> bool:
    # An aiohttp server's handler of one keep-alive connection, e.g. of the sandbox that
    # `smsbot demo` runs in this process: it ends when the client closes, not by itself.
    # The bot's own connections were closed by runner.cleanup() before this is asked.
    return _task_name(task) == "RequestHandler.start"


def _task_name(task: asyncio.Task[Any]) -> str:
    coro = task.get_coro()
    return getattr(coro, "__qualname__", None) or task.get_name()


def _url_of(runner: web.AppRunner, host: str) -> str:
    bound_host, bound_port = runner.addresses[0][:2]
    shown = "127.0.0.1" if host in ("0.0.0.0", "", "::") else bound_host
    return f"http://{shown}:{bound_port}"


async def serve_until_stopped(
    settings: Settings,
    *,
    host: str,
    port: int,
    mode: SlackMode | None,
    routes: Iterable[RouteRegistrar] = (),
) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    signals = (signal.SIGTERM, signal.SIGINT)

    def stop_cleanly() -> None:
        stop.set()
        # A second Ctrl-C (or SIGTERM) while sends finish means "now": default handling again.
        for signum in signals:
            loop.remove_signal_handler(signum)

    for signum in signals:
        loop.add_signal_handler(signum, stop_cleanly)
    try:
        async with running_bot(settings, host=host, port=port, mode=mode, routes=routes) as bot:
            how = {
                SlackMode.SOCKET: "Slack over Socket Mode",
                SlackMode.HTTP: f"Slack at {bot.url}/slack/events",
                None: "Slack off",
            }[mode]
            print(f"smsbot: listening on {bot.url} ({how})", flush=True)
            await stop.wait()
            print("smsbot: stopping: finishing sends under way (again to quit now)", flush=True)
    finally:
        for signum in signals:
            loop.remove_signal_handler(signum)
    return 0
