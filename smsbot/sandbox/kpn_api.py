"""KPN's two endpoints as the sandbox serves them: the OAuth token and the SMS send."""

from __future__ import annotations

import asyncio
import logging
import math
import secrets
import uuid

from aiohttp import web

from smsbot.sandbox.bodies import BodyError, read_form, read_json
from smsbot.sandbox.delivery import (
    DELIVERY_TARGET,
    DeliveryScript,
    DeliveryTrack,
    plan_reports,
    send_reports,
)
from smsbot.sandbox.faults import Fault
from smsbot.sandbox.inbox import ReceivedMessage
from smsbot.sandbox.state import STATE, SandboxState
from smsbot.sandbox.times import iso_utc
from smsbot.sandbox.tokens import TokenState
from smsbot.sandbox.validation import SendRefused, validate_send
from smsbot.sandbox.wire import (
    empty_response,
    error_response,
    fault_response,
    html_response,
    reason,
    token_error,
)
from smsbot.sms.numbers import mask_number

TOKEN_PATH = "/oauth/client_credential/accesstoken"
SEND_PATH = "/communication/kpn/sms/send"

log = logging.getLogger(__name__)


async def token(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    state.token_requests += 1
    fault = state.faults.take("token")
    if fault is not None and fault.status is not None:
        return await _scripted_error(fault, fault.status)
    response = await _issue_token(request, state)
    return await _deliver(request, response, fault)


async def send(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    state.send_requests += 1
    fault = state.faults.take("send")
    if fault is not None and fault.status is not None:
        return await _scripted_error(fault, fault.status)
    response = await _accept_message(request, state)
    await state.answers.passed()
    return await _deliver(request, response, fault)


async def preflight(request: web.Request) -> web.Response:
    """CORS preflight; the CORS headers themselves are added to every answer of KPN's routes."""
    return web.Response(status=200)


async def _issue_token(request: web.Request, state: SandboxState) -> web.Response:
    config = state.config
    try:
        form = await read_form(request)
    except BodyError as exc:
        return token_error(400, "invalid_request", exc.message)
    grant_type = request.query.get("grant_type") or form.get("grant_type")
    # Apigee's own answers for the client credentials grant: 400 for the grant, 401 for the app.
    if not grant_type:
        return token_error(400, "invalid_request", "Required param : grant_type")
    if grant_type != "client_credentials":
        return token_error(400, "invalid_request", f"Unsupported grant type : {grant_type}")
    client_id, client_secret = form.get("client_id"), form.get("client_secret")
    if not isinstance(client_id, str) or not isinstance(client_secret, str):
        return token_error(401, "invalid_client", "ClientId is Invalid")
    id_ok = secrets.compare_digest(client_id.encode(), config.client_id.encode())
    secret_ok = secrets.compare_digest(
        client_secret.encode(), config.client_secret.get_secret_value().encode()
    )
    if not (id_ok and secret_ok):
        return token_error(401, "invalid_client", "ClientId is Invalid")

    issued_at_ms = int(config.clock() * 1000)
    access_token = state.tokens.issue(config.expires_in)
    # Every value a string, as KPN's Apigee answers.
    return web.json_response(
        {
            "refresh_token_expires_in": "0",
            "api_product_list": "[SMS-KPN]",
            "organization_name": "kpn",
            "developer.email": "developer@example.com",
            "token_type": "Bearer",
            "issued_at": str(issued_at_ms),
            "client_id": config.client_id,
            "access_token": access_token,
            "application_name": state.application_name,
            "scope": "",
            "expires_in": str(config.expires_in),
            "refresh_count": "0",
            "status": "approved",
        }
    )


def _bearer_problem(request: web.Request, state: SandboxState) -> str | None:
    """Why the request's bearer token is not accepted, or None when it is."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return (
            "Access token is missing: send 'Authorization: Bearer <access_token>' with a "
            f"token from POST {TOKEN_PATH}?grant_type=client_credentials"
        )
    verdict = state.tokens.check(value.strip())
    if verdict is TokenState.EXPIRED:
        return "Access token expired: fetch a new one from the token endpoint"
    if verdict is TokenState.UNKNOWN:
        return "Invalid access token"
    return None


async def _accept_message(request: web.Request, state: SandboxState) -> web.Response:
    problem = _bearer_problem(request, state)
    if problem is not None:
        return error_response(401, "Unauthorized", problem)
    if not state.quota.consume():
        wait = state.quota.seconds_until_reset()
        rule = state.quota.rule
        return error_response(
            429,
            "Too Many Requests",
            f"Quota of {rule.limit} requests per {rule.interval} {rule.time_unit} is used up; "
            f"it resets at {state.quota.reset_at:%Y-%m-%dT%H:%M:%SZ}",
            headers={"Retry-After": str(wait)},
        )
    try:
        body = await read_json(request)
    except BodyError as exc:
        return error_response(exc.status, exc.message, "body")
    try:
        valid = validate_send(body, max_characters=state.config.max_characters)
    except SendRefused as refused:
        return error_response(400, refused.message, refused.info)

    document_id = str(uuid.uuid4())
    # Reports exist only for a send that asked for them; a script waits for such a send.
    track = DeliveryTrack(valid.text.parts) if valid.webhook_url else None
    message = ReceivedMessage(
        document_id=document_id,
        sender=valid.sender,
        mobile_number=valid.mobile_number,
        content=valid.content,
        encoding=valid.text.encoding,
        segments=valid.text.parts,
        received_at=iso_utc(state.config.clock()),
        ucs2_characters=valid.text.ucs2_characters,
        webhook_url=valid.webhook_url,
        expirein=valid.expirein,
        delivery=track,
    )
    state.inbox.add(message)
    if track is not None and valid.webhook_url is not None:
        _start_reports(state, message, valid.webhook_url, track)
    log.debug("accepted %s for %s", document_id, mask_number(valid.mobile_number))
    return web.json_response({"document_id": document_id, "status": "OK"})


def _start_reports(
    state: SandboxState, message: ReceivedMessage, url: str, track: DeliveryTrack
) -> None:
    script = state.faults.take(DELIVERY_TARGET) or DeliveryScript()
    planned = plan_reports(script, track.parts, state.config.delivery_delay_ms)
    state.poster.spawn(
        send_reports(
            poster=state.poster,
            url=url,
            document_id=message.document_id,
            mobile_number=message.mobile_number,
            track=track,
            planned=planned,
            clock=state.config.clock,
        )
    )


async def _scripted_error(fault: Fault, status: int) -> web.Response:
    """Answer a request with the scripted status instead of handling it: nothing is accepted."""
    if fault.delay_ms:
        await asyncio.sleep(fault.delay_ms / 1000)
    headers = {"Retry-After": _seconds(fault.retry_after)} if fault.retry_after is not None else {}
    kind = fault.body_kind()
    if kind == "fault":
        return fault_response(status, headers=headers)
    if kind == "html":
        return html_response(status, headers=headers)
    if kind == "empty":
        return empty_response(status, headers=headers)
    return error_response(status, reason(status), headers=headers)


def _seconds(value: float) -> str:
    # Retry-After is delta-seconds, a whole number (RFC 9110); round up, never early.
    return str(math.ceil(value))


async def _deliver(
    request: web.Request, response: web.Response, fault: Fault | None
) -> web.StreamResponse:
    """Send the answer, late or not at all when a fault says so. The request was handled."""
    if fault is None:
        return response
    if fault.delay_ms:
        await asyncio.sleep(fault.delay_ms / 1000)
    if fault.drop and request.transport is not None:
        # Close the connection with no answer: the client cannot know whether it was accepted.
        request.transport.abort()
    return response
