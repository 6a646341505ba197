"""One rule for every time a person reads: SMSBOT_TIMEZONE, with its abbreviation."""

from datetime import UTC, datetime

import pytest

from smsbot.timezone import local_time, zone

WINTER = datetime(2026, 12, 1, 13, 5, 9, tzinfo=UTC)
SUMMER = datetime(2026, 7, 1, 13, 5, tzinfo=UTC)


def test_today_shows_the_time_and_the_zone_abbreviation():
    assert local_time(WINTER, "Europe/Amsterdam", now=WINTER) == "14:05 CET"
    assert local_time(SUMMER, "Europe/Amsterdam", now=SUMMER) == "15:05 CEST"
    assert local_time(WINTER, "UTC", now=WINTER) == "13:05 UTC"
    assert local_time(WINTER, "Europe/Amsterdam", now=WINTER, seconds=True) == "14:05:09 CET"


def test_another_day_there_shows_the_date():
    late = datetime(2026, 12, 1, 23, 30, tzinfo=UTC)  # already 2 December in Amsterdam
    assert local_time(late, "Europe/Amsterdam", now=WINTER) == "2026-12-02 00:30 CET"
    assert local_time(late, "UTC", now=WINTER) == "23:30 UTC"


def test_an_unknown_zone_says_what_to_use():
    with pytest.raises(ValueError, match="IANA name such as Europe/Amsterdam"):
        zone("Mars/Olympus")
