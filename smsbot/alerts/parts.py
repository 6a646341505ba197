"""The alert side's parts, built as objects in the order they need each other; the routes
(`smsbot.alerts.routes.alert_routes`) and the Slack buttons (`smsbot.slack.alert_buttons`) are
made from them afterwards.

```python
ground = alert_groundwork(settings, store, slack)        # before the service
SmsService(..., notifiers={**ground.notifiers(), ...})   # the mirror hears alert outcomes
alerts = alert_parts(settings, ground, service, ...)     # after it: what sends alert SMS
DeliveryRecorder(store, watchers=[..., *alerts.delivery_watchers()])
InboundService(store, [*alerts.reply_handlers(), threads])
```

Two steps because the service stands between them. The groundwork needs only the store and
Slack's client: the checked routes and template, the on-call loop's `AlertGroups` (state,
reply commands, silences) and the Slack mirror, which is the alert surfaces' notifier and so
must exist when the service is built. The parts built after the service are the ones that send
through it: the intake, the storm summaries, the escalation timer, the resender of unknown SMS,
the reply command handler and the delivery alarms.

The group mirror reads the groups' state from the store, not from `AlertGroups`, so it is built
first and `AlertGroups` is built with it as its events' listener.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from smsbot.alerts.commands import AlertCommandHandler
from smsbot.alerts.delivery_alarms import PageNotDelivered
from smsbot.alerts.escalation import EscalationTimer
from smsbot.alerts.group_mirror import GroupMirror
from smsbot.alerts.groups import AlertGroups
from smsbot.alerts.history import AlertHistory
from smsbot.alerts.intake import AlertIntake
from smsbot.alerts.mirror import SlackMirror
from smsbot.alerts.recipients import PeopleDirectory, RecipientResolver
from smsbot.alerts.render import AlertTemplate
from smsbot.alerts.resend import UnknownResender
from smsbot.alerts.routing import Route, load_routes
from smsbot.alerts.silences import SilencesClient
from smsbot.alerts.storm import StormSummaries
from smsbot.deliveries import DeliveryWatcher
from smsbot.errors import ConfigurationError
from smsbot.inbound.handlers import ReplyHandler
from smsbot.metrics import Metrics
from smsbot.notify import Notifier
from smsbot.settings import Settings
from smsbot.sms.request import Surface
from smsbot.store import Clock, DeliveryApplied, Store

if TYPE_CHECKING:
    from slack_sdk.web.async_client import AsyncWebClient

    from smsbot.service import SmsService

log = logging.getLogger(__name__)

# Gives a route's Alertmanager client; tests hand in one on a real Alertmanager they run.
SilencesFor = Callable[[Route], SilencesClient]


@dataclass(frozen=True)
class AlertGroundwork:
    """What the alert side holds before the service exists."""

    routes: list[Route]
    template: AlertTemplate | None
    groups: AlertGroups | None  # the on-call loop; None when nothing needs it
    group_mirror: GroupMirror | None  # one Slack message per group; with groups and a mirror
    mirror: SlackMirror | None  # the alert surfaces' notifier; None: no route mirrors

    def notifiers(self) -> dict[Surface, Notifier]:
        """The notifier of each alert surface, for the service."""
        if self.mirror is None:
            return {}
        return {Surface.ALERTMANAGER: self.mirror, Surface.GRAFANA: self.mirror}


def alert_groundwork(
    settings: Settings,
    store: Store,
    slack: AsyncWebClient | None,
    *,
    silences: SilencesFor | None = None,
) -> AlertGroundwork:
    """The checked routes and template, the on-call loop and the Slack mirror. `slack` is the
    bot's Web API client when a bot token is set; `silences` gives a route's Alertmanager
    client (default: from the settings).

    The on-call loop (reply commands, escalation, acknowledged repeats held back) is built
    when a reply number is set or a route escalates or names an Alertmanager.

    Raises `ConfigurationError` for wrong routes or template, or a mirror without Slack, so
    `smsbot serve` stops at start with what to fix rather than failing on the first alert at
    night."""
    _check_numbers(settings)
    routes = load_routes(settings.alerts.routes)
    template = AlertTemplate(settings.alerts.template) if settings.alerts.template else None
    mirrored = [r.name for r in routes if r.mirror_channel]
    if mirrored and slack is None:
        raise ConfigurationError(
            f"alert route(s) {', '.join(mirrored)} mirror to Slack, but no Slack bot token "
            "is set: set SMSBOT_SLACK__BOT_TOKEN or remove mirror_channel"
        )
    wants_groups = _wants_groups(settings, routes)
    group_mirror = None
    if mirrored and wants_groups:
        assert slack is not None
        # One message per alert group, its SMS and events in the thread, with buttons.
        group_mirror = GroupMirror(
            slack,
            store,
            timezone=settings.timezone,
            mask_numbers=settings.audit.mask_numbers,
        )
    groups = None
    if wants_groups:
        groups = AlertGroups(store, settings, routes, events=group_mirror, silences=silences)
    mirror = None
    if mirrored:
        assert slack is not None
        mirror = SlackMirror(
            slack,
            mask_numbers=settings.audit.mask_numbers,
            threads=group_mirror,
            conversations=store,
        )
    return AlertGroundwork(routes, template, groups, group_mirror, mirror)


@dataclass(frozen=True)
class AlertParts:
    """The alert side, whole: its groundwork and what sends alert SMS through the service."""

    groundwork: AlertGroundwork
    intake: AlertIntake
    storm: StormSummaries
    alarms: PageNotDelivered  # alert SMS that did not reach the phone
    resender: UnknownResender | None  # when a route repeats unknown alert SMS
    commands: AlertCommandHandler | None  # reply commands (`1a`, `1s 2h`); with groups
    timer: EscalationTimer | None  # with groups

    @property
    def groups(self) -> AlertGroups | None:
        return self.groundwork.groups

    def delivery_watchers(self) -> list[DeliveryWatcher]:
        """Told of each delivery report: failed pages said and fallbacks paged, and the
        reports of a group's SMS shown on the group's Slack message."""
        watchers: list[DeliveryWatcher] = [self.alarms]
        group_mirror = self.groundwork.group_mirror
        if group_mirror is not None:

            async def show_on_group(applied: DeliveryApplied) -> None:
                await group_mirror.delivery_changed(applied.record)

            watchers.append(show_on_group)
        return watchers

    def reply_handlers(self) -> list[ReplyHandler]:
        """Alert reply commands, taken before a reply goes to its thread."""
        return [self.commands] if self.commands is not None else []


def alert_parts(
    settings: Settings,
    groundwork: AlertGroundwork,
    service: SmsService,
    *,
    slack: AsyncWebClient | None,
    directory: PeopleDirectory | None,
    metrics: Metrics | None,
    clock: Clock | None = None,
) -> AlertParts:
    """`directory` looks up the numbers of Slack people and groups; `clock` is the time of the
    intake and the storm summaries (default: the real one)."""
    alerts = settings.alerts
    routes = groundwork.routes
    clocked = {"clock": clock} if clock is not None else {}
    history = AlertHistory(service.store)
    summaries = StormSummaries(
        alerts,
        service,
        history,
        channel_namer=_channel_namer(slack) if slack is not None else None,
        routes=routes,
        timezone=settings.timezone,
        **clocked,
    )
    resolver = RecipientResolver(directory)
    groups = groundwork.groups
    intake = AlertIntake(
        groups=groups,
        settings=alerts,
        service=service,
        history=history,
        routes=routes,
        resolver=resolver,
        template=groundwork.template,
        storm=summaries,
        metrics=metrics,
        **clocked,
    )
    alarms = PageNotDelivered(
        service,
        _by_name(routes),
        RecipientResolver(directory),  # its own: names come from the store's paged phones
        client=slack,
        mask_numbers=settings.audit.mask_numbers,
        max_parts=alerts.max_parts,
        timezone=settings.timezone,
    )
    resender = None
    if any(route.resend_unknown_after for route in routes):
        resender = UnknownResender(service.store, service)
    commands = timer = None
    if groups is not None:
        commands = AlertCommandHandler(groups, service)
        timer = EscalationTimer(groups, service, resolver, max_parts=alerts.max_parts)
    return AlertParts(groundwork, intake, summaries, alarms, resender, commands, timer)


def _by_name(routes: list[Route]) -> Mapping[str, Route]:
    return {route.name: route for route in routes}


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


def _wants_groups(settings: Settings, routes: list[Route]) -> bool:
    return bool(
        settings.kpn.reply_number
        or settings.alerts.alertmanager_url
        or any(route.escalate or route.alertmanager_url for route in routes)
    )
