"""Scripted faults: what the next token or send requests should suffer instead of a plain answer.

A fault with a `status` answers with that status and does not accept the SMS. A fault without
one lets the request be handled as usual (so a send IS accepted and recorded) and then spoils
the answer: `delay_ms` sends it late, `drop` closes the connection without any answer. That is
the situation a client must treat as "outcome unknown".
"""

from __future__ import annotations

from collections import deque
from dataclasses import asdict, dataclass
from itertools import groupby
from typing import Any, Literal

BodyKind = Literal["error", "fault", "html", "empty"]
Target = Literal["send", "token"]

BODY_KINDS: tuple[str, ...] = ("error", "fault", "html", "empty")
TARGETS: tuple[str, ...] = ("send", "token")
MAX_DELAY_MS = 120_000
_FIELDS = ("status", "count", "delay_ms", "drop", "retry_after", "body", "target")


class FaultSpecError(ValueError):
    """A fault description that cannot be scripted; the message says what to change."""


@dataclass(frozen=True)
class Fault:
    status: int | None = None
    delay_ms: int | None = None
    drop: bool = False
    retry_after: float | None = None
    body: BodyKind | None = None  # None: the kind KPN would send for that status
    target: Target = "send"

    def body_kind(self) -> BodyKind:
        if self.body is not None:
            return self.body
        # Apigee itself answers gateway failures; KPN's backend answers the rest.
        return "fault" if self.status in (502, 503, 504) else "error"

    def to_json(self) -> dict[str, Any]:
        return {key: value for key, value in asdict(self).items() if value not in (None, False)}


def _int_field(spec: dict[str, Any], name: str, low: int, high: int) -> int | None:
    value = spec.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise FaultSpecError(f"{name} must be a whole number from {low} to {high}, not {value!r}")
    return value


def parse_fault(spec: Any) -> tuple[Fault, int]:
    """Read one fault description from JSON; returns the fault and how many requests it hits."""
    if not isinstance(spec, dict):
        raise FaultSpecError('a fault is a JSON object, e.g. {"status": 503, "count": 2}')
    unknown = sorted(set(spec) - set(_FIELDS))
    if unknown:
        raise FaultSpecError(
            f"unknown fault field(s) {', '.join(unknown)}; use {', '.join(_FIELDS)}"
        )
    status = _int_field(spec, "status", 400, 599)
    count = _int_field(spec, "count", 1, 10_000) or 1
    delay_ms = _int_field(spec, "delay_ms", 0, MAX_DELAY_MS)
    drop = spec.get("drop", False)
    if not isinstance(drop, bool):
        raise FaultSpecError(f"drop must be true or false, not {drop!r}")
    retry_after = spec.get("retry_after")
    if retry_after is not None and (
        isinstance(retry_after, bool) or not isinstance(retry_after, int | float) or retry_after < 0
    ):
        raise FaultSpecError(f"retry_after must be a number of seconds >= 0, not {retry_after!r}")
    body = spec.get("body")
    if body is not None and body not in BODY_KINDS:
        raise FaultSpecError(f"body must be one of {', '.join(BODY_KINDS)}, not {body!r}")
    target = spec.get("target", "send")
    if target not in TARGETS:
        raise FaultSpecError(f"target must be one of {', '.join(TARGETS)}, not {target!r}")
    if status is None and delay_ms is None and not drop:
        raise FaultSpecError(
            'a fault needs a status, a delay_ms or drop, e.g. {"status": 503}, '
            '{"delay_ms": 2000} or {"drop": true}'
        )
    if drop and status is not None:
        raise FaultSpecError(
            "drop closes the connection without an answer, so it cannot have a status; "
            "script them as two faults"
        )
    if status is None and (body is not None or retry_after is not None):
        raise FaultSpecError("body and retry_after describe an error answer: add a status")
    fault = Fault(status, delay_ms, drop, retry_after, body, target)  # type: ignore[arg-type]
    return fault, count


class FaultPlan:
    """Faults waiting for the next requests, in the order they were scripted, per target."""

    def __init__(self) -> None:
        self._queues: dict[str, deque[Fault]] = {target: deque() for target in TARGETS}

    def add(self, fault: Fault, count: int = 1) -> None:
        self._queues[fault.target].extend([fault] * count)

    def take(self, target: Target) -> Fault | None:
        queue = self._queues[target]
        return queue.popleft() if queue else None

    def pending(self) -> list[dict[str, Any]]:
        """What is still scripted, runs of the same fault folded into one entry with a count."""
        return [
            {**fault.to_json(), "count": len(list(run))}
            for queue in self._queues.values()
            for fault, run in groupby(queue)
        ]

    def clear(self) -> None:
        for queue in self._queues.values():
            queue.clear()
