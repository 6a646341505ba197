"""One place that turns KPN's HTTP answer (status, headers, body) into a value or an error.

`check_response` is the only function that decides which `KpnError` an answer becomes, so the
client, its tests and anything else reading KPN answers agree. Transport failures (no answer at
all) are mapped in `smsbot.kpn.transport`.

Status  token endpoint             send endpoint
2xx     parsed JSON                parsed JSON (a missing `document_id` is KpnRejected)
2xx, not JSON: KpnUnavailable      KpnOutcomeUnknown (something accepted the request)
3xx     KpnUnavailable: the base URL names another server (redirects are not followed)
400     KpnAuthError               KpnRejected, KPN's `errorResponse.message` passed through
401     KpnAuthError               KpnAuthError (the client mints a new token once first)
403     KpnForbidden               KpnForbidden
404/405 KpnUnavailable: the base URL does not point at KPN's API
429     KpnQuotaExhausted with `retry_after` (Retry-After) and `reset_at` (quota-reset-UTC)
500     KpnUnavailable             KpnOutcomeUnknown: the SMS service failed somewhere, perhaps
                                   after accepting the message
504     KpnUnavailable             KpnOutcomeUnknown: the gateway gave up waiting for the SMS
                                   service, which may have accepted the message
other 5xx KpnUnavailable (502, 503: the gateway did not hand the request on; nothing was sent)
other   KpnRejected
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from typing import Any, Literal

from multidict import CIMultiDict
from pydantic import ValidationError

from smsbot.errors import (
    KpnAuthError,
    KpnError,
    KpnForbidden,
    KpnOutcomeUnknown,
    KpnQuotaExhausted,
    KpnRejected,
    KpnResponseInfo,
    KpnUnavailable,
)
from smsbot.kpn.models import ErrorBody, Quota, SendAnswer, TokenAnswer
from smsbot.sms.reasons import Reason

Endpoint = Literal["token", "send"]

_BODY_KEPT = 2000  # characters of a body kept on the error for logs and audit
_SHOWN = 200  # characters of a non-JSON body shown in a message


def check_response(
    status: int, headers: Mapping[str, str], body: bytes, *, endpoint: Endpoint
) -> Any:
    """The decoded JSON of a 2xx answer; for any other status, raise the matching `KpnError`."""
    if 200 <= status < 300:
        try:
            return json.loads(body)
        except ValueError:
            raise _unreadable_success(status, CIMultiDict(headers), body, endpoint) from None
    raise error_for(status, CIMultiDict(headers), body, endpoint=endpoint)


def read_token(status: int, headers: Mapping[str, str], body: bytes) -> TokenAnswer:
    payload = check_response(status, headers, body, endpoint="token")
    try:
        return TokenAnswer.model_validate(payload)
    except ValidationError as exc:
        # A 200 without a usable token is a broken token endpoint, not wrong credentials.
        raise KpnUnavailable.of(
            "kpn.token_unusable",
            {"status": status, "problem": _first_problem(exc)},
            response=_info(status, CIMultiDict(headers), body),
        ) from None


def read_send(status: int, headers: Mapping[str, str], body: bytes) -> SendAnswer:
    payload = check_response(status, headers, body, endpoint="send")
    try:
        return SendAnswer.model_validate(payload)
    except ValidationError:
        # KPN: "If document id is present in the response, then the request succeeded else
        # there was an issue." So a 2xx without one is a refusal, described by its status field.
        kpn_status = payload.get("status") if isinstance(payload, dict) else None
        info = _info(status, CIMultiDict(headers), body)
        if kpn_status:
            raise KpnRejected.of(
                "kpn.no_document_id", {"status": status, "kpn_status": kpn_status}, response=info
            ) from None
        raise KpnRejected.of(
            "kpn.no_document_id_no_status", {"status": status}, response=info
        ) from None


def error_for(
    status: int, headers: CIMultiDict[str], body: bytes, *, endpoint: Endpoint
) -> KpnError:
    """The `KpnError` for a non-2xx answer; its message always includes the HTTP status."""
    info = _info(status, headers, body)
    said = _what_kpn_said(info)
    if status in (400, 401) and endpoint == "token":
        return KpnAuthError.of("kpn.credentials_refused", {"said": said}, response=info)
    if status == 400:
        if info.message:  # KPN's own words, passed on as they are
            message = {"message": _sentence(info.message)}
            return KpnRejected.of("kpn.rejected_message", message, response=info)
        return KpnRejected.of("kpn.rejected", {"said": said}, response=info)
    if status == 401:
        return KpnAuthError.of("kpn.token_refused", {"said": said}, response=info)
    if status == 403:
        return KpnForbidden.of("kpn.forbidden", {"said": said}, response=info)
    if status == 429:
        quota = Quota.from_headers(headers)
        reset_at = quota.reset_at if quota else None
        retry_after = retry_after_seconds(headers)
        if reset_at is not None:
            code, params = "kpn.quota_resets", {"said": said, "reset": f"{reset_at:%Y-%m-%d %H:%M}"}
        else:
            code, params = "kpn.quota", {"said": said}
        return KpnQuotaExhausted.of(
            code, params, response=info, retry_after=retry_after, reset_at=reset_at
        )
    if 300 <= status < 400:
        # KPN does not redirect; a redirect means the base URL names another server (often
        # http:// where https:// is meant). The redirecting server did not process the request.
        location = headers.get("Location")
        if location:
            where = {"said": said, "location": location}
            return KpnUnavailable.of("kpn.redirect_to", where, response=info)
        return KpnUnavailable.of("kpn.redirect", {"said": said}, response=info)
    if status in (404, 405):
        return KpnUnavailable.of("kpn.not_found", {"said": said}, response=info)
    if status == 500 and endpoint == "send":
        return KpnOutcomeUnknown.of("kpn.service_failed", {"said": said}, response=info)
    if status == 504 and endpoint == "send":
        return KpnOutcomeUnknown.of("kpn.gateway_timeout", {"said": said}, response=info)
    if status >= 500:
        return KpnUnavailable.of("kpn.unavailable", {"said": said}, response=info)
    return KpnRejected.of("kpn.refused", {"said": said}, response=info)


def retry_after_seconds(headers: Mapping[str, str], *, now: datetime | None = None) -> float | None:
    """`Retry-After` in seconds (RFC 9110: delay-seconds or an HTTP date), or None."""
    value = (headers.get("Retry-After") or "").strip()
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - (now or datetime.now(UTC))).total_seconds(), 0.0)


def _info(status: int, headers: CIMultiDict[str], body: bytes) -> KpnResponseInfo:
    text = body.decode("utf-8", errors="replace")
    info = KpnResponseInfo(status=status, headers=dict(headers), body=text[:_BODY_KEPT])
    try:
        parsed = ErrorBody.model_validate(json.loads(body)) if body.strip() else None
    except (ValueError, ValidationError):
        parsed = None
    if parsed is None:
        return info
    if parsed.errorResponse is not None:
        info.code = parsed.errorResponse.code
        info.message = parsed.errorResponse.message
        info.info = parsed.errorResponse.info
    elif parsed.fault is not None:
        info.message = parsed.fault.faultstring
        info.code = parsed.fault.detail.errorcode if parsed.fault.detail else None
    elif parsed.ErrorCode or parsed.Error:
        info.code, info.message = parsed.ErrorCode, parsed.Error
    elif parsed.error or parsed.error_description:
        info.code, info.message = parsed.error, parsed.error_description
    else:
        info.message = parsed.message
    return info


def _what_kpn_said(info: KpnResponseInfo) -> str | Reason:
    """`HTTP 503 Service Unavailable: <what KPN said>`, whatever shape the body had (KPN's own
    words, passed on as they came); for an empty body, a reason saying so."""
    status = info.status or 0
    try:
        phrase = f"HTTP {status} {HTTPStatus(status).phrase}"
    except ValueError:
        phrase = f"HTTP {status}"
    if info.message or info.code:
        said = ": ".join(part for part in (info.code, info.message) if part)
        return f"{phrase}: {said}"
    text = _plain_text(info.body or "")
    return f"{phrase}: {text}" if text else Reason("kpn.said_empty", {"phrase": phrase})


def _sentence(text: str) -> str:
    return text if text.endswith((".", "!", "?")) else text + "."


def _plain_text(body: str) -> str:
    """A short readable excerpt of a non-JSON body; for HTML, its title or its visible text."""
    title = re.search(r"<title[^>]*>(.*?)</title>", body, re.IGNORECASE | re.DOTALL)
    text = title.group(1) if title else re.sub(r"<[^>]+>", " ", body)
    text = " ".join(text.split())
    return text if len(text) <= _SHOWN else text[: _SHOWN - 1] + "…"


def _unreadable_success(
    status: int, headers: CIMultiDict[str], body: bytes, endpoint: Endpoint
) -> KpnError:
    info = _info(status, headers, body)
    excerpt: str | Reason = _plain_text(info.body or "") or Reason("kpn.empty_body")
    params = {"status": status, "excerpt": excerpt}
    if endpoint == "send":
        # Something answered 2xx to the send: KPN may well have accepted the SMS.
        return KpnOutcomeUnknown.of("kpn.not_json", params, response=info)
    return KpnUnavailable.of("kpn.token_not_json", params, response=info)


def _first_problem(exc: ValidationError) -> str:
    err = exc.errors()[0]
    return f"{'.'.join(str(p) for p in err['loc']) or 'body'}: {err['msg']}"
