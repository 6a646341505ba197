"""Rate limits and storm caps, as `Cap`s the store counts atomically across replicas.

People, workflows and the CLI are held to hourly limits per actor and per recipient
(`SMSBOT_LIMITS__PER_ACTOR_PER_HOUR`, `..._PER_RECIPIENT_PER_HOUR`). Alerts are not: an alert
storm must not lock people out, and people must not use up the on-call phone's alert
allowance. Alerts get storm control instead: at most `storm_max` alert SMS per recipient per
`storm_window_seconds`, from both alert sources together.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from smsbot.policy.refusal import at
from smsbot.settings import Settings
from smsbot.sms.numbers import mask_number
from smsbot.sms.request import Surface
from smsbot.store import Cap

ALERT_SURFACES = frozenset({Surface.ALERTMANAGER, Surface.GRAFANA})
PEOPLE_SURFACES = frozenset(Surface) - ALERT_SURFACES  # people, workflows and the CLI
STORM_RULE = "storm"  # the rule of alert SMS the storm cap refused
HOUR = timedelta(hours=1)


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

        def storm(retry_at: datetime | None) -> str:
            return (
                f"Storm control: {shown()} already got {storm_max} alert SMS in the last "
                f"{minutes} minutes. The next alert SMS is possible at {at(retry_at, zone)}."
            )

        return [Cap(STORM_RULE, "recipient", recipient, storm_max, window, storm, ALERT_SURFACES)]

    per_actor = settings.limits.per_actor_per_hour
    per_recipient = settings.limits.per_recipient_per_hour

    def actor_limit(retry_at: datetime | None) -> str:
        return (
            f"You have sent {per_actor} SMS in the last hour, the most allowed "
            "(SMSBOT_LIMITS__PER_ACTOR_PER_HOUR). Your next send is possible at "
            f"{at(retry_at, zone)}."
        )

    def recipient_limit(retry_at: datetime | None) -> str:
        return (
            f"{shown()} has already been sent {per_recipient} SMS in the last hour, the most "
            "allowed per number (SMSBOT_LIMITS__PER_RECIPIENT_PER_HOUR). The next send to it "
            f"is possible at {at(retry_at, zone)}."
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
