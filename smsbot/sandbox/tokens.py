"""Access tokens the sandbox has issued, each valid for `expires_in` seconds."""

from __future__ import annotations

import enum
import secrets
import string
from collections import OrderedDict
from collections.abc import Callable

# Apigee issues 28 alphanumeric characters; clients must not rely on more than "a string".
_TOKEN_ALPHABET = string.ascii_letters + string.digits
_TOKEN_LENGTH = 28
_REMEMBER_EXPIRED_SECONDS = 3600


class TokenState(enum.Enum):
    VALID = "valid"
    EXPIRED = "expired"
    UNKNOWN = "unknown"


class TokenStore:
    """Issued tokens with their expiry; bounded so a client minting one per send cannot grow it."""

    def __init__(self, clock: Callable[[], float], max_tokens: int = 50_000) -> None:
        self._clock = clock
        self._max_tokens = max_tokens
        self._expiry: OrderedDict[str, float] = OrderedDict()

    def issue(self, lifetime_seconds: int) -> str:
        self._forget_expired()
        token = "".join(secrets.choice(_TOKEN_ALPHABET) for _ in range(_TOKEN_LENGTH))
        self._expiry[token] = self._clock() + lifetime_seconds
        while len(self._expiry) > self._max_tokens:
            self._expiry.popitem(last=False)
        return token

    def check(self, token: str) -> TokenState:
        expiry = self._expiry.get(token)
        if expiry is None:
            return TokenState.UNKNOWN
        return TokenState.VALID if self._clock() < expiry else TokenState.EXPIRED

    def _forget_expired(self) -> None:
        # Tokens are issued in time order with one lifetime, so the expired ones come first.
        # They are remembered an hour past expiry so a late client is told "expired", which
        # says more than "unknown".
        horizon = self._clock() - _REMEMBER_EXPIRED_SECONDS
        while self._expiry:
            expiry = next(iter(self._expiry.values()))
            if expiry > horizon:
                break
            self._expiry.popitem(last=False)
