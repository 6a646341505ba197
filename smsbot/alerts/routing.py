"""Which alerts go to whom: the `[[alerts.routes]]` tables of the TOML settings file.

```toml
[[alerts.routes]]
name = "database on-call"
matchers = ['team="db"', 'severity=~"critical|warning"']   # Alertmanager's matcher syntax
recipients = ["+31612345678", "U024BE7LH", "S0614TZR7"]     # numbers, Slack users, user groups
send_resolved = true          # default false
mirror_channel = "C0123ALERTS"  # every alert SMS is also posted there, with its document_id
continue = false              # default: the first matching route wins
alertmanager_url = "http://alertmanager:9093"  # silences from replies (default: the global one)
default_silence = "2h"        # `1s` alone (default: SMSBOT_REPLIES__DEFAULT_SILENCE)
max_silence = "1d"            # the longest `1s 3d` may ask (default: SMSBOT_REPLIES__MAX_SILENCE)
ack_expires_after = "4h"      # an acknowledgement holds back repeats this long (default: until
                              # the group resolves)
escalate = [{after = "5m", to = ["U0SECOND"]}, {after = "15m", to = ["S0TEAMLEADS"]}]
resend_unknown_after = "10m"  # an SMS whose send ended unknown, no report since: sent once more
                              # (the default; false: never)
fallback = ["U0DEPUTY"]       # paged when a delivery report says an SMS did not reach the phone
[alerts.routes.quiet_hours]
start = "22:00"
end = "07:00"
timezone = "Europe/Amsterdam"  # the default
matchers = ['severity="critical"']  # what still goes out at night (the default)
```

Matchers work as Alertmanager's: `=`, `!=`, `=~`, `!~`, regular expressions match the whole
value, a missing label is the empty string. Routes are tried in order for each alert; the first
match wins unless it says `continue = true`. Validation errors name the route and the field.
"""

from __future__ import annotations

import logging
import re
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from smsbot.errors import ConfigurationError, InvalidNumber
from smsbot.settings_names import did_you_mean
from smsbot.sms.numbers import normalize_number

log = logging.getLogger(__name__)

# How many alert groups the log of unrouted groups remembers (the oldest is forgotten first).
UNROUTED_REMEMBERED = 1000
SHOWN_LABELS_CHARACTERS = 300

_MATCHER = re.compile(r"^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$")
# Slack ids: users U…/W…, user groups S…. Anything else must be a phone number.
_SLACK_USER = re.compile(r"^[UW][A-Z0-9]{2,}$")
_SLACK_GROUP = re.compile(r"^S[A-Z0-9]{2,}$")


@dataclass(frozen=True)
class Matcher:
    label: str
    op: Literal["=", "!=", "=~", "!~"]
    value: str
    pattern: re.Pattern[str] | None = None

    @classmethod
    def parse(cls, text: str) -> Matcher:
        found = _MATCHER.match(text)
        if not found:
            raise ValueError(
                f"matcher {text!r} is not label=value, label!=value, label=~regex or label!~regex"
            )
        label, op, value = found.groups()
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        pattern = None
        if op in ("=~", "!~"):
            try:
                # Anchored as Alertmanager anchors them: the regex must match the whole value.
                pattern = re.compile(f"^(?:{value})$")
            except re.error as exc:
                raise ValueError(f"matcher {text!r}: bad regular expression: {exc}") from None
        return cls(label, op, value, pattern)  # type: ignore[arg-type]

    def matches(self, labels: Mapping[str, str]) -> bool:
        actual = labels.get(self.label, "")
        if self.op == "=":
            return actual == self.value
        if self.op == "!=":
            return actual != self.value
        assert self.pattern is not None
        found = self.pattern.match(actual) is not None
        return found if self.op == "=~" else not found


def _parse_matchers(values: Any) -> Any:
    if isinstance(values, str):
        values = [values]
    if isinstance(values, list):
        return [Matcher.parse(v) if isinstance(v, str) else v for v in values]
    return values


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)


class QuietHours(_Config):
    start: time
    end: time
    timezone: str = "Europe/Amsterdam"
    # During quiet hours only alerts matching all of these are sent.
    matchers: list[Matcher] = Field(default_factory=lambda: [Matcher.parse('severity="critical"')])

    _parse = field_validator("matchers", mode="before")(_parse_matchers)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown timezone {value!r}; use an IANA name like Europe/Amsterdam"
            ) from None
        return value

    def active(self, at: datetime) -> bool:
        local = at.astimezone(ZoneInfo(self.timezone)).time()
        if self.start <= self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end  # spans midnight

    def lets_through(self, labels: Mapping[str, str], at: datetime) -> bool:
        return not self.active(at) or all(m.matches(labels) for m in self.matchers)


@dataclass(frozen=True)
class Recipient:
    kind: Literal["number", "user", "usergroup"]
    value: str  # E.164 for numbers, the Slack id otherwise


def _parse_recipient(text: str) -> Recipient:
    text = text.strip()
    if _SLACK_USER.match(text):
        return Recipient("user", text)
    if _SLACK_GROUP.match(text):
        return Recipient("usergroup", text)
    try:
        return Recipient("number", normalize_number(text))
    except InvalidNumber as exc:
        raise ValueError(
            f"recipient {text!r} is neither a Slack user (U…), a user group (S…) "
            f"nor a number KPN accepts: {exc}"
        ) from None


def _parse_recipients(values: Any) -> Any:
    if isinstance(values, list):
        return [_parse_recipient(v) if isinstance(v, str) else v for v in values]
    return values


def _duration(value: Any) -> Any:
    if isinstance(value, str):
        from smsbot.alerts.replies import parse_duration

        return parse_duration(value)
    return value


class EscalationStepConfig(_Config):
    """One `escalate` step: who is paged when the group is still unacknowledged `after` its
    first SMS."""

    after: timedelta
    to: list[Recipient] = Field(min_length=1)

    _after = field_validator("after", mode="before")(_duration)

    _to = field_validator("to", mode="before")(_parse_recipients)


# What the store keeps of a route (smsbot.store.schema; a test ties them): its name in the
# audit's actor ("alert-reply:NAME", at most 200 characters) and its mirror channel (64).
ROUTE_NAME_CHARACTERS = 100
MIRROR_CHANNEL_CHARACTERS = 64


class Route(_Config):
    name: str = Field(min_length=1, max_length=ROUTE_NAME_CHARACTERS)
    matchers: list[Matcher] = Field(default_factory=list)
    recipients: list[Recipient] = Field(min_length=1)
    send_resolved: bool = False
    mirror_channel: str | None = None
    continue_: bool = Field(default=False, alias="continue")
    quiet_hours: QuietHours | None = None
    alertmanager_url: str | None = None
    default_silence: timedelta | None = None
    max_silence: timedelta | None = None
    ack_expires_after: timedelta | None = None
    escalate: list[EscalationStepConfig] = Field(default_factory=list)
    # An alert SMS whose send ended `unknown` (KPN may or may not have it) and that no
    # delivery report explained this long after it was recorded is sent once more, marked as a
    # repeat: a repeat is better than a lost page. `false` turns it off.
    resend_unknown_after: timedelta | None = timedelta(minutes=10)
    # Paged when an alert SMS of this route failed, was rejected or expired at the phone
    # (KPN's delivery report), once per failed SMS.
    fallback: list[Recipient] = Field(default_factory=list)

    model_config = ConfigDict(
        extra="forbid", frozen=True, arbitrary_types_allowed=True, populate_by_name=True
    )

    _parse = field_validator("matchers", mode="before")(_parse_matchers)
    _durations = field_validator(
        "default_silence", "max_silence", "ack_expires_after", mode="before"
    )(_duration)

    @field_validator("mirror_channel")
    @classmethod
    def _channel_fits(cls, channel: str | None) -> str | None:
        if channel is not None and len(channel) > MIRROR_CHANNEL_CHARACTERS:
            raise ValueError(
                f"at most {MIRROR_CHANNEL_CHARACTERS} characters; "
                "give the channel's ID (C0123ALERTS, from its details in Slack)"
            )
        return channel

    @field_validator("resend_unknown_after", mode="before")
    @classmethod
    def _resend(cls, value: Any) -> Any:
        return None if value is False else _duration(value)

    @field_validator("escalate")
    @classmethod
    def _steps_in_order(cls, steps: list[EscalationStepConfig]) -> list[EscalationStepConfig]:
        afters = [step.after for step in steps]
        if afters != sorted(afters):
            raise ValueError("escalate steps must be in order of `after`, shortest first")
        return steps

    _recipients = field_validator("recipients", "fallback", mode="before")(_parse_recipients)

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(m.matches(labels) for m in self.matchers)

    def accepts(self, labels: Mapping[str, str], status: str, at: datetime) -> bool:
        """Whether this route sends an alert with these labels and status at this moment."""
        if status == "resolved" and not self.send_resolved:
            return False
        return self.quiet_hours is None or self.quiet_hours.lets_through(labels, at)


def load_routes(raw: Sequence[Mapping[str, Any]]) -> list[Route]:
    """Validate `settings.alerts.routes`; raises `ConfigurationError` naming route and field."""
    routes: list[Route] = []
    names: set[str] = set()
    for index, table in enumerate(raw):
        label = table.get("name") if isinstance(table, Mapping) else None
        where = f"alerts.routes[{index}]" + (f" ({label!r})" if label else "")
        try:
            route = Route.model_validate(table)
        except ValidationError as exc:
            problems = "; ".join(_problem(err) for err in exc.errors())
            raise ConfigurationError(f"{where}: {problems}") from None
        if route.name in names:
            raise ConfigurationError(f"{where}: route name {route.name!r} is used twice")
        names.add(route.name)
        routes.append(route)
    return routes


def _problem(error: Any) -> str:
    """One validation error of a route table, said for a person; an unknown key names the
    nearest known one (`recipents` -> `recipients`)."""
    where = ".".join(str(p) for p in error["loc"]) or "route"
    if error["type"] == "extra_forbidden":
        model: type[_Config] = {"quiet_hours": QuietHours, "escalate": EscalationStepConfig}.get(
            str(error["loc"][0]), Route
        )
        known = [f.alias or name for name, f in model.model_fields.items()]
        return f"unknown key {where}{did_you_mean(str(error['loc'][-1]), known)}"
    return f"{where}: {error['msg'].removeprefix('Value error, ')}"


def routes_for(routes: Sequence[Route], labels: Mapping[str, str]) -> list[Route]:
    """The routes an alert with these labels goes to: first match, or on while `continue`."""
    chosen = []
    for route in routes:
        if route.matches(labels):
            chosen.append(route)
            if not route.continue_:
                break
    return chosen


class UnroutedLog:
    """Logs an alert group that no route matched, once per group (by source and group key):
    Alertmanager repeats a notification every `repeat_interval`, and an HA pair twice over, so
    a line per delivery would bury the one thing to fix, a route that takes it."""

    def __init__(self, remembered: int = UNROUTED_REMEMBERED) -> None:
        self._remembered = remembered
        self._seen: OrderedDict[tuple[str, str], None] = OrderedDict()

    def matched_no_route(
        self, source: str, group_key: str, group_labels: Mapping[str, str], alerts: int
    ) -> bool:
        """Log (unless logged before) that `alerts` alerts of this group matched no route;
        returns whether it logged."""
        key = (source, group_key or ",".join(f"{k}={v}" for k, v in sorted(group_labels.items())))
        if key in self._seen:
            self._seen.move_to_end(key)
            return False
        self._seen[key] = None
        if len(self._seen) > self._remembered:
            self._seen.popitem(last=False)
        labels = ", ".join(f"{k}={v}" for k, v in sorted(group_labels.items()))
        if len(labels) > SHOWN_LABELS_CHARACTERS:
            labels = labels[:SHOWN_LABELS_CHARACTERS] + "..."
        log.warning(
            "%d alert(s) of %s group %s {%s} matched no route: no SMS for them. Add a "
            "[[alerts.routes]] table whose matchers take them (a route without matchers takes "
            "everything). Logged once per group.",
            alerts,
            source,
            group_key or "(no group key)",
            labels,
        )
        return True
