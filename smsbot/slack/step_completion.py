"""Ends a "Send SMS" workflow step once its SMS has an outcome: the workflow surface's notifier.

The step's request is recorded with what completing it needs (`request.reply`):
`function_execution_id`, the step's own token (`bot_access_token` of `function_executed`) and
when that token expires. So whichever process learns the outcome, the one that got the event
or another one after a restart (the outbox sends what was queued; a send cut off by a crash
becomes `unknown`), can still call `functions.completeSuccess` / `completeError`, and no step
is left running until Slack gives up on it.

Slack's step token lasts 15 minutes, or until the step is completed. A step completed after
that (its SMS waited out KPN's quota, or the process was down) is completed with the bot token,
which Slack's reference lets call both methods; should Slack refuse that too, the log says
which step could not be ended and what became of its SMS, and the audit has the record.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from smsbot.sms.request import Outcome, SendRequest, SendResult

log = logging.getLogger(__name__)

TOKEN_SECONDS = 15 * 60  # Slack's lifetime of a step's token
# Slack's answers when the step has ended already (a redelivered event, a second replica).
ALREADY_ENDED = frozenset({"execution_not_in_running_state", "function_execution_not_found"})
# ... and when the token is no good any more.
TOKEN_REFUSED = frozenset({"invalid_auth", "token_expired", "token_revoked", "not_authed"})


def completion_reply(event: Mapping[str, Any], *, now: float) -> dict[str, Any]:
    """What the step's request stores so the step can be ended by any process later."""
    reply: dict[str, Any] = {
        "function_execution_id": event.get("function_execution_id") or "",
        "workflow_execution_id": event.get("workflow_execution_id"),
    }
    token = event.get("bot_access_token")
    if token:
        try:  # the token was issued when Slack ran the step, not when the event arrived
            issued = min(now, float(event.get("event_ts") or now))
        except (TypeError, ValueError):
            issued = now
        reply["function_token"] = token
        reply["function_token_expires"] = issued + TOKEN_SECONDS
    return reply


def step_error(result: SendResult) -> str:
    """What the workflow's builder reads when the step fails."""
    reason = result.reason or "the SMS was not sent"
    if result.outcome in (Outcome.INVALID, Outcome.REFUSED, Outcome.FAILED):
        return f"The SMS was not sent. {reason}"
    return reason  # unknown: it may have been sent, which the builder must know before a retry


class StepCompleter:
    """The notifier of `Surface.WORKFLOW`, handed to the service when it is built."""

    def __init__(self, client: AsyncWebClient, *, clock: Callable[[], float] = time.time) -> None:
        self.client = client  # the bot's client: base URL, session, retry handlers, bot token
        self._clock = clock

    async def notify(self, request: SendRequest, result: SendResult) -> None:
        if not result.outcome.is_final:
            return
        await self.end(request.reply, result)

    async def end(self, reply: Mapping[str, Any], result: SendResult) -> None:
        if result.outcome is Outcome.SENT:
            outputs = {
                "document_id": result.document_id or "",
                "parts": result.parts or 0,
                "status": str(result.outcome),
            }
            await self._call(reply, result, "functions.completeSuccess", {"outputs": outputs})
        else:
            error = {"error": step_error(result)}
            await self._call(reply, result, "functions.completeError", error)

    async def fail(self, reply: Mapping[str, Any], error: str) -> None:
        """Ends the step with `error` before anything was recorded (its inputs were wrong)."""
        await self._call(reply, None, "functions.completeError", {"error": error})

    async def _call(
        self,
        reply: Mapping[str, Any],
        result: SendResult | None,
        method: str,
        args: dict[str, Any],
    ) -> None:
        execution = reply.get("function_execution_id")
        if not execution:
            log.warning("a workflow step's request has no function_execution_id; cannot end it")
            return
        body = {"function_execution_id": execution, **args}
        token = reply.get("function_token")
        expires = reply.get("function_token_expires") or 0
        tokens = [token] if token and self._clock() < float(expires) else []
        tokens.append(None)  # the bot token: after the step's own has expired
        for step_token in tokens:
            try:
                await self._client(step_token).api_call(method, json=body)
                return
            except SlackApiError as exc:
                error = exc.response.get("error") if exc.response is not None else None
                if error in ALREADY_ENDED:
                    log.info("workflow step %s had ended already (%s)", execution, error)
                    return
                if error in TOKEN_REFUSED and step_token is not None:
                    continue  # try the bot token
                self._could_not_end(execution, result, error)
                return
            except Exception as exc:  # Slack unreachable: the log must still say it
                self._could_not_end(execution, result, type(exc).__name__)
                return

    def _client(self, token: str | None) -> AsyncWebClient:
        if token is None:
            return self.client
        return AsyncWebClient(
            token=token,
            base_url=self.client.base_url,
            session=self.client.session,
            retry_handlers=self.client.retry_handlers,
        )

    @staticmethod
    def _could_not_end(execution: str, result: SendResult | None, error: str | None) -> None:
        what = (
            f"its SMS is {result.outcome} (request {result.request_id})"
            if result is not None
            else "its inputs were refused before anything was recorded"
        )
        log.error(
            "workflow step %s could not be ended in Slack (%s): %s. The step's token lasts "
            "15 minutes; Slack shows the step as failed when it gives up on it.",
            execution,
            error,
            what,
        )
