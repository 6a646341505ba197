"""The Workflow Builder "Send SMS" custom step (`send_sms` in manifest.yml).

Slack runs the step by sending a `function_executed` event; Bolt acknowledges it at once and
calls the listener, which records the request (`service.enqueue`) with what ending the step
needs. The outbox sends it, and the workflow surface's notifier (`StepCompleter`) ends the step
with `functions.completeSuccess` (outputs `document_id`, `parts`, `status`) or
`functions.completeError` with a sentence the person who ran it can act on (in their Slack
language when Slack names them); also when the outcome is only known after a restart. Inputs
that cannot be sent as given end the step at once.

Inputs: `recipient` (a number, or a Slack user id / mention), `recipient_user` (a person; their
profile phone is used), `message` and optional `sender`. Who is asking, for the allowlist, is
only ever what Slack itself vouches for (see `actor_of`), never a value a workflow builder types.

The message is decoded as the slash command's text is (`<@U123>` -> `@name`, `&amp;` -> `&`).
The idempotency key is Slack's `function_execution_id`: a redelivered event sends nothing new.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncApp

from smsbot.errors import InputError
from smsbot.slack.escaping import decode, mentioned_ids
from smsbot.slack.sending import profile_phone
from smsbot.slack.step_completion import StepCompleter, completion_reply
from smsbot.slack.texts import ENGLISH, Texts
from smsbot.sms.request import SendRequest, Surface

if TYPE_CHECKING:
    from smsbot.service import SmsService
    from smsbot.slack.context import SlackDeps
    from smsbot.slack.directory import SlackDirectory

log = logging.getLogger(__name__)

CALLBACK_ID = "send_sms"
_USER_ID = re.compile(r"^<?@?([UW][A-Z0-9]{2,})(?:\|[^>]*)?>?$")


class StepProblem(InputError):
    """The step's inputs cannot be sent as given; `str()` is what the workflow builder sees."""


def _text(inputs: Mapping[str, Any], name: str) -> str:
    value = inputs.get(name)
    return value.strip() if isinstance(value, str) else ""


def _user_id(value: str) -> str | None:
    found = _USER_ID.match(value)
    return found.group(1) if found else None


INTERACTIVITY_TYPE = "slack#/types/interactivity"


def actor_of(body: Mapping[str, Any], event: Mapping[str, Any]) -> str:
    """Who runs the step, for the allowlist: only what Slack itself vouches for.

    A `function_executed` event names no user. The one person Slack does name is the
    `interactor` of an input declared as `slack#/types/interactivity`: only Slack's own
    functions can produce that value (with a `secret`), so a workflow builder cannot forge it.
    A plain string or user-id input (a "sent by" field) could be set to anyone by whoever edits
    the workflow, so none is ever trusted as the actor.

    When Slack names nobody the actor is `workflow:<app id>`: the event carries no workflow id,
    so listing the app id in `SMSBOT_ALLOW__WORKFLOWS` lets every workflow in the workspace that
    uses this app's Send SMS step send, whoever built or runs it.
    """
    function = event.get("function") or {}
    declared = {
        param.get("name"): param.get("type")
        for param in function.get("input_parameters") or []
        if isinstance(param, Mapping)
    }
    for name, value in (event.get("inputs") or {}).items():
        if declared.get(name) != INTERACTIVITY_TYPE or not isinstance(value, Mapping):
            continue
        interactor = value.get("interactor")
        user = interactor.get("id") if isinstance(interactor, Mapping) else None
        if isinstance(user, str) and _user_id(user):
            return user
    app = function.get("app_id") or body.get("api_app_id")
    return f"workflow:{app or 'unknown'}"


class WorkflowStep:
    def __init__(
        self,
        service: SmsService,
        directory: SlackDirectory | None = None,
        *,
        mask_numbers: bool = True,
    ) -> None:
        self.service = service
        self.directory = directory
        self.mask_numbers = mask_numbers

    async def recipient(self, inputs: Mapping[str, Any], texts: Texts = ENGLISH) -> str:
        """The number to send to, from the number input or the chosen person's profile.

        A profile's number is checked and normalised here, as the slash command does, so no
        message or audit record repeats a colleague's number in full; a profile that cannot be
        read or holds no Dutch mobile number raises an `InputError` saying what to do, in
        `texts`' language."""
        typed = _text(inputs, "recipient")
        person = _text(inputs, "recipient_user")
        if typed and person:
            raise StepProblem(texts.step_two_recipients)
        if typed and not _user_id(typed):
            return typed  # the service validates it and explains what is wrong
        user = _user_id(typed or person) if (typed or person) else None
        if user is None:
            raise StepProblem(texts.step_no_recipient)
        if self.directory is None:
            raise StepProblem(texts.step_no_directory)
        return await profile_phone(
            self.directory,
            user,
            await self._name(user),
            mask_numbers=self.mask_numbers,
            instead=texts.step_fill_in_number,
            texts=texts,
        )

    async def message(self, inputs: Mapping[str, Any]) -> str:
        """The SMS text as people read it in Slack: a variable such as "Person who used this
        workflow" arrives as `<@U123>` and becomes `@name`, as the slash command does."""
        raw = inputs.get("message")
        if not isinstance(raw, str):
            return ""
        names = {}
        if self.directory is not None:
            for user in mentioned_ids(raw):
                names[user] = await self._name(user)
        return decode(raw, names)

    async def _name(self, user: str) -> str:
        if self.directory is None:
            return user
        try:
            return await self.directory.name_of(user)
        except Exception:
            return user

    async def run(
        self,
        body: Mapping[str, Any],
        event: Mapping[str, Any],
        completer: StepCompleter,
    ) -> None:
        inputs = event.get("inputs") or {}
        reply = completion_reply(event, now=time.time())
        execution = reply["function_execution_id"]
        actor = actor_of(body, event)
        # Errors go to the person who ran the workflow: in their language when Slack names them.
        texts = await completer.texts_for(actor)
        try:
            to = await self.recipient(inputs, texts)
        except InputError as problem:
            await completer.fail(reply, str(problem))
            return
        request = SendRequest(
            actor=actor,
            surface=Surface.WORKFLOW,
            to=to,
            text=await self.message(inputs),
            sender=_text(inputs, "sender") or None,
            idempotency_key=f"workflow:{execution}",
            reply=reply,
        )
        try:
            # Recorded and queued: the outbox sends it and the completer ends the step.
            result = await self.service.enqueue(request)
        except Exception:
            log.exception("workflow step %s: the SMS could not be recorded", execution)
            await completer.fail(reply, texts.step_not_recorded)
            return
        if result.duplicate and result.outcome.is_final:
            # Slack sent the event again after the step had its outcome: end it (again; Slack
            # says so if it has ended already), in case the first ending never reached Slack.
            await completer.end(reply, result, texts)


def register(app: AsyncApp, deps: SlackDeps) -> None:
    """Add the step to `app`, as one of `smsbot.slack.app.LISTENERS`; `deps.completer` (the
    workflow surface's notifier, which the service was built with) ends the steps."""
    step = WorkflowStep(deps.service, deps.directory, mask_numbers=deps.settings.audit.mask_numbers)
    completer = deps.completer

    async def send_sms(body: dict[str, Any], event: dict[str, Any]) -> None:
        await step.run(body, event, completer)

    app.function(CALLBACK_ID)(send_sms)
