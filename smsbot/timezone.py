"""One rule for every time a person reads: in `SMSBOT_TIMEZONE` (default Europe/Amsterdam),
with the zone's abbreviation, and the date only when it is not today there.

    local_time(moment, "Europe/Amsterdam")  ->  "14:05 CET", or "2026-12-02 14:05 CET"

Used by refusals ("the next send is possible at ..."), storm summaries, retry notes and the
Slack texts that show times. Logs, JSON and the store keep UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


@cache
def zone(name: str) -> ZoneInfo:
    """The IANA zone `name`; ValueError (naming the setting) when there is none by that name."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {name!r}; use an IANA name such as Europe/Amsterdam or UTC"
        ) from None


def local_time(
    moment: datetime, zone_name: str, *, now: datetime | None = None, seconds: bool = False
) -> str:
    """`moment` as a person in `zone_name` reads it: `14:05 CET`, with the date when that is
    not today in that zone."""
    tz = zone(zone_name)
    local = moment.astimezone(tz)
    today = (now or datetime.now(UTC)).astimezone(tz).date()
    clock = local.strftime("%H:%M:%S" if seconds else "%H:%M")
    shown = clock if local.date() == today else f"{local:%Y-%m-%d} {clock}"
    return f"{shown} {local.tzname()}"
