"""The quota: counted per send request in UTC-aligned windows; past it, KPN's 429."""

from __future__ import annotations

from datetime import UTC, datetime

import aiohttp
import pytest

from smsbot.errors import ConfigurationError
from smsbot.sandbox.config import QuotaRule, SandboxConfig
from smsbot.sandbox.testing import running_sandbox
from tests.sandbox.helpers import FakeClock, fetch_token, message, post_send

# 2027-01-15 10:59:30 UTC: thirty seconds before an hour and a minute boundary.
HALF_MINUTE_BEFORE_THE_HOUR = datetime(2027, 1, 15, 10, 59, 30, tzinfo=UTC).timestamp()


async def test_past_the_quota_sends_get_429_until_the_window_resets(
    http: aiohttp.ClientSession,
) -> None:
    clock = FakeClock(HALF_MINUTE_BEFORE_THE_HOUR)
    async with running_sandbox(quota="2/minute", config=SandboxConfig(clock=clock)) as sandbox:
        token = await fetch_token(http, sandbox)
        for used in ("1", "2"):
            status, _, headers = await post_send(http, sandbox, token, message())
            assert (status, headers["quota-used"]) == (200, used)

        status, body, headers = await post_send(http, sandbox, token, message())
        assert status == 429
        assert body["errorResponse"]["code"] == "429"
        assert "2 requests per 1 minute" in body["errorResponse"]["info"]
        assert headers["Retry-After"] == "30"
        assert headers["quota-limit"] == "2"
        assert headers["quota-used"] == "2"
        assert headers["quota-time-unit"] == "minute"
        assert headers["quota-reset-UTC"] == "2027-01-15T11:00:00Z"
        assert len(sandbox.messages()) == 2

        clock.advance(30)
        status, _, headers = await post_send(http, sandbox, token, message())
        assert status == 200
        assert headers["quota-used"] == "1"
        assert headers["quota-reset-UTC"] == "2027-01-15T11:01:00Z"
    assert len(sandbox.messages()) == 3


async def test_token_requests_do_not_use_the_quota(http: aiohttp.ClientSession) -> None:
    async with running_sandbox(quota="1/hour") as sandbox:
        for _ in range(3):
            token = await fetch_token(http, sandbox)
        status, _, _ = await post_send(http, sandbox, token, message())
    assert status == 200


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("100/hour", QuotaRule(100, 1, "hour")),
        ("5/minute", QuotaRule(5, 1, "minute")),
        ("1000/day", QuotaRule(1000, 1, "day")),
        ("50/2hours", QuotaRule(50, 2, "hour")),
        (" 7 / Minute ", QuotaRule(7, 1, "minute")),
    ],
)
def test_quota_rules_are_read_from_text(text: str, rule: QuotaRule) -> None:
    assert QuotaRule.parse(text) == rule


@pytest.mark.parametrize("text", ["100", "100/week", "0/hour", "ten/hour", "5/0minute", ""])
def test_unreadable_quota_says_how_to_write_it(text: str) -> None:
    with pytest.raises(ConfigurationError, match=r"e\.g\. 100/hour"):
        QuotaRule.parse(text)


def test_two_hour_window_is_aligned_and_shown_with_its_interval() -> None:
    rule = QuotaRule.parse("50/2hour")
    assert rule.window_seconds == 7200
    assert str(rule) == "50/2hour"
