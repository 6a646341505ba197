"""One alert group becomes one short SMS.

The fixed part comes first, because it is what the on-call person acts on:
`FIRING 3: HighCPU critical db1, db2 +1 more`, then ` - ` and the summary, cut with `...` so the
whole SMS fits `alerts.max_parts` GSM-7 parts (one by default). `truncatedAlerts` (alerts
Alertmanager left out of the payload) count in the total and in `+N more`.

Operators may set `alerts.template` instead, a `string.Template`:
`$status $count $alertname $severity $instances $summary $description $receiver $route`
(`${summary}` is what gets cut when the text is too long; after that the end is cut). A
template is a fixed format with fixed fields, never code.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from smsbot.alerts.gsm import prefer_gsm
from smsbot.alerts.payloads import Alert, AlertGroup
from smsbot.errors import ConfigurationError
from smsbot.sms.text import BIDI_CONTROLS, GSM7, GSM7_BASIC, LIMITS, analyze, is_control

ELLIPSIS = "..."
TEMPLATE_FIELDS = (
    "status",
    "count",
    "alertname",
    "severity",
    "instances",
    "summary",
    "description",
    "receiver",
    "route",
)
# Labels that say where an alert fires, most specific first.
INSTANCE_LABELS = ("instance", "host", "hostname", "node", "pod", "service", "job")
MAX_INSTANCES_SHOWN = 5
# The fixed part gives up instance names before it leaves the summary less than this.
SUMMARY_ROOM = 40
# A cut moves back to a word boundary when one is at most this many characters back.
WORD_SLACK = 12

_PORT = re.compile(r":\d{1,5}$")
_SPACES = re.compile(r"\s+")


# An alert's text comes from label and annotation values nobody typed for a phone. Control
# characters (NUL and the rest: C0, DEL, C1) become a space, which the spaces rule then folds
# away, and direction overrides and isolates are dropped: a phone cannot show the one, the
# other would show the alert's words in another order, and PostgreSQL cannot store a NUL.
_UNSHOWABLE = {
    **{code: " " for code in range(0x100) if is_control(chr(code))},
    **dict.fromkeys(map(ord, BIDI_CONTROLS), ""),
}


def _clean(text: str) -> str:
    if not text.isprintable():  # rare: isprintable() is False for every control and override
        text = text.translate(_UNSHOWABLE)
    return _SPACES.sub(" ", prefer_gsm(text)).strip()


def _fits(text: str, max_parts: int) -> bool:
    if max_parts >= 1 and GSM7_BASIC.issuperset(text):
        # Each character one septet (the usual alert text): the length alone gives the parts,
        # without `analyze` walking the text in Python for every cut `_fit` tries.
        single, per_part = LIMITS[GSM7]
        return len(text) <= single or len(text) <= per_part * max_parts
    return analyze(text).parts <= max_parts


def _cut_end(text: str, max_parts: int) -> str:
    """The longest prefix of `text`, plus `...`, that fits."""
    if _fits(text, max_parts):
        return text
    low, high = 0, len(text)
    while low < high:  # largest n with text[:n] + "..." fitting
        mid = (low + high + 1) // 2
        if _fits(text[:mid].rstrip() + ELLIPSIS, max_parts):
            low = mid
        else:
            high = mid - 1
    return text[:low].rstrip() + ELLIPSIS


def _at_word(text: str, n: int) -> int:
    """`n`, moved back to the end of a word when one ends shortly before it."""
    if n >= len(text) or text[n] == " ":
        return n
    space = text.rfind(" ", max(0, n - WORD_SLACK), n)
    return space if space > 0 else n


def _fit(make: Callable[[str], str], summary: str, max_parts: int) -> str:
    """`make(summary)` with the summary cut (then the whole text) until it fits."""
    full = make(summary)
    if _fits(full, max_parts):
        return full
    low, high = 0, len(summary)
    while low < high:
        mid = (low + high + 1) // 2
        if _fits(make(summary[:mid].rstrip() + ELLIPSIS), max_parts):
            low = mid
        else:
            high = mid - 1
    if low > 0:
        return make(summary[: _at_word(summary, low)].rstrip() + ELLIPSIS)
    return _cut_end(make(""), max_parts)


@dataclass(frozen=True)
class AlertFields:
    """What an alert SMS says, each value already cleaned for GSM-7."""

    status: str
    count: int
    alertname: str
    severity: str
    instances: tuple[str, ...]
    hidden: int  # alerts counted but not named: left out for room, or truncated by the sender
    summary: str
    description: str
    receiver: str
    route: str

    def instance_text(self, shown: int | None = None) -> str:
        names = self.instances if shown is None else self.instances[:shown]
        more = self.hidden + len(self.instances) - len(names)
        text = ", ".join(names)
        if more:
            text = f"{text} +{more} more" if text else f"+{more} more"
        return text


def _distinct(values: Sequence[str]) -> str:
    return "/".join(dict.fromkeys(v for v in values if v))


def _instance_of(alert: Alert) -> str:
    for label in INSTANCE_LABELS:
        if alert.labels.get(label):
            # host:port -> host: the scrape port is noise on a phone screen
            return _PORT.sub("", alert.labels[label])
    return ""


def fields_of(group: AlertGroup, alerts: Sequence[Alert], route: str = "") -> AlertFields:
    """The fields of one SMS about `alerts` (those of `group` that go to this route)."""
    status = "firing" if any(a.status == "firing" for a in alerts) else "resolved"
    # A mixed group reports what fires; the resolved ones are not what wakes anyone up.
    shown = [a for a in alerts if a.status == status]
    truncated = group.truncated_alerts if status == group.status else 0
    first = shown[0]
    summary = (
        group.common_annotations.get("summary")
        or first.annotations.get("summary")
        or group.common_annotations.get("description")
        or first.annotations.get("description")
        or ""
    )
    named = [_clean(i) for i in map(_instance_of, shown)]
    instances = tuple(dict.fromkeys(i for i in named if i))
    # Alerts without an instance label count in "+N more" next to named ones; when none is
    # named, the count in the head says it all.
    unnamed = named.count("") if instances else 0
    return AlertFields(
        status=status.upper(),
        count=len(shown) + truncated,
        alertname=_clean(
            group.common_labels.get("alertname")
            or _distinct([a.labels.get("alertname", "") for a in shown])
        ),
        severity=_clean(
            group.common_labels.get("severity")
            or _distinct([a.labels.get("severity", "") for a in shown])
        ),
        instances=instances,
        hidden=truncated + unnamed,
        summary=_clean(summary),
        description=_clean(
            group.common_annotations.get("description") or first.annotations.get("description", "")
        ),
        receiver=_clean(group.receiver),
        route=_clean(route),
    )


class AlertTemplate:
    """An operator's `alerts.template`, checked once at start-up."""

    def __init__(self, source: str) -> None:
        self.template = string.Template(source)
        if not self.template.is_valid():
            raise ConfigurationError(
                "alerts.template is not a valid template: write $field or ${field}, and $$ "
                f"for a dollar sign. Fields: {', '.join(TEMPLATE_FIELDS)}"
            )
        unknown = set(self.template.get_identifiers()) - set(TEMPLATE_FIELDS)
        if unknown:
            raise ConfigurationError(
                f"alerts.template uses unknown field(s) {', '.join(sorted(unknown))}; "
                f"available: {', '.join(TEMPLATE_FIELDS)}"
            )

    def render(self, fields: AlertFields, max_parts: int) -> str:
        values = {
            "status": fields.status,
            "count": str(fields.count),
            "alertname": fields.alertname,
            "severity": fields.severity,
            "instances": fields.instance_text(MAX_INSTANCES_SHOWN),
            "description": fields.description,
            "receiver": fields.receiver,
            "route": fields.route,
        }
        text = _fit(
            lambda summary: _SPACES.sub(
                " ", self.template.substitute(values, summary=summary)
            ).strip(),
            fields.summary,
            max_parts,
        )
        return text


def _fixed_part(fields: AlertFields, shown: int) -> str:
    head = fields.status + (f" {fields.count}" if fields.count > 1 else "")
    rest = " ".join(
        p for p in (fields.alertname, fields.severity, fields.instance_text(shown)) if p
    )
    return f"{head}: {rest}" if rest else head


def render_default(fields: AlertFields, max_parts: int) -> str:
    shown = min(len(fields.instances), MAX_INSTANCES_SHOWN)
    # Fewer instance names (down to one) while they would leave the summary too little room.
    while shown > 1 and not _fits(
        _fixed_part(fields, shown) + " - " + "x" * SUMMARY_ROOM, max_parts
    ):
        shown -= 1
    fixed = _fixed_part(fields, shown)
    if not fields.summary:
        return _cut_end(fixed, max_parts)
    return _fit(lambda summary: f"{fixed} - {summary}", fields.summary, max_parts)


def with_hint(text: str, hint: str | None, max_parts: int) -> str:
    """`text`, then on a line of its own `hint` (the reply hint, `Reply 1a ack, ...`), the
    text's end cut with `...` so that both fit `max_parts` parts: the hint is never cut."""
    if not hint:
        return text
    suffix = "\n" + hint
    if _fits(text + suffix, max_parts):
        return text + suffix
    low, high = 0, len(text)
    while low < high:  # largest n with text[:n] + "..." + suffix fitting
        mid = (low + high + 1) // 2
        if _fits(text[:mid].rstrip() + ELLIPSIS + suffix, max_parts):
            low = mid
        else:
            high = mid - 1
    if low == 0:
        return text  # no room at all for the hint: the alert itself matters more
    return text[: _at_word(text, low)].rstrip() + ELLIPSIS + suffix


def render(
    group: AlertGroup,
    alerts: Sequence[Alert],
    *,
    max_parts: int = 1,
    template: AlertTemplate | None = None,
    route: str = "",
    hint: str | None = None,
) -> str:
    """The SMS text for `alerts` of `group`, at most `max_parts` parts long, ending with
    `hint` (the reply hint) when one is given."""
    fields = fields_of(group, alerts, route)
    if template is not None:
        return with_hint(template.render(fields, max_parts), hint, max_parts)
    return with_hint(render_default(fields, max_parts), hint, max_parts)
