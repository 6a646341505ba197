"""A policy's "no", as a value: which rule, what to tell the person, when to try again."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime


@dataclass(frozen=True)
class Refusal:
    rule: str  # "allowlist", "rate_limit", "storm" or "kpn_quota"
    message: str
    retry_at: datetime | None = None


def at(moment: datetime | None) -> str:
    """A time a person can read in a refusal: `14:05 UTC` (the date too when not today)."""
    if moment is None:
        return "an unknown time"
    today = datetime.now(UTC).date()
    return f"{moment:%H:%M} UTC" if moment.date() == today else f"{moment:%Y-%m-%d %H:%M} UTC"
