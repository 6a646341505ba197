"""`smsbot serve [--port 3000] [--host 0.0.0.0]`: the bot.

Slack in Socket Mode when an app token is set (no public URL needed), otherwise in HTTP mode at
`POST /slack/events`; with no Slack setting at all, Slack is off and the bot is an alert-only
bridge. Health, readiness and metrics on the same port. Each request must arrive whole within
`READ_SECONDS` (`smsbot.read_deadline`). SIGTERM or SIGINT stop it cleanly: Slack intake stops
first, then in-flight work finishes, then the service closes (its outbox finishes the sends it
started) and every session is closed.

The bot itself is built by `smsbot.bootstrap.open_bot`; this module serves it (`running_bot`)
and tunes the process for serving (`serve_until_stopped`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import signal
from collections.abc import AsyncIterator, Awaitable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web

from smsbot import read_deadline
from smsbot.bootstrap import Bot, SlackMode, open_bot, secret_text, slack_mode
from smsbot.cli.main import collector_paused
from smsbot.errors import ConfigurationError
from smsbot.outbox import OutboxOptions
from smsbot.settings import Settings, load_settings
from smsbot.store import utcnow
from smsbot.web import RouteRegistrar

if TYPE_CHECKING:
    import aiohttp

    from smsbot.alerts.parts import AlertParts, SilencesFor
    from smsbot.inbound import InboundService
    from smsbot.metrics import Metrics
    from smsbot.service import SmsService
    from smsbot.slack.socket_mode import SocketModeConnection
    from smsbot.store import Clock

log = logging.getLogger(__name__)

DEFAULT_PORT = 3000
# A stop first lets HTTP requests being answered finish (acks and alert intake answer in
# milliseconds), then waits for work under way (Slack listeners and outbox sends, together)
# before closing the service anyway. Both add up to below Kubernetes' default 30 s.
HTTP_SHUTDOWN_SECONDS = 5.0
SHUTDOWN_GRACE_SECONDS = 20.0
# Collections of the middle generation between two full collections while serving (Python: 10).
FULL_COLLECTION_AFTER = 100
SERVING_OUTBOX = OutboxOptions(stop_grace_seconds=SHUTDOWN_GRACE_SECONDS)
SLACK_OFF = (
    "Slack is off, as no Slack setting is set: running as an alert-only bridge "
    "(SMSBOT_SLACK__BOT_TOKEN with SMSBOT_SLACK__APP_TOKEN or SMSBOT_SLACK__SIGNING_SECRET "
    "turn it on)"
)

__all__ = ["DEFAULT_PORT", "RunningBot", "SlackMode", "running_bot", "serve_until_stopped"]


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
    mode = slack_mode(settings)
    problems = (slack_problems(settings) if mode is not None else []) + kpn_problems(settings)
    if problems:
        if mode is None:
            problems.append(
                "(Slack is off, as no Slack setting is set: with SMSBOT_SLACK__BOT_TOKEN, or "
                "SLACK_BOT_TOKEN, and SMSBOT_SLACK__APP_TOKEN for Socket Mode or "
                "SMSBOT_SLACK__SIGNING_SECRET, or SLACK_SIGNING_SECRET, for HTTP mode, the bot "
                "also serves Slack)"
            )
        raise ConfigurationError("cannot start:\n  - " + "\n  - ".join(problems))
    if mode is None:
        print(f"smsbot: {SLACK_OFF}", flush=True)
    return await serve_until_stopped(settings, host=args.host, port=args.port, mode=mode)


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


@dataclass(frozen=True)
class RunningBot:
    url: str  # where the web routes are served, e.g. http://127.0.0.1:3000
    bot: Bot

    @property
    def service(self) -> SmsService:
        return self.bot.service

    @property
    def metrics(self) -> Metrics:
        return self.bot.metrics

    @property
    def socket(self) -> SocketModeConnection | None:
        return self.bot.socket

    @property
    def inbound(self) -> InboundService:
        return self.bot.inbound

    @property
    def alerts(self) -> AlertParts:
        return self.bot.alerts


@contextlib.asynccontextmanager
async def running_bot(
    settings: Settings,
    *,
    host: str = "0.0.0.0",
    port: int = DEFAULT_PORT,
    mode: SlackMode | None,
    routes: Iterable[RouteRegistrar] = (),
    outbox: OutboxOptions = SERVING_OUTBOX,
    slack_session: aiohttp.ClientSession | None = None,
    clock: Clock = utcnow,
    read_seconds: float = read_deadline.READ_SECONDS,
    escalation_tick: float | None = None,
    silences: SilencesFor | None = None,
    sync_step_permissions: bool = True,
) -> AsyncIterator[RunningBot]:
    """The bot of `open_bot`, served on host:port until the block ends; `mode=None` runs it
    without Slack. Each request must arrive whole within `read_seconds`. Before serving,
    `auth.test` is asked and, unless `sync_step_permissions=False` (tests that sync when they
    mean to), the Send SMS step's permissions are set as the allowlist says. The other
    arguments are `open_bot`'s."""
    async with open_bot(
        settings,
        mode=mode,
        outbox=outbox,
        slack_session=slack_session,
        routes=routes,
        clock=clock,
        escalation_tick=escalation_tick,
        silences=silences,
    ) as bot:
        # Slack's answers at start, asked together (neither needs the other; both never raise):
        # against Slack itself each is a round trip of 0.1-0.3 s.
        asking: list[Awaitable[bool]] = []
        if bot.authorization is not None:
            asking.append(bot.authorization.warm_up())
        if bot.slack_app is not None and sync_step_permissions:
            from smsbot.slack import step_permissions

            asking.append(step_permissions.sync_step_permissions(bot.service))
        await asyncio.gather(*asking)
        # No access log: probes hit /healthz every few seconds; /metrics counts what matters.
        runner = web.AppRunner(bot.web, access_log=None, shutdown_timeout=HTTP_SHUTDOWN_SECONDS)
        await runner.setup()
        listening: asyncio.Server | None = None
        try:
            try:
                listening = await read_deadline.listen(runner, host, port, seconds=read_seconds)
            except OSError as exc:
                raise ConfigurationError(
                    f"cannot listen on {host}:{port} ({exc.strerror or exc}); "
                    "choose another port with --port"
                ) from exc
            if bot.socket is not None:
                await bot.socket.start()
            # Everything running now lives as long as the bot; what starts later is work.
            long_lived = asyncio.all_tasks()
            yield RunningBot(_url_of(listening, host), bot)
        finally:
            if bot.socket is not None:
                await bot.socket.close()
            if listening is not None:
                listening.close()  # stops accepting; runner.cleanup() closes the connections
            await runner.cleanup()  # waits for requests being answered
        # The outbox stops taking rows now, not after the listeners: one grace period for all.
        await asyncio.gather(
            _finish_work_under_way(_work_under_way(long_lived)),
            bot.outbox.stop(SHUTDOWN_GRACE_SECONDS),
        )
    # Leaving open_bot closed the store, the KPN client, the outbox and the Slack session.


@contextlib.contextmanager
def tuned_for_serving() -> Iterator[None]:
    """The garbage collector tuned for a long-running bot, for as long as the block runs.

    The objects built at start (modules, the Bolt app, pydantic models) live as long as
    the process. Left to the collector, every full collection walks them all and stalls the
    event loop for tens of milliseconds, enough to push Slack acks past their latency target;
    frozen, a full collection only walks newer objects. What requests leave behind still
    reaches the oldest generation: work after an ack that waits for the store keeps its objects
    alive long enough. Python's default, a full collection after every 10th of the middle
    generation's, ran one or two of 20-40 ms in every burst of 1000 commands, each stalling
    every ack in flight (bench p99 ~48 ms against ~37 ms without); after every 100th they are
    ten times rarer. The cyclic garbage they free waits longer (~4000 objects per 1000 commands
    here, so some MB at most).

    Frozen without a full collection first: start-up leaves next to no cyclic garbage (3
    objects in `smsbot serve`), and walking every object once more (~70,000) took 20-30 ms
    during which not even `/healthz` could be answered.
    """
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(thresholds[0], thresholds[1], FULL_COLLECTION_AFTER)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()  # collectable again, for a process that runs the bot more than once


def _work_under_way(long_lived: set[asyncio.Task[Any]]) -> list[asyncio.Task[Any]]:
    """Tasks started while serving, such as Bolt listeners that send after the ack; not the
    one stopping the bot (e.g. a test's teardown, which started after the bot did)."""
    current = asyncio.current_task()
    return [
        t
        for t in asyncio.all_tasks()
        if t not in long_lived and t is not current and not _serves_a_connection(t)
    ]


async def _finish_work_under_way(under_way: list[asyncio.Task[Any]]) -> None:
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
    # Nor is the demo's sandbox posting delivery reports to this bot the bot's work: it
    # retries until the bot is back, which would hold the stop for the whole grace period.
    return _task_name(task) == "RequestHandler.start" or task.get_name().startswith(
        SANDBOX_TASK_PREFIX
    )


# `smsbot.sandbox.posting.SANDBOX_TASK_PREFIX`, written out: serve never imports the sandbox.
SANDBOX_TASK_PREFIX = "smsbot-sandbox:"


def _task_name(task: asyncio.Task[Any]) -> str:
    coro = task.get_coro()
    return getattr(coro, "__qualname__", None) or task.get_name()


def _url_of(server: asyncio.Server, host: str) -> str:
    bound_host, bound_port = server.sockets[0].getsockname()[:2]
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
        # Building the bot imports and makes what lives as long as the process, as loading the
        # command did: the collector stays paused until it serves (`collector_paused`).
        with contextlib.ExitStack() as starting:
            starting.enter_context(collector_paused())
            async with running_bot(settings, host=host, port=port, mode=mode, routes=routes) as bot:
                starting.close()
                how = {
                    SlackMode.SOCKET: "Slack over Socket Mode",
                    SlackMode.HTTP: f"Slack at {bot.url}/slack/events",
                    None: "Slack off",
                }[mode]
                # Tuned once everything long-lived is built (see tuned_for_serving).
                with tuned_for_serving():
                    print(f"smsbot: listening on {bot.url} ({how})", flush=True)
                    await stop.wait()
                    print(
                        "smsbot: stopping: finishing sends under way (again to quit now)",
                        flush=True,
                    )
    finally:
        for signum in signals:
            loop.remove_signal_handler(signum)
    return 0
