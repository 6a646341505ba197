"""Ends a "Send SMS" workflow step once its SMS has an outcome: the workflow surface's notifier.

The step's request is recorded with what completing it needs (`request.reply`):
`function_execution_id`, the step's own token (`bot_access_token` of `function_executed`) and
when that token expires. So whichever process learns the outcome, the one that got the event
or another one after a restart (the outbox sends what was queued; a send cut off by a crash
becomes `unknown`), can still call `functions.completeSuccess` / `completeError`, and no step
is left running until Slack gives up on it.

Slack's step token lasts 15 minutes, or until the step is completed. A step completed after
that (its SMS waited out KPN's quota, or the process was down) is completed with the bot token.
Slack accepts a bot token for both methods: their method reference pages
(https://docs.slack.dev/reference/methods/functions.completeSuccess, .../functions.completeError)
list "Bot tokens: no scope required", and Bolt itself ends steps with the bot token when its
function-token middleware is off (`App(attaching_function_token_enabled=False)`: the middleware
in bolt-python's slack_bolt/middleware/attaching_function_token/ is what swaps the client's
token for `function_bot_access_token`; `complete()` and `fail()` call these methods with
whichever token the client holds). Should Slack refuse that too, the log says which step could
not be ended and what became of its SMS, and the audit has the record.

The error text goes to the person who ran the workflow (Slack passes it on to them): in their
Slack language when Slack named them (the step's interactivity input), else English.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from smsbot.slack.texts import ENGLISH, Texts
from smsbot.sms.request import Outcome, SendRequest, SendResult

log = logging.getLogger(__name__)

# The catalogue for a Slack user id (`SlackNotifier.texts_for`).
ReaderTexts = Callable[[str], Awaitable[Texts]]
_PERSON = re.compile(r"^[UW][A-Z0-9]{2,}$")

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


def step_error(result: SendResult, texts: Texts = ENGLISH) -> str:
    """What the person who ran the workflow reads when the step fails (Slack passes it on to
    them), in `texts`' language."""
    reason = texts.reason(result.reason_code, result.reason_params, result.reason or "")
    if result.outcome in (Outcome.INVALID, Outcome.REFUSED, Outcome.FAILED):
        return texts.step_not_sent.format(reason=reason) if reason else texts.step_not_sent_plain
    # Unknown: it may have been sent, which they must know before running it again.
    return reason or texts.step_outcome_unknown


def is_person(actor: str | None) -> bool:
    """Whether a step's actor is a person Slack named (a user id), not `workflow:<app id>`."""
    return bool(actor and _PERSON.match(actor))


class StepCompleter:
    """The notifier of `Surface.WORKFLOW`, handed to the service when it is built."""

    def __init__(
        self,
        client: AsyncWebClient,
        *,
        clock: Callable[[], float] = time.time,
        texts_for: ReaderTexts | None = None,
    ) -> None:
        self.client = client  # the bot's client: base URL, session, retry handlers, bot token
        self._clock = clock
        self._texts_for = texts_for  # a person's language, from Slack (users.info)

    async def texts_for(self, actor: str | None) -> Texts:
        """The catalogue of the one who ran the workflow, when Slack named them (the step's
        interactivity input); English when it names nobody, or cannot say the language."""
        if self._texts_for is None or not is_person(actor):
            return ENGLISH
        return await self._texts_for(actor)

    async def notify(self, request: SendRequest, result: SendResult) -> None:
        if not result.outcome.is_final:
            return
        await self.end(request.reply, result, await self.texts_for(request.actor))

    async def end(
        self, reply: Mapping[str, Any], result: SendResult, texts: Texts = ENGLISH
    ) -> None:
        if result.outcome is Outcome.SENT:
            outputs = {
                "document_id": result.document_id or "",
                "parts": result.parts or 0,
                "status": str(result.outcome),
            }
            await self._call(reply, result, "functions.completeSuccess", {"outputs": outputs})
        else:
            error = {"error": step_error(result, texts)}
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
        # The bot token: after the step's own has expired. Slack's reference lists bot tokens
        # for functions.completeSuccess / completeError (see the module docstring).
        tokens.append(None)
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
