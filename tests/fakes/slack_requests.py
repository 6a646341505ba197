"""Requests as Slack sends them to an app: bodies shaped like Slack's and signed like Slack's.

Slack signs `v0:{timestamp}:{raw body}` with HMAC-SHA256 and the app's signing secret, and
sends `X-Slack-Request-Timestamp` and `X-Slack-Signature: v0=<hex>`. `SlackSender` posts such
requests to a running app, so tests go through Bolt's real verification and dispatch.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import aiohttp

from tests.fakes.slack_api import TEAM_ID

SIGNING_SECRET = "fake-signing-secret-0123456789abcdef"

_ids = itertools.count(1)


def signature_headers(
    body: str, secret: str = SIGNING_SECRET, *, timestamp: int | None = None
) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    base = f"v0:{ts}:{body}".encode()
    digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


def is_sending_ack(body: str) -> bool:
    """The ack of `/sms <number> <text>`: smsbot's ephemeral "Sending to …" line."""
    try:
        answer = json.loads(body)
    except ValueError:
        return False
    return answer.get("response_type") == "ephemeral" and ":hourglass:" in json.dumps(answer)


def trigger_id() -> str:
    return f"{next(_ids)}.{int(time.time())}.fake{next(_ids):08x}"


def slash_command_form(
    text: str,
    *,
    user_id: str,
    channel_id: str,
    response_url: str,
    command: str = "/sms",
    user_name: str = "someone",
    channel_name: str = "general",
    trigger: str | None = None,
) -> dict[str, str]:
    """The form fields Slack posts for a slash command."""
    return {
        "token": "deprecated-verification-token",
        "team_id": TEAM_ID,
        "team_domain": "fake-workspace",
        "channel_id": channel_id,
        "channel_name": channel_name,
        "user_id": user_id,
        "user_name": user_name,
        "command": command,
        "text": text,
        "api_app_id": "AFAKE",
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger or trigger_id(),
    }


def _user(user_id: str) -> dict[str, str]:
    return {"id": user_id, "username": user_id.lower(), "name": user_id.lower(), "team_id": TEAM_ID}


def _interaction(kind: str, user_id: str, **fields: Any) -> dict[str, Any]:
    """An interactivity payload as Slack posts it: the envelope every kind shares, then its own
    fields."""
    return {
        "type": kind,
        "team": {"id": TEAM_ID, "domain": "fake-workspace"},
        "user": _user(user_id),
        "api_app_id": "AFAKE",
        "token": "deprecated-verification-token",
        **fields,
        "is_enterprise_install": False,
        "enterprise": None,
    }


def global_shortcut_payload(*, user_id: str, callback_id: str = "send_sms") -> dict[str, Any]:
    return {
        "type": "shortcut",
        "token": "deprecated-verification-token",
        "action_ts": f"{time.time():.6f}",
        "team": {"id": TEAM_ID, "domain": "fake-workspace"},
        "user": _user(user_id),
        "is_enterprise_install": False,
        "enterprise": None,
        "callback_id": callback_id,
        "trigger_id": trigger_id(),
    }


def message_shortcut_payload(
    *,
    user_id: str,
    channel_id: str,
    message_text: str,
    response_url: str,
    callback_id: str = "send_as_sms",
) -> dict[str, Any]:
    ts = f"{time.time():.6f}"
    return {
        "type": "message_action",
        "token": "deprecated-verification-token",
        "action_ts": ts,
        "team": {"id": TEAM_ID, "domain": "fake-workspace"},
        "user": _user(user_id),
        "channel": {"id": channel_id, "name": "general"},
        "is_enterprise_install": False,
        "enterprise": None,
        "callback_id": callback_id,
        "trigger_id": trigger_id(),
        "response_url": response_url,
        "message_ts": ts,
        "message": {"type": "message", "user": "UAUTHOR", "ts": ts, "text": message_text},
    }


def view_payload(view: dict[str, Any], values: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """A view as Slack sends it back: what the app opened plus the person's input in `state`."""
    return {**view, "state": {"values": values}}


def view_submission_payload(
    *, user_id: str, view: dict[str, Any], values: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    return _interaction(
        "view_submission",
        user_id,
        trigger_id=trigger_id(),
        view=view_payload(view, values),
        response_urls=[],
    )


def block_actions_payload(
    *,
    user_id: str,
    view: dict[str, Any],
    values: dict[str, dict[str, Any]],
    action: dict[str, Any],
) -> dict[str, Any]:
    return _interaction(
        "block_actions",
        user_id,
        container={"type": "view", "view_id": view["id"]},
        trigger_id=trigger_id(),
        view=view_payload(view, values),
        actions=[{**action, "action_ts": f"{time.time():.6f}"}],
    )


def message_button_payload(
    *,
    user_id: str,
    channel_id: str,
    message: dict[str, Any],
    action: dict[str, Any],
    response_url: str | None = None,
) -> dict[str, Any]:
    """A click on a button in a message the bot posted (`message` as `chat.postMessage` made it)."""
    return _interaction(
        "block_actions",
        user_id,
        container={
            "type": "message",
            "message_ts": message["ts"],
            "channel_id": channel_id,
            "is_ephemeral": False,
        },
        trigger_id=trigger_id(),
        channel={"id": channel_id, "name": "general"},
        message=message,
        response_url=response_url,
        actions=[{**action, "action_ts": f"{time.time():.6f}"}],
    )


def text_value(value: str | None) -> dict[str, Any]:
    """One plain_text_input's state as Slack reports it."""
    return {"type": "plain_text_input", "value": value}


def function_executed_event(
    inputs: dict[str, Any],
    *,
    token_for: Callable[[str], str],
    app_id: str = "AFAKE",
    extra_parameters: list[dict[str, Any]] | None = None,
    ran_at: float | None = None,
) -> dict[str, Any]:
    """`function_executed` as Slack sends it for the manifest's `send_sms` step (plus
    `extra_parameters`, as if the step declared more inputs). It names no user of its own.
    `token_for(execution_id)` hands out the step's token (`FakeSlackApi.function_token`);
    `ran_at` is when Slack ran the step (`event_ts`), now unless given."""
    execution_id = f"Fx{next(_ids):010d}"
    return {
        "type": "function_executed",
        "function": {
            "id": "Fn0SENDSMS",
            "callback_id": "send_sms",
            "title": "Send SMS",
            "description": "Send an SMS to a Dutch mobile number through KPN",
            "type": "app",
            "input_parameters": [
                {"type": "string", "name": "recipient", "is_required": False},
                {"type": "slack#/types/user_id", "name": "recipient_user", "is_required": False},
                {"type": "string", "name": "message", "is_required": True},
                {"type": "string", "name": "sender", "is_required": False},
                *(extra_parameters or []),
            ],
            "output_parameters": [
                {"type": "string", "name": "document_id", "is_required": True},
                {"type": "integer", "name": "parts", "is_required": False},
                {"type": "string", "name": "status", "is_required": False},
            ],
            "app_id": app_id,
            "date_created": 1714700000,
            "date_updated": 1714700000,
            "date_deleted": 0,
        },
        "inputs": inputs,
        "function_execution_id": execution_id,
        "workflow_execution_id": f"Wx{next(_ids):010d}",
        "event_ts": f"{time.time() if ran_at is None else ran_at:.6f}",
        "bot_access_token": token_for(execution_id),
    }


def event_callback(event: dict[str, Any], *, event_id: str | None = None) -> dict[str, Any]:
    """An Events API envelope, e.g. for `function_executed`."""
    return {
        "token": "deprecated-verification-token",
        "team_id": TEAM_ID,
        "api_app_id": "AFAKE",
        "event": event,
        "type": "event_callback",
        "event_id": event_id or f"Ev{next(_ids):08d}",
        "event_time": int(time.time()),
        "authorizations": [
            {"team_id": TEAM_ID, "user_id": "UBOT", "is_bot": True, "is_enterprise_install": False}
        ],
    }


class SlackSender:
    """Posts signed requests to a Bolt app's `/slack/events` URL, as Slack does."""

    def __init__(
        self, session: aiohttp.ClientSession, url: str, secret: str = SIGNING_SECRET
    ) -> None:
        self.session = session
        self.url = url
        self.secret = secret

    async def post_raw(
        self,
        body: str,
        content_type: str,
        *,
        headers: dict[str, str] | None = None,
        timestamp: int | None = None,
        secret: str | None = None,
    ) -> tuple[int, str]:
        all_headers = {
            "Content-Type": content_type,
            **signature_headers(body, secret or self.secret, timestamp=timestamp),
            **(headers or {}),
        }
        async with self.session.post(self.url, data=body.encode(), headers=all_headers) as resp:
            return resp.status, await resp.text()

    async def command(
        self, form: dict[str, str], *, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> tuple[int, str]:
        return await self.post_raw(
            urlencode(form), "application/x-www-form-urlencoded", headers=headers, **kwargs
        )

    async def interaction(self, payload: dict[str, Any], **kwargs: Any) -> tuple[int, str]:
        body = urlencode({"payload": json.dumps(payload)})
        return await self.post_raw(body, "application/x-www-form-urlencoded", **kwargs)

    async def event(
        self, envelope: dict[str, Any], *, retry_num: int | None = None, **kwargs: Any
    ) -> tuple[int, str]:
        headers = {}
        if retry_num is not None:
            headers = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": "http_timeout"}
        return await self.post_raw(
            json.dumps(envelope), "application/json", headers=headers, **kwargs
        )
