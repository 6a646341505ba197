"""Whether KPN answers, as this process last saw it: for `/metrics` and the alert rules on it.

Every request to KPN (token or send) reports here. Reachable means an answer came that was not
a 5xx; a failure is any request that got no answer, a 5xx, a 429 (quota used up) or a refusal of
the credentials (401/403 on the token endpoint). A refusal of one SMS's content (a 400) is that
SMS's problem, not KPN's, and counts as neither.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class KpnHealth:
    clock: Callable[[], datetime] = field(default=_now, repr=False)
    reachable: bool | None = None  # None: no request yet
    last_error_at: datetime | None = None

    def answered(self, status: int, *, token: bool = False) -> None:
        self.reachable = status < 500
        if status >= 500 or status == 429 or (token and status in (401, 403)):
            self.last_error_at = self.clock()

    def no_answer(self) -> None:
        self.reachable = False
        self.last_error_at = self.clock()
