"""A policy's "no", as a value: which rule, what to tell the person, when to try again."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from smsbot.timezone import local_time


@dataclass(frozen=True)
class Refusal:
    rule: str  # "allowlist", "rate_limit", "storm" or "kpn_quota"
    message: str
    retry_at: datetime | None = None


def at(moment: datetime | None, timezone: str) -> str:
    """A time a person can read in a refusal, in `SMSBOT_TIMEZONE`: `14:05 CET` (the date too
    when not today there)."""
    if moment is None:
        return "an unknown time"
    return local_time(moment, timezone)
