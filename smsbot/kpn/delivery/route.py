"""`POST /kpn/delivery/{sms id}?sig=...`: KPN's delivery reports for one SMS.

Answers are chosen for how KPN behaves: it retries a report that did not get a 2xx (4 times,
over about 7 minutes). So:

    200  the report is stored (or changed nothing: a duplicate, older news), or it is about an
         SMS no longer stored (purged): retrying cannot help
    400  the body has no delivery status smsbot can read; the answer, and the log line, name
         the keys it saw, never their values
    401  the signature is missing or wrong (compared in constant time); nothing is read or
         recorded
    413  the body is over MAX_REPORT_BYTES
    503  storing failed: KPN retries, and a report applied twice changes nothing
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Protocol

from aiohttp import web

from smsbot.kpn.delivery.report import (
    MAX_REPORT_BYTES,
    DeliveryReport,
    UnreadableReport,
    parse_reports,
)
from smsbot.kpn.delivery.signing import DELIVERY_ROUTE, SIGNATURE_PARAMETER, DeliveryUrls
from smsbot.settings import Settings

log = logging.getLogger(__name__)

READ_CHUNK = 16 * 1024
LOG_EVERY_SECONDS = 10.0


class DeliveryRecorder(Protocol):
    """Stores one report about one SMS; returns None when that SMS is not stored."""

    async def record(self, sms_id: str, report: DeliveryReport) -> object | None: ...


def delivery_routes(
    settings: Settings, recorder: DeliveryRecorder
) -> Callable[[web.Application], None]:
    """The registrar `smsbot serve` hands `create_app`: the route when `SMSBOT_PUBLIC_URL` is
    set (raising `ConfigurationError` at start when it cannot sign), else nothing."""
    urls = DeliveryUrls.from_settings(settings)

    def register(app: web.Application) -> None:
        if urls is not None:
            add_delivery_routes(app, urls, recorder)

    return register


def add_delivery_routes(
    app: web.Application, urls: DeliveryUrls, recorder: DeliveryRecorder
) -> None:
    app.router.add_post(DELIVERY_ROUTE, DeliveryEndpoint(urls, recorder).handle)


class DeliveryEndpoint:
    def __init__(
        self,
        urls: DeliveryUrls,
        recorder: DeliveryRecorder,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.urls = urls
        self.recorder = recorder
        self.refusals = SignatureRefusals(clock)

    async def handle(self, request: web.Request) -> web.Response:
        sms_id = request.match_info["sms_id"]
        if not self.urls.verify(sms_id, request.query.get(SIGNATURE_PARAMETER)):
            self.refusals.refused(request.remote)
            return _error(
                401,
                "wrong or missing signature: post reports only to the webhook_url smsbot gave "
                "with the SMS",
            )
        body = await read_body(request, MAX_REPORT_BYTES)
        if body is None:
            return _error(413, f"body is over {MAX_REPORT_BYTES} bytes; a report is far smaller")
        try:
            reports = parse_reports(body)
        except UnreadableReport as exc:
            # The message names keys only: a report may hold a number or text, never logged.
            log.warning("delivery report for SMS %s not readable: %s", sms_id, exc)
            return _error(400, f"no delivery report smsbot can read: {exc}")
        stored = 0
        for report in reports:
            try:
                applied = await self.recorder.record(sms_id, report)
            except Exception:
                log.exception("delivery report for SMS %s not stored", sms_id)
                return _error(
                    503, "could not store the report; retry it (applying it twice is safe)"
                )
            stored += applied is not None
        if not stored:
            log.info("delivery report for SMS %s, which is no longer stored, ignored", sms_id)
            return web.json_response({"status": "ignored", "reason": "no such SMS is stored"})
        return web.json_response({"status": "recorded", "reports": len(reports)})


class SignatureRefusals:
    """Logs refused signatures at WARNING, at most one line per LOG_EVERY_SECONDS: a rotated
    secret makes KPN retry every report in flight, and a forger may post thousands; the line
    says how many were refused since the last one."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self._last_logged: float | None = None
        self._unlogged = 0

    def refused(self, remote: str | None) -> None:
        now = self.clock()
        self._unlogged += 1
        if self._last_logged is not None and now - self._last_logged < LOG_EVERY_SECONDS:
            return
        log.warning(
            "delivery report from %s refused with 401: wrong or missing signature (%d refused "
            "since the last such line; a changed SMSBOT_KPN__DELIVERY_SECRET or client secret "
            "refuses the reports of SMS sent before it)",
            remote or "an unknown address",
            self._unlogged,
        )
        self._last_logged, self._unlogged = now, 0


async def read_body(request: web.Request, limit: int) -> bytes | None:
    """The body, or None as soon as it is known to be over `limit` bytes."""
    if request.content_length is not None and request.content_length > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_chunked(READ_CHUNK):
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)
