"""A policy's "no", as a value: which rule, what to tell the person, when to try again."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from smsbot.sms.reasons import english
from smsbot.timezone import local_time


@dataclass(frozen=True)
class Refusal:
    rule: str  # "allowlist", "rate_limit", "storm" or "kpn_quota"
    message: str
    retry_at: datetime | None = None
    # The message as a code of `smsbot.sms.reasons` and its parameters, for a surface that
    # says it in another language; None when the message is all there is.
    code: str | None = None
    params: Mapping[str, object] = field(default_factory=dict)

    @classmethod
    def of(
        cls, rule: str, code: str, retry_at: datetime | None = None, **params: object
    ) -> Refusal:
        return cls(rule, english(code, params), retry_at, code, params)


def at(moment: datetime | None, timezone: str) -> str:
    """A time a person can read in a refusal, in `SMSBOT_TIMEZONE`: `14:05 CET` (the date too
    when not today there)."""
    if moment is None:
        return "an unknown time"
    return local_time(moment, timezone)
