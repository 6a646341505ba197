"""The on-call loop's service: alert groups as state, and what people do to them.

Surfaces hand it what they saw: the alert intake each notification (`observe`, `code_for`,
`holds_back_repeat`), the SMS reply handler and the Slack buttons a person's action
(`acknowledge`, `silence`, `unsilence`). It records the state in the store, asks Alertmanager
for silences (the gateway), and tells the group's notifier (`GroupEvents`: the Slack mirror
thread) what happened, in order. Escalation (`smsbot.alerts.escalation`) reads the same state.

A group here is one route's view of one Alertmanager (or Grafana) group: per source, route and
group key. Its labels are the group labels (Alertmanager's `group_by`), or the alerts' common
labels when it groups by nothing: the matchers of a silence made for it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from smsbot.alerts.payloads import Alert, AlertGroup
from smsbot.alerts.replies import format_duration, reply_hint
from smsbot.alerts.routing import Route
from smsbot.alerts.silences import SilencesClient, matchers_for
from smsbot.errors import AlertmanagerError, ConfigurationError, SilenceNotFound
from smsbot.settings import Settings
from smsbot.store import Store
from smsbot.store.alert_groups import (
    AlertGroupRecord,
    GroupAction,
    GroupState,
    Observed,
)
from smsbot.timezone import local_time

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Actor:
    """Who acts on a group: `name` as people read it ("Alice", or a masked number), `via`
    `sms` or `slack`, `audit` what the audit log names (a Slack user id, a masked number)."""

    name: str
    via: str
    audit: str


class GroupEvents(Protocol):
    """Told of each event of a group, in order (the Slack mirror posts it in the group's
    thread and updates the mirror message). An exception is logged and changes nothing."""

    async def group_event(self, group: AlertGroupRecord, event: str) -> None: ...


@dataclass(frozen=True)
class Done:
    """What became of an action: `group` afterwards, `ok`, and `message`, the short answer
    for the person (an SMS, or an ephemeral Slack message)."""

    group: AlertGroupRecord | None
    ok: bool
    message: str


class AlertGroups:
    def __init__(
        self,
        store: Store,
        settings: Settings,
        routes: Sequence[Route],
        *,
        events: GroupEvents | None = None,
        silences: Callable[[Route], SilencesClient] | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        """`silences` gives a route's Alertmanager client (default: from the settings, the
        route's `alertmanager_url` over the global one). `clock` is the time silences start
        at: Alertmanager's own clock judges them, so it is the real one outside tests."""
        self.store = store
        self.settings = settings
        self.routes = {route.name: route for route in routes}
        self.events = events
        self._silences = silences or self._client_for
        self._clients: dict[str, SilencesClient] = {}
        self.clock = clock

    # -- what the intake asks --------------------------------------------------------------

    async def observe(
        self, source: str, group: AlertGroup, route: Route, alerts: Sequence[Alert]
    ) -> Observed | None:
        firing = any(alert.status == "firing" for alert in alerts)
        observed = await self.store.observe_group(
            source=source,
            route=route.name,
            group_key=group.group_key or _labels_key(group_labels(group)),
            labels=group_labels(group),
            firing=firing,
            steps=[step.after for step in route.escalate],
            mirror_channel=route.mirror_channel,
        )
        if observed is not None and observed.resolved:
            await self.tell(observed.group, "resolved")
        return observed

    async def code_for(self, group_id: str, phone: str, name: str | None = None) -> int:
        return await self.store.assign_code(group_id, phone, name)

    async def note_send(self, group_id: str, phone: str, send_id: str) -> None:
        await self.store.note_send(group_id, phone, send_id)

    async def open_groups_of(self, phone: str) -> list[tuple[int, AlertGroupRecord]]:
        """The phone's open groups as (code, group), the one it was paged for last at the end:
        the only groups a reply from that phone can act on."""
        return await self.store.groups_of_phone(phone)

    async def name_of_phone(self, phone: str) -> str | None:
        return await self.store.name_of_phone(phone)

    def hint(self, code: int, route: Route) -> str | None:
        """The reply hint of an alert SMS, or None when no reply number is set (a reply
        would reach nobody)."""
        if not self.settings.kpn.reply_number:
            return None
        return reply_hint(code, self.default_silence(route))

    def holds_back_repeat(self, observed: Observed) -> bool:
        """A repeat notification (Alertmanager's repeat_interval) of an acknowledged group
        sends nothing while the acknowledgement stands; a new episode always pages."""
        group = observed.group
        return (
            not observed.opened
            and group.state is not GroupState.RESOLVED
            and group.acknowledged_at(self.store.clock())
        )

    def default_silence(self, route: Route) -> timedelta:
        return min(
            self.max_silence(route), route.default_silence or self.settings.replies.default_silence
        )

    def max_silence(self, route: Route) -> timedelta:
        return route.max_silence or self.settings.replies.max_silence

    async def note_summary(self, group_id: str, summary: str) -> None:
        await self.store.change_group(group_id, {"summary": summary})

    # -- what people do --------------------------------------------------------------------

    async def acknowledge(self, group_id: str, actor: Actor) -> Done:
        group = await self.store.alert_group(group_id)
        if group is None or not group.is_open:
            return Done(group, False, "That alert group is resolved already; nothing to do.")
        if group.state is GroupState.ACKNOWLEDGED and group.acked_by:
            return Done(group, True, f"Already acknowledged by {group.acked_by}.")
        route = self.routes.get(group.route)
        now = self.store.clock()
        lasts = route.ack_expires_after if route else None
        changes = {
            "acked_by": actor.name,
            "acked_via": actor.via,
            "acked_at": now,
            "ack_until": now + lasts if lasts else None,
        }
        if group.state is GroupState.FIRING:
            changes["state"] = GroupState.ACKNOWLEDGED
        changed = await self.store.change_group(
            group_id, changes, stops_escalation=True, audit=_action(actor, "acknowledged")
        )
        if changed is None or not changed.is_open:
            return Done(changed, False, "That alert group resolved meanwhile; nothing to do.")
        self._log("acknowledged", changed, actor)
        await self.tell(changed, f"acknowledged by {actor.name}, by {_via(actor)}")
        return Done(changed, True, f"Acknowledged: {title(changed)}. Escalation stopped.")

    async def silence(self, group_id: str, actor: Actor, duration: timedelta) -> Done:
        group = await self.store.alert_group(group_id)
        if group is None or not group.is_open:
            return Done(group, False, "That alert group is resolved already; nothing to do.")
        route = self.routes.get(group.route)
        if route is None:
            return Done(
                group, False, "That alert group's route is gone; silence it in Alertmanager."
            )
        duration = min(duration, self.max_silence(route))
        try:
            matchers = matchers_for(group.labels)
        except ValueError:
            return Done(group, False, "This alert group has no labels to silence it by.")
        starts = self.clock()
        ends = starts + duration
        try:
            client = self._silences(route)
            if group.silence_id:  # one silence per group: the new one replaces smsbot's last
                await _expire_quietly(client, group.silence_id)
            silence_id = await client.create(
                matchers=matchers,
                starts_at=starts,
                ends_at=ends,
                created_by=actor.name,
                comment=f"smsbot: silenced by {actor.name} by {_via(actor)} ({actor.audit})",
            )
        except ConfigurationError as exc:
            log.warning("silence for alert group %s not made: %s", group.id, exc)
            return Done(group, False, "Silences are not set up in smsbot; not silenced.")
        except AlertmanagerError as exc:
            log.warning("silence for alert group %s not made: %s", group.id, exc)
            return Done(group, False, "Alertmanager could not be reached; not silenced. Try again.")
        changed = await self.store.change_group(
            group_id,
            {"state": GroupState.SILENCED, "silence_id": silence_id, "silenced_until": ends},
            stops_escalation=True,
            audit=_action(actor, "silenced", f"until {ends.isoformat()}"),
        )
        until = local_time(ends, self.settings.timezone, now=starts)
        if changed is None or not changed.is_open:
            return Done(
                changed, False, f"That alert group resolved meanwhile; silenced until {until}."
            )
        self._log("silenced", changed, actor)
        await self.tell(
            changed,
            f"silenced by {actor.name}, by {_via(actor)}, for {format_duration(duration)} "
            f"(until {until})",
        )
        return Done(changed, True, f"Silenced until {until}: {title(changed)}.")

    async def unsilence(self, group_id: str, actor: Actor) -> Done:
        group = await self.store.alert_group(group_id)
        if group is None or not group.silence_id:
            return Done(group, False, "smsbot made no silence for that alert group.")
        route = self.routes.get(group.route)
        try:
            if route is None:
                raise ConfigurationError("route gone")
            await _expire_quietly(self._silences(route), group.silence_id)
        except (AlertmanagerError, ConfigurationError) as exc:
            log.warning("silence of alert group %s not lifted: %s", group.id, exc)
            return Done(group, False, "Alertmanager could not be reached; the silence stands.")
        state = GroupState.ACKNOWLEDGED if group.acked_at else GroupState.FIRING
        changed = await self.store.change_group(
            group_id,
            {
                "state": state if group.is_open else GroupState.RESOLVED,
                "silence_id": None,
                "silenced_until": None,
            },
            only_open=False,
            audit=_action(actor, "unsilenced"),
        )
        assert changed is not None  # groups are never deleted
        self._log("unsilenced", changed, actor)
        await self.tell(changed, f"silence lifted by {actor.name}, by {_via(actor)}")
        return Done(changed, True, f"Silence lifted: {title(changed)}.")

    async def close(self) -> None:
        for client in self._clients.values():
            await client.close()
        self._clients.clear()

    # -- inside ----------------------------------------------------------------------------

    def _client_for(self, route: Route) -> SilencesClient:
        url = route.alertmanager_url or self.settings.alerts.alertmanager_url or ""
        if url not in self._clients:
            self._clients[url] = SilencesClient.from_settings(self.settings.alerts, url=url or None)
        return self._clients[url]

    async def tell(self, group: AlertGroupRecord, event: str) -> None:
        """Tell the group's notifier of `event` (escalation uses this too)."""
        if self.events is None:
            return
        try:
            await self.events.group_event(group, event)
        except Exception:
            log.exception("could not show event of alert group %s in Slack", group.id)

    @staticmethod
    def _log(action: str, group: AlertGroupRecord, actor: Actor) -> None:
        # The audit line names the actor as the audit log does (a masked number at most).
        log.info(
            "alert group %s (route %r) %s by %s via %s",
            group.id,
            group.route,
            action,
            actor.audit,
            actor.via,
        )


def group_labels(group: AlertGroup) -> dict[str, str]:
    return dict(group.group_labels or group.common_labels)


def _labels_key(labels: Mapping[str, str]) -> str:
    return "{" + ",".join(f"{k}={v!r}" for k, v in sorted(labels.items())) + "}"


def _action(actor: Actor, action: str, detail: str | None = None) -> GroupAction:
    """The audit record of `actor` doing `action` (a Slack user id or a masked number)."""
    return GroupAction(actor=actor.audit, via=actor.via, action=action, detail=detail)


def _via(actor: Actor) -> str:
    return "SMS" if actor.via == "sms" else "Slack"


def title(group: AlertGroupRecord) -> str:
    """What a person calls the group: its alertname, else its labels."""
    name = group.labels.get("alertname")
    return name or ", ".join(f"{k}={v}" for k, v in sorted(group.labels.items()))[:60]


async def _expire_quietly(client: SilencesClient, silence_id: str) -> None:
    try:
        await client.expire(silence_id)
    except SilenceNotFound:
        pass  # gone already (expired and dropped by Alertmanager's retention)
