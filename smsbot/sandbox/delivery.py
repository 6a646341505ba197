"""Delivery reports: what the sandbox, as KPN, tells a send's `webhook_url` about that SMS.

Unless a script says otherwise, each part of an SMS is reported `accepted` at once and
`delivered` after `SandboxConfig.delivery_delay_ms`. `POST /sandbox/faults` with a `delivery`
field scripts the reports of the next SMS that carries a `webhook_url`:

    delivered     the usual story (with `delay_ms`: delivered that much later)
    failed        accepted, then failed with `error_code` (default 001)
    expired       accepted, then expired (default 024, validity expired)
    rejected      rejected at once, with `error_code` (default 001); no accepted
    none          no report at all
    duplicate     the usual story, each report posted twice (the same report_id)
    out_of_order  delivered at once, accepted only after the delay

The bodies themselves are built in `smsbot.sandbox.webhook_bodies`.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from smsbot.sandbox.posting import Poster, PostTrack
from smsbot.sandbox.scripting import FaultSpecError, int_field
from smsbot.sandbox.times import iso_utc
from smsbot.sandbox.webhook_bodies import (
    FINAL_STATUSES,
    STATUS_CODES,
    delivery_report,
    error_meaning,
    new_report_id,
)

DELIVERY_TARGET = "delivery"
KINDS = ("delivered", "failed", "expired", "rejected", "none", "duplicate", "out_of_order")
_FIELDS = ("delivery", "error_code", "delay_ms", "count")
_DEFAULT_ERROR = {"failed": "001", "rejected": "001", "expired": "024"}
_ERROR_CODE = re.compile(r"^[0-9]{3}$")


@dataclass(frozen=True)
class DeliveryScript:
    delivery: str = "delivered"
    error_code: str | None = None
    delay_ms: int | None = None
    target: ClassVar[str] = DELIVERY_TARGET

    @property
    def final_status(self) -> str:
        return self.delivery if self.delivery in _DEFAULT_ERROR else "delivered"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"delivery": self.delivery}
        if self.error_code is not None:
            out["error_code"] = self.error_code
        if self.delay_ms is not None:
            out["delay_ms"] = self.delay_ms
        return out


def parse_delivery_script(
    spec: dict[str, Any], *, max_count: int, max_delay_ms: int
) -> tuple[DeliveryScript, int]:
    unknown = sorted(set(spec) - set(_FIELDS))
    if unknown:
        raise FaultSpecError(
            f"unknown field(s) {', '.join(unknown)} in a delivery script; use "
            f"{', '.join(_FIELDS)}. HTTP faults (status, drop...) are scripted separately."
        )
    kind = spec["delivery"]
    if kind not in KINDS:
        raise FaultSpecError(f"delivery must be one of {', '.join(KINDS)}, not {kind!r}")
    error_code = spec.get("error_code")
    if error_code is not None:
        if kind not in _DEFAULT_ERROR:
            raise FaultSpecError(
                f"error_code goes with delivery failed, expired or rejected, not {kind}"
            )
        if not isinstance(error_code, str) or not _ERROR_CODE.match(error_code):
            raise FaultSpecError(
                f'error_code is a three-digit failure code written as a text, e.g. "007", '
                f"not {error_code!r}"
            )
    delay_ms = int_field(spec, "delay_ms", 0, max_delay_ms)
    if delay_ms is not None and kind in ("rejected", "none"):
        raise FaultSpecError(f"delivery {kind} has no later report for delay_ms to delay")
    count = int_field(spec, "count", 1, max_count) or 1
    return DeliveryScript(kind, error_code or _DEFAULT_ERROR.get(kind), delay_ms), count


@dataclass(frozen=True)
class PlannedReport:
    part: int
    status: str
    error_code: str | None
    due_ms: int  # after the send was accepted
    report_id: str = field(default_factory=new_report_id)


def plan_reports(script: DeliveryScript, parts: int, delay_ms: int) -> list[PlannedReport]:
    """Every report the script calls for, in the order they are posted."""
    if script.delivery == "none":
        return []
    final = script.final_status
    error = script.error_code if final != "delivered" else None
    if final == "rejected":
        return [PlannedReport(part, final, error, 0) for part in range(1, parts + 1)]
    later = script.delay_ms if script.delay_ms is not None else delay_ms
    accepted = [PlannedReport(part, "accepted", None, 0) for part in range(1, parts + 1)]
    finals = [PlannedReport(part, final, error, later) for part in range(1, parts + 1)]
    if script.delivery == "out_of_order":
        # The final word first, then the first one, late: a receiver must not step back.
        finals = [PlannedReport(r.part, r.status, r.error_code, 0) for r in reversed(finals)]
        accepted = [PlannedReport(r.part, r.status, None, later) for r in reversed(accepted)]
        return finals + accepted
    planned = accepted + finals
    if script.delivery == "duplicate":
        return [report for report in planned for _ in range(2)]
    return planned


# Status ranks for reading one part's reports as facts: a later, lower report (a late
# `accepted` after `delivered`) changes nothing.
_RANK = {"queued": 1, "accepted": 2, "delivered": 3, "failed": 3, "rejected": 3, "expired": 3}


@dataclass
class IssuedReport:
    planned: PlannedReport
    issued_at: str
    post: PostTrack = field(default_factory=PostTrack)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "report_id": self.planned.report_id,
            "part": self.planned.part,
            "status": self.planned.status,
            "status_code": STATUS_CODES[self.planned.status],
            "issued_at": self.issued_at,
            "webhook": self.post.to_json(),
        }
        if self.planned.error_code is not None:
            out["error_code"] = self.planned.error_code
        return out


@dataclass
class DeliveryTrack:
    """The reports issued for one SMS so far, and what they say together."""

    parts: int
    reports: list[IssuedReport] = field(default_factory=list)
    _part_status: dict[int, IssuedReport] = field(default_factory=dict, init=False, repr=False)

    def record(self, report: IssuedReport) -> None:
        self.reports.append(report)
        current = self._part_status.get(report.planned.part)
        if current is None or _RANK[report.planned.status] > _RANK[current.planned.status]:
            self._part_status[report.planned.part] = report

    @property
    def state(self) -> str | None:
        """Delivered when every part is, failed (rejected, expired) when any part is."""
        latest = list(self._part_status.values())
        for report in latest:
            if report.planned.status in ("failed", "rejected", "expired"):
                return report.planned.status
        if len(latest) == self.parts and all(r.planned.status == "delivered" for r in latest):
            return "delivered"
        if not latest:
            return None
        # Some parts delivered, others not yet: the message as a whole is still on its way.
        return max(
            (r.planned.status for r in latest if r.planned.status not in FINAL_STATUSES),
            key=_RANK.__getitem__,
            default="accepted",
        )

    def to_json(self) -> dict[str, Any]:
        state = self.state
        decisive = [r for r in self._part_status.values() if r.planned.status == state]
        last = max((r.issued_at for r in decisive), default=None)
        error = next((r.planned.error_code for r in decisive if r.planned.error_code), None)
        return {
            "delivery": state,
            "delivered_at": last if state == "delivered" else None,
            "delivery_error": (
                {"code": error, "meaning": error_meaning(error)} if error is not None else None
            ),
            "reports": [report.to_json() for report in self.reports],
        }


async def send_reports(
    *,
    poster: Poster,
    url: str,
    document_id: str,
    mobile_number: str,
    track: DeliveryTrack,
    planned: list[PlannedReport],
    clock: Callable[[], float],
) -> None:
    """Post the planned reports in order, each when it is due (and after the one before)."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    bodies: dict[str, dict[str, Any]] = {}  # a duplicate is the same report, byte for byte
    for report in planned:
        wait = started + report.due_ms / 1000 - loop.time()
        if wait > 0:
            await asyncio.sleep(wait)
        now = clock()
        issued = IssuedReport(report, iso_utc(now))
        track.record(issued)
        body = bodies.setdefault(
            report.report_id,
            delivery_report(
                document_id=document_id,
                report_id=report.report_id,
                mobile_number=mobile_number,
                status=report.status,
                error_code=report.error_code,
                part=report.part,
                parts=track.parts,
                at_ms=int(now * 1000),
            ),
        )
        await poster.post(url, body, issued.post)
