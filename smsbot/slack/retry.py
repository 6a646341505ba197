"""Slack's rate limits: every Web API call and `response_url` post waits out a 429, within bounds.

Slack answers HTTP 429 with `Retry-After: <seconds>` when a method's tier is used up (a burst
of confirmations in one channel, a user group read by many sends at once). Without a retry
slack_sdk raises `SlackApiError` and the confirmation, the workflow step's completion or the
allowlist's lookup is lost. slack_sdk's own `AsyncRateLimitErrorRetryHandler` waits what
`Retry-After` says; `BoundedRateLimitRetry` is that handler with a bound: at most
`max_retries` retries, and never past `max_wait_seconds` of waiting for one call in all (a
`Retry-After` that would go past the bound raises at once instead), so nothing waits for
Slack for minutes. The sleep is injectable, for tests.

Every client the bot builds (`web_client`, and the notifier's webhook client) carries these
handlers, and Bolt copies them into the client each listener gets.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable

import aiohttp
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger(__name__)

MAX_RETRIES = 3
MAX_WAIT_SECONDS = 30.0
_WAITED = "smsbot_waited_seconds"


class BoundedRateLimitRetry(AsyncRateLimitErrorRetryHandler):
    def __init__(
        self,
        *,
        max_retries: int = MAX_RETRIES,
        max_wait_seconds: float = MAX_WAIT_SECONDS,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        super().__init__(max_retry_count=max_retries)
        self.max_wait_seconds = max_wait_seconds
        self._sleep = sleep

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if response is None or response.status_code != 429:
            return False
        waited = (state.custom_values or {}).get(_WAITED, 0.0)
        if waited + retry_after(response) > self.max_wait_seconds:
            log.warning(
                "Slack rate-limited %s for %ss, past the %ss smsbot waits",
                _method(request),
                retry_after(response),
                self.max_wait_seconds,
            )
            return False
        return True

    async def prepare_for_next_attempt_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        assert response is not None  # only a 429 gets here
        # A little jitter, as slack_sdk's own handler adds, so a burst does not retry at once.
        duration = retry_after(response) + random.random() * 0.25
        values = dict(state.custom_values or {})
        values[_WAITED] = values.get(_WAITED, 0.0) + duration
        state.custom_values = values
        log.info("Slack rate-limited %s; trying again in %.1f s", _method(request), duration)
        state.next_attempt_requested = True
        await self._sleep(duration)
        state.increment_current_attempt()


def retry_after(response: HttpResponse) -> float:
    """Slack's `Retry-After` in seconds (1 when missing or unreadable, as slack_sdk assumes)."""
    for name, values in response.headers.items():
        if name.lower() == "retry-after":
            value = values[0] if isinstance(values, list) else values
            try:
                return max(0.0, float(value))
            except (TypeError, ValueError):
                break
    return 1.0


def _method(request: HttpRequest) -> str:
    return request.url.rsplit("/", 1)[-1] if request.url else "a call"


def retry_handlers(
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    max_wait_seconds: float = MAX_WAIT_SECONDS,
) -> list[AsyncRetryHandler]:
    """slack_sdk's default (one retry of a dropped connection) plus bounded 429 retries."""
    return [
        AsyncConnectionErrorRetryHandler(),
        BoundedRateLimitRetry(sleep=sleep, max_wait_seconds=max_wait_seconds),
    ]


def web_client(
    token: str | None,
    api_url: str,
    *,
    session: aiohttp.ClientSession | None = None,
    handlers: list[AsyncRetryHandler] | None = None,
) -> AsyncWebClient:
    """A Web API client for `api_url` that waits out Slack's rate limits."""
    return AsyncWebClient(
        token=token,
        base_url=api_url if api_url.endswith("/") else api_url + "/",
        session=session,
        retry_handlers=retry_handlers() if handlers is None else handlers,
    )
