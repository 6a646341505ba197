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

from aiohttp import web

from smsbot.alerts.auth import AlertAuth, RefusalLog, Unauthorized
from smsbot.alerts.escalation import running as escalating
from smsbot.alerts.intake import AlertIntake
from smsbot.alerts.parts import AlertParts
from smsbot.alerts.payloads import (
    AlertGroup,
    AlertmanagerPayload,
    GrafanaPayload,
    PayloadError,
    parse_payload,
)
from smsbot.alerts.recipients import RecipientLookupFailed
from smsbot.alerts.resend import TICK_SECONDS as RESEND_TICK_SECONDS
from smsbot.alerts.resend import running as resending_unknown
from smsbot.alerts.storm import running
from smsbot.metrics import Metrics
from smsbot.settings import Settings
from smsbot.sms.request import Surface
from smsbot.web import RouteRegistrar

log = logging.getLogger(__name__)

ALERTMANAGER_PATH = "/alerts/alertmanager"
GRAFANA_PATH = "/alerts/grafana"
READ_CHUNK = 64 * 1024
# How often held-back storms are checked for a reopened window, at most / at least.
STORM_TICK_MAX_SECONDS = 30.0
STORM_TICK_MIN_SECONDS = 0.2
ESCALATION_TICK_SECONDS = 5.0


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


def storm_tick(settings: Settings) -> float:
    """Check for reopened windows about ten times per window, within sensible bounds."""
    tenth = settings.alerts.storm_window_seconds / 10
    return max(STORM_TICK_MIN_SECONDS, min(STORM_TICK_MAX_SECONDS, tenth))


def alert_routes(
    settings: Settings,
    parts: AlertParts,
    *,
    metrics: Metrics | None = None,
    escalation_tick: float | None = None,
    resend_tick: float | None = None,
) -> RouteRegistrar:
    """The registrar of the alert routes made from `parts`, with the tasks that run beside
    them while the application runs: the storm summaries; the escalation timer every
    `escalation_tick` seconds (with the on-call loop); the resender of unknown alert SMS every
    `resend_tick` seconds (when a route repeats them, `resend_unknown_after`)."""
    alerts = settings.alerts
    auth = AlertAuth(alerts)
    if auth.configured and not parts.groundwork.routes:
        log.warning(
            "the alert intake is on (credentials are set) but no alert routes are configured: "
            "every alert is accepted and sent to nobody. Add [[alerts.routes]] tables to the "
            "TOML file named by SMSBOT_CONFIG"
        )
    refusals = RefusalLog()  # one budget for both routes: one flood, one bounded log
    endpoints = [
        (
            path,
            AlertEndpoint(
                source=source,
                model=model,
                auth=auth,
                intake=parts.intake,
                max_body_bytes=alerts.max_body_bytes,
                accepts_signature=signed,
                metrics=metrics,
                refusals=refusals,
            ),
        )
        for path, source, model, signed in (
            (ALERTMANAGER_PATH, Surface.ALERTMANAGER, AlertmanagerPayload, False),
            (GRAFANA_PATH, Surface.GRAFANA, GrafanaPayload, True),
        )
    ]

    async def storm_summaries(_app: web.Application):
        async with running(parts.storm, storm_tick(settings)):
            yield

    async def resending(_app: web.Application):
        assert parts.resender is not None
        async with resending_unknown(parts.resender, resend_tick or RESEND_TICK_SECONDS):
            yield

    async def escalation(_app: web.Application):
        assert parts.timer is not None
        async with escalating(parts.timer, escalation_tick or ESCALATION_TICK_SECONDS):
            yield

    def register(app: web.Application) -> None:
        for path, endpoint in endpoints:
            app.router.add_post(path, endpoint.handle)
        app.cleanup_ctx.append(storm_summaries)
        if parts.resender is not None:  # alert SMS whose send ended unknown, repeated once
            app.cleanup_ctx.append(resending)
        if parts.timer is not None:
            app.cleanup_ctx.append(escalation)

    return register
