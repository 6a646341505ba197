"""Scripted faults: what the next token or send requests should suffer instead of a plain answer,
and what the delivery reports of the next SMS should say.

A fault with a `status` answers with that status and does not accept the SMS. A fault without
one lets the request be handled as usual (so a send IS accepted and recorded) and then spoils
the answer: `delay_ms` sends it late, `drop` closes the connection without any answer. That is
the situation a client must treat as "outcome unknown". A fault with `delivery` scripts the
reports of the next SMS that asks for them (`smsbot.sandbox.delivery`).
"""

from __future__ import annotations

from collections import deque
from dataclasses import asdict, dataclass
from typing import Any, Literal

from smsbot.sandbox.delivery import DELIVERY_TARGET, DeliveryScript, parse_delivery_script
from smsbot.sandbox.scripting import FaultSpecError, int_field

BodyKind = Literal["error", "fault", "html", "empty"]
Target = Literal["send", "token"]

BODY_KINDS: tuple[str, ...] = ("error", "fault", "html", "empty")
TARGETS: tuple[str, ...] = ("send", "token")
QUEUES: tuple[str, ...] = (*TARGETS, DELIVERY_TARGET)
MAX_DELAY_MS = 120_000
MAX_COUNT = 10_000
# Entries waiting at once (each with its count); a list body longer than this is refused unread.
MAX_PENDING_RUNS = 1000
_FIELDS = ("status", "count", "delay_ms", "drop", "retry_after", "body", "target")

__all__ = ["FaultSpecError"]


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


Scripted = Fault | DeliveryScript


def parse_fault(spec: Any) -> tuple[Scripted, int]:
    """Read one fault description from JSON; returns the fault and how many requests it hits."""
    if not isinstance(spec, dict):
        raise FaultSpecError('a fault is a JSON object, e.g. {"status": 503, "count": 2}')
    if "delivery" in spec:
        return parse_delivery_script(spec, max_count=MAX_COUNT, max_delay_ms=MAX_DELAY_MS)
    unknown = sorted(set(spec) - set(_FIELDS))
    if unknown:
        raise FaultSpecError(
            f"unknown fault field(s) {', '.join(unknown)}; use {', '.join(_FIELDS)} "
            "(or delivery, for delivery reports)"
        )
    status = int_field(spec, "status", 400, 599)
    count = int_field(spec, "count", 1, MAX_COUNT) or 1
    delay_ms = int_field(spec, "delay_ms", 0, MAX_DELAY_MS)
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
    """Faults waiting for the next requests, in the order they were scripted, per target.

    Kept as runs (a fault and how many more requests it hits), and at most `MAX_PENDING_RUNS`
    of them, so scripting costs memory by the entry, never by the count.
    """

    def __init__(self) -> None:
        self._queues: dict[str, deque[list[Any]]] = {target: deque() for target in QUEUES}

    def add_all(self, faults: list[tuple[Scripted, int]]) -> None:
        """Script every fault or, when they would not all fit, none (FaultSpecError)."""
        waiting = sum(len(queue) for queue in self._queues.values())
        if waiting + len(faults) > MAX_PENDING_RUNS:
            raise FaultSpecError(
                f"at most {MAX_PENDING_RUNS} faults can wait at once and {waiting} are waiting; "
                "give one fault a count instead of repeating it, or clear them with "
                "DELETE /sandbox/faults"
            )
        for fault, count in faults:
            self.add(fault, count)

    def add(self, fault: Scripted, count: int = 1) -> None:
        queue = self._queues[fault.target]
        if queue and queue[-1][0] == fault:
            queue[-1][1] += count
        else:
            queue.append([fault, count])

    def take(self, target: str) -> Any:
        """The fault for the next request of `target`, or None."""
        queue = self._queues[target]
        if not queue:
            return None
        run = queue[0]
        run[1] -= 1
        if run[1] == 0:
            queue.popleft()
        return run[0]

    def pending(self) -> list[dict[str, Any]]:
        """What is still scripted, each run as one entry with its count."""
        return [
            {**fault.to_json(), "count": count}
            for queue in self._queues.values()
            for fault, count in queue
        ]

    def clear(self) -> None:
        for queue in self._queues.values():
            queue.clear()
