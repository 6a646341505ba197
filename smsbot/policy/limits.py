"""Rate limits and storm caps, as `Cap`s the store counts atomically across replicas.

People, workflows and the CLI are held to hourly limits per actor and per recipient
(`SMSBOT_LIMITS__PER_ACTOR_PER_HOUR`, `..._PER_RECIPIENT_PER_HOUR`). Alerts are not: an alert
storm must not lock people out, and people must not use up the on-call phone's alert
allowance. Alerts get storm control instead: at most `storm_max` alert SMS per recipient per
`storm_window_seconds`, from both alert sources together.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from smsbot.policy.refusal import at
from smsbot.settings import Settings
from smsbot.sms.numbers import mask_number
from smsbot.sms.reasons import Reason, english
from smsbot.sms.request import Surface
from smsbot.store import Cap

ALERT_SURFACES = frozenset({Surface.ALERTMANAGER, Surface.GRAFANA})
PEOPLE_SURFACES = frozenset(Surface) - ALERT_SURFACES  # people, workflows and the CLI
STORM_RULE = "storm"  # the rule of alert SMS the storm cap refused
HOUR = timedelta(hours=1)


class CapMessage:
    """A cap's refusal, as the store asks for it when the cap is reached (`Cap.describe`): the
    English it records, and beside it the reason's code and parameters (`reason`), which the
    service hands a surface that says it in its reader's language. One per request's caps."""

    def __init__(self, code: str, timezone: str, params: Callable[[], dict[str, object]]) -> None:
        self.code, self.timezone, self.params = code, timezone, params
        self.reason: Reason | None = None  # set once the store has asked

    def __call__(self, retry_at: datetime | None) -> str:
        self.reason = Reason(self.code, {**self.params(), "next": at(retry_at, self.timezone)})
        return english(self.reason.code, self.reason.params)


def reason_of(caps: list[Cap]) -> Reason | None:
    """The reason of the cap that refused, among `caps_for`'s; None when none did."""
    for cap in caps:
        reason = getattr(cap.describe, "reason", None)
        if reason is not None:
            return reason
    return None


def caps_for(settings: Settings, surface: Surface, actor: str, recipient: str) -> list[Cap]:
    """The caps a request from `actor` on `surface` to `recipient` (E.164) must stay under.
    Built for every request; the messages are only formatted when a cap is reached."""

    zone = settings.timezone

    def shown() -> str:
        return mask_number(recipient) if settings.audit.mask_numbers else recipient

    if surface in ALERT_SURFACES:
        storm_max = settings.alerts.storm_max
        window = timedelta(seconds=settings.alerts.storm_window_seconds)
        minutes = max(1, round(window.total_seconds() / 60))
        storm = CapMessage(
            "refusal.storm",
            zone,
            lambda: {"number": shown(), "maximum": storm_max, "minutes": minutes},
        )
        return [Cap(STORM_RULE, "recipient", recipient, storm_max, window, storm, ALERT_SURFACES)]

    per_actor = settings.limits.per_actor_per_hour
    per_recipient = settings.limits.per_recipient_per_hour
    actor_limit = CapMessage("refusal.rate_limit_actor", zone, lambda: {"maximum": per_actor})
    recipient_limit = CapMessage(
        "refusal.rate_limit_recipient", zone, lambda: {"number": shown(), "maximum": per_recipient}
    )

    return [
        Cap("rate_limit", "actor", actor, per_actor, HOUR, actor_limit, PEOPLE_SURFACES),
        Cap(
            "rate_limit",
            "recipient",
            recipient,
            per_recipient,
            HOUR,
            recipient_limit,
            PEOPLE_SURFACES,
        ),
    ]
