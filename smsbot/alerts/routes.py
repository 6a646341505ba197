"""`POST /alerts/alertmanager` and `POST /alerts/grafana`.

Answers are chosen for how the senders behave: Alertmanager and Grafana retry 5xx and give up
on 4xx. So:

    200  every SMS the notification asks for is durably queued (or was a repeat, or held back
         by the storm cap for the summary); sending happens afterwards, from the outbox
    400  the body is not JSON or not the webhook's schema (the answer says what is wrong)
    401  no valid credentials, or none configured at all (`SMSBOT_ALERTS__TOKEN`)
    413  the body is over `alerts.max_body_bytes`
    503  recording failed (database, or Slack for looking up numbers): retry later

Never 4xx because KPN is down: by then the request is queued and the outbox retries.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from aiohttp import web
from slack_sdk.web.async_client import AsyncWebClient

from smsbot.alerts.auth import AlertAuth, RefusalLog, Unauthorized
from smsbot.alerts.commands import AlertCommandHandler
from smsbot.alerts.escalation import EscalationTimer
from smsbot.alerts.escalation import running as escalating
from smsbot.alerts.group_mirror import GroupMirror
from smsbot.alerts.groups import AlertGroups
from smsbot.alerts.history import AlertHistory
from smsbot.alerts.intake import AlertIntake
from smsbot.alerts.mirror import SlackMirror
from smsbot.alerts.payloads import (
    AlertGroup,
    AlertmanagerPayload,
    GrafanaPayload,
    PayloadError,
    parse_payload,
)
from smsbot.alerts.recipients import PeopleDirectory, RecipientLookupFailed, RecipientResolver
from smsbot.alerts.render import AlertTemplate
from smsbot.alerts.resend import TICK_SECONDS as RESEND_TICK_SECONDS
from smsbot.alerts.resend import UnknownResender
from smsbot.alerts.resend import running as resending_unknown
from smsbot.alerts.routing import Route, load_routes
from smsbot.alerts.storm import StormSummaries, running
from smsbot.errors import ConfigurationError
from smsbot.metrics import Metrics
from smsbot.settings import Settings
from smsbot.sms.request import Surface

if TYPE_CHECKING:
    from smsbot.service import SmsService

Clock = Callable[[], datetime]

log = logging.getLogger(__name__)

ALERTMANAGER_PATH = "/alerts/alertmanager"
GRAFANA_PATH = "/alerts/grafana"
READ_CHUNK = 64 * 1024
# How often held-back storms are checked for a reopened window, at most / at least.
STORM_TICK_MAX_SECONDS = 30.0
STORM_TICK_MIN_SECONDS = 0.2
ESCALATION_TICK_SECONDS = 5.0

STORM_SUMMARIES = web.AppKey("alert_storm_summaries", StormSummaries)
ALERT_INTAKE = web.AppKey("alert_intake", AlertIntake)
ALERT_GROUPS = web.AppKey("alert_groups", AlertGroups)
# The reply handler for alert commands, for the inbound SMS pipeline to put first.
ALERT_COMMANDS = web.AppKey("alert_commands", AlertCommandHandler)
ESCALATION_TIMER = web.AppKey("escalation_timer", EscalationTimer)
UNKNOWN_RESENDER = web.AppKey("unknown_resender", UnknownResender)


class _TooLarge(Exception):
    pass


def _error(status: int, message: str, **headers: str) -> web.Response:
    return web.json_response({"error": message}, status=status, headers=headers or None)


async def _read_body(request: web.Request, limit: int) -> bytes:
    if request.content_length is not None and request.content_length > limit:
        raise _TooLarge
    body = bytearray()
    while chunk := await request.content.read(READ_CHUNK):
        body += chunk
        if len(body) > limit:
            raise _TooLarge
    return bytes(body)


class AlertEndpoint:
    """One webhook route: size limit, auth, parse, then the intake."""

    def __init__(
        self,
        *,
        source: Surface,
        model: type[AlertGroup],
        auth: AlertAuth,
        intake: AlertIntake,
        max_body_bytes: int,
        accepts_signature: bool,
        metrics: Metrics | None,
        refusals: RefusalLog,
    ) -> None:
        self.refusals = refusals
        self.source = source
        self.model = model
        self.auth = auth
        self.intake = intake
        self.max_body_bytes = max_body_bytes
        self.accepts_signature = accepts_signature
        self.metrics = metrics

    async def handle(self, request: web.Request) -> web.Response:
        try:
            if not self.auth.configured:
                raise Unauthorized(
                    "alert intake is closed: no credentials are configured. Set "
                    "SMSBOT_ALERTS__TOKEN and send it as Authorization: Bearer <token>",
                    "intake_closed",
                )
            header_ok = self.auth.check_header(request.headers)
            if not header_ok and not (self.accepts_signature and self.auth.signs_bodies):
                raise Unauthorized(
                    "no credentials given: send Authorization: Bearer <token>", "no_credentials"
                )
            body = await _read_body(request, self.max_body_bytes)
            if not header_ok:
                self.auth.check_signature(request.headers, body)
            group = parse_payload(self.model, body)
        except Unauthorized as exc:
            self._count("unauthorized")
            self.refusals.refused(request.path, exc, request.remote)
            return _error(401, str(exc), **{"WWW-Authenticate": 'Bearer realm="smsbot alerts"'})
        except _TooLarge:
            self._count("too_large")
            return _error(
                413,
                f"body is over {self.max_body_bytes} bytes (alerts.max_body_bytes); lower "
                "max_alerts in the webhook config or raise the limit",
            )
        except PayloadError as exc:
            self._count("bad_request")
            return _error(400, str(exc))
        try:
            report = await self.intake.accept(self.source, group)
        except RecipientLookupFailed as exc:
            self._count("error")
            log.error("alert from %s not recorded: %s", self.source, exc)
            return _error(503, f"could not look up recipients, nothing was queued: {exc}")
        except Exception:
            self._count("error")
            log.exception("alert from %s not recorded", self.source)
            return _error(503, "could not record the alert; nothing was lost if you retry")
        return web.json_response({"status": "accepted", **report.as_json()})

    def _count(self, result: str) -> None:
        if self.metrics is not None:
            self.metrics.alerts.labels(str(self.source), result).inc()


def _channel_namer(client: AsyncWebClient):
    async def name_of(channel_id: str) -> str | None:
        answer = await client.conversations_info(channel=channel_id)
        return (answer.get("channel") or {}).get("name")

    return name_of


def _check_numbers(settings: Settings) -> None:
    alerts = settings.alerts
    for name in ("max_parts", "repeat_window_seconds", "storm_max", "storm_window_seconds"):
        if getattr(alerts, name) < 1:
            raise ConfigurationError(
                f"SMSBOT_ALERTS__{name.upper()} is {getattr(alerts, name)}; it must be 1 or more"
            )
    if alerts.max_body_bytes < 1024:
        raise ConfigurationError(
            f"SMSBOT_ALERTS__MAX_BODY_BYTES is {alerts.max_body_bytes}; an alert webhook needs "
            "at least 1024 (default 1048576)"
        )


def storm_tick(settings: Settings) -> float:
    """Check for reopened windows about ten times per window, within sensible bounds."""
    tenth = settings.alerts.storm_window_seconds / 10
    return max(STORM_TICK_MIN_SECONDS, min(STORM_TICK_MAX_SECONDS, tenth))


def register(
    app: web.Application,
    *,
    settings: Settings,
    service: SmsService,
    history: AlertHistory,
    slack: AsyncWebClient | None = None,
    directory: PeopleDirectory | None = None,
    metrics: Metrics | None = None,
    clock: Clock | None = None,
    groups: AlertGroups | None = None,
    escalation_tick: float | None = None,
    resend_tick: float | None = None,
) -> None:
    """Add the alert routes, the mirror notifier and the storm summary task to `app`.

    `slack` (the bot's Web API client, when a bot token is set) posts the mirror and names
    channels; `directory` looks up the numbers of Slack people and groups. `groups` is the
    on-call loop (reply commands, escalation, acknowledged repeats held back); by default it is
    built on the service's store when a reply number is set or a route escalates or names an
    Alertmanager. Then the escalation timer runs every `escalation_tick` seconds, and
    `app[ALERT_COMMANDS]` is the alert reply handler. When a route repeats unknown alert SMS
    (`resend_unknown_after`), `app[UNKNOWN_RESENDER]` looks for due repeats every
    `resend_tick` seconds.

    Raises `ConfigurationError` for wrong routes or template, so `smsbot serve` stops at start
    with what to fix rather than failing on the first alert at night.
    """
    alerts = settings.alerts
    _check_numbers(settings)
    routes = load_routes(alerts.routes)
    template = AlertTemplate(alerts.template) if alerts.template else None
    client = slack
    clocked = {"clock": clock} if clock is not None else {}
    if groups is None and _wants_groups(settings, routes):
        groups = AlertGroups(service.store, settings, routes)
    mirrored = [r.name for r in routes if r.mirror_channel]
    if mirrored:
        if client is None:
            raise ConfigurationError(
                f"alert route(s) {', '.join(mirrored)} mirror to Slack, but no Slack bot token "
                "is set: set SMSBOT_SLACK__BOT_TOKEN or remove mirror_channel"
            )
        threads = None
        if groups is not None:
            # One message per alert group, its SMS and events in the thread, with buttons.
            threads = GroupMirror(
                client,
                groups,
                timezone=settings.timezone,
                mask_numbers=settings.audit.mask_numbers,
            )
            groups.events = threads
        mirror = SlackMirror(
            client,
            mask_numbers=settings.audit.mask_numbers,
            threads=threads,
            conversations=service,
        )
        service.register_notifier(Surface.ALERTMANAGER, mirror)
        service.register_notifier(Surface.GRAFANA, mirror)

    summaries = StormSummaries(
        alerts,
        service,
        history,
        channel_namer=_channel_namer(client) if client is not None else None,
        routes=routes,
        timezone=settings.timezone,
        **clocked,
    )
    resolver = RecipientResolver(directory)
    intake = AlertIntake(
        groups=groups,
        settings=alerts,
        service=service,
        history=history,
        routes=routes,
        resolver=resolver,
        template=template,
        storm=summaries,
        metrics=metrics,
        **clocked,
    )
    app[STORM_SUMMARIES] = summaries
    app[ALERT_INTAKE] = intake
    auth = AlertAuth(alerts)
    if auth.configured and not routes:
        log.warning(
            "the alert intake is on (credentials are set) but no alert routes are configured: "
            "every alert is accepted and sent to nobody. Add [[alerts.routes]] tables to the "
            "TOML file named by SMSBOT_CONFIG"
        )
    refusals = RefusalLog()  # one budget for both routes: one flood, one bounded log
    for path, source, model, signed in (
        (ALERTMANAGER_PATH, Surface.ALERTMANAGER, AlertmanagerPayload, False),
        (GRAFANA_PATH, Surface.GRAFANA, GrafanaPayload, True),
    ):
        endpoint = AlertEndpoint(
            source=source,
            model=model,
            auth=auth,
            intake=intake,
            max_body_bytes=alerts.max_body_bytes,
            accepts_signature=signed,
            metrics=metrics,
            refusals=refusals,
        )
        app.router.add_post(path, endpoint.handle)

    async def storm_summaries(_app: web.Application):
        async with running(summaries, storm_tick(settings)):
            yield

    app.cleanup_ctx.append(storm_summaries)
    # Alert SMS whose send ended unknown, repeated once.
    if any(route.resend_unknown_after for route in routes):
        resender = app[UNKNOWN_RESENDER] = UnknownResender(service.store, service)

        async def resending(_app: web.Application):
            async with resending_unknown(resender, resend_tick or RESEND_TICK_SECONDS):
                yield

        app.cleanup_ctx.append(resending)
    if groups is None:
        return
    app[ALERT_GROUPS] = groups
    app[ALERT_COMMANDS] = AlertCommandHandler(groups, service)
    timer = app[ESCALATION_TIMER] = EscalationTimer(
        groups, service, resolver, max_parts=alerts.max_parts
    )

    async def escalation(_app: web.Application):
        async with escalating(timer, escalation_tick or ESCALATION_TICK_SECONDS):
            yield
        await groups.close()

    app.cleanup_ctx.append(escalation)


def _wants_groups(settings: Settings, routes: list[Route]) -> bool:
    return bool(
        settings.kpn.reply_number
        or settings.alerts.alertmanager_url
        or any(route.escalate or route.alertmanager_url for route in routes)
    )
