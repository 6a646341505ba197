"""The access token: cached until shortly before it expires, minted by one request at a time.

KPN issues no refresh tokens; a new one is minted with the client credentials. Fifty sends that
start together with no token must cause one token request, not fifty: the first caller starts
the mint and everyone else awaits that same task ("single flight"). A failed mint fails every
caller waiting on it, and the next caller starts a new one.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

# Stop using a token this long before KPN says it expires, so a send never starts with a token
# that runs out in flight. At most a minute; a tenth of short lifetimes (sandbox, tests).
MAX_MARGIN_SECONDS = 60.0
MARGIN_FRACTION = 0.1

Mint = Callable[[], Awaitable[tuple[str, float]]]  # -> (access token, lifetime in seconds)


@dataclass(frozen=True)
class AccessToken:
    value: str = field(repr=False)  # a credential: never in reprs or logs
    use_until: float  # on the monotonic clock

    def usable(self, now: float) -> bool:
        return now < self.use_until


def renewal_margin(lifetime: float) -> float:
    return min(MAX_MARGIN_SECONDS, lifetime * MARGIN_FRACTION)


class TokenCache:
    """Hands out a usable token, minting one through `mint` when there is none.

    Lifetimes are measured on the monotonic clock from the moment the mint started, so neither a
    wrong wall clock here nor KPN's `issued_at` can stretch a token past its life.
    """

    def __init__(self, mint: Mint, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._mint = mint
        self._clock = clock
        self._token: AccessToken | None = None
        self._inflight: asyncio.Task[str] | None = None
        self.minted = 0  # tokens obtained so far, for logs and tests

    async def get(self) -> str:
        token = self._token
        if token is not None and token.usable(self._clock()):
            return token.value
        if self._inflight is None:
            self._inflight = asyncio.ensure_future(self._mint_and_keep())
            # Retrieve the outcome even if every waiter was cancelled, so a failed mint is
            # not reported as "exception never retrieved".
            self._inflight.add_done_callback(_consume_outcome)
        # shield: a caller that is cancelled stops waiting, but the mint others await goes on.
        return await asyncio.shield(self._inflight)

    def invalidate(self, value: str) -> None:
        """Forget `value` after KPN refused it. Only that token is dropped: when many sends see
        the same 401 at once, the first forgets it and the rest find a new one minting."""
        if self._token is not None and self._token.value == value:
            self._token = None

    async def aclose(self) -> None:
        task, self._inflight = self._inflight, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def _mint_and_keep(self) -> str:
        started = self._clock()
        try:
            value, lifetime = await self._mint()
        finally:
            self._inflight = None
        self._token = AccessToken(value, started + lifetime - renewal_margin(lifetime))
        self.minted += 1
        return value


def _consume_outcome(task: asyncio.Task[str]) -> None:
    if not task.cancelled():
        task.exception()
