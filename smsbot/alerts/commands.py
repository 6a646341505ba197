"""Alert reply commands by SMS: the reply handler in front of the thread replies.

An inbound SMS from a phone with open alert groups that reads as a command (`1a`, `1s 30m`,
`1u`, `a`; see `smsbot.alerts.replies`) is taken here: the group it names (by the code its SMS
showed; without a code, the group the phone was paged for last) is acknowledged, silenced or
unsilenced through `AlertGroups`, and the phone gets one short answer. Only the phones that got
a group's SMS can name it: codes are looked up among the sender's own groups.

What is not taken: a phone with no open alert group, and a text that is no command at all
(that is a reply to read, and goes on to the thread-reply handler). A command that goes wrong
(`1x`, `1s 5y`, a code no group of the phone has, Alertmanager unreachable) is answered with
one short error or help SMS, at most one per phone per `ERROR_ANSWER_SECONDS`, so an
auto-responder answering our answer meets silence. Answers never invite a reply.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

from smsbot.alerts.groups import Actor, AlertGroups, Done
from smsbot.alerts.replies import Action, Reply, help_text, parse_reply, target
from smsbot.alerts.routing import Route
from smsbot.sms.numbers import mask_number
from smsbot.sms.request import SendRequest, SendResult, Surface
from smsbot.store.alert_groups import AlertGroupRecord

log = logging.getLogger(__name__)

ERROR_ANSWER_SECONDS = 5 * 60
HANDLER_NAME = "alert_command"
_HELP_WORDS = frozenset({"help", "?", "h", "info"})


class InboundText(Protocol):
    """What this handler reads of an inbound SMS (`smsbot.inbound.handlers.InboundMessage`)."""

    @property
    def request_id(self) -> str: ...

    @property
    def sender(self) -> str: ...

    @property
    def text(self) -> str: ...


class Answers(Protocol):
    """What the handler needs of `SmsService` to answer."""

    async def enqueue(
        self, request: SendRequest, *, claim: tuple[str, float] | None = None
    ) -> SendResult | None: ...


@dataclass(frozen=True)
class Handled:
    """What the handler did, for tests and the audit: the action, its group and answer."""

    action: Action
    group_id: str | None
    answer: str | None


class AlertCommandHandler:
    """A reply handler (`smsbot.inbound.handlers.ReplyHandler`)."""

    name = HANDLER_NAME

    def __init__(self, groups: AlertGroups, answers: Answers) -> None:
        self.groups = groups
        self.answers = answers
        self.last: Handled | None = None

    async def handle(self, message: InboundText) -> bool:
        phone = message.sender
        if not phone.startswith("+"):
            return False
        open_groups = await self.groups.open_groups_of(phone)
        if not open_groups:
            return False
        settings = self.groups.settings.replies
        asks_help = " ".join(message.text.lower().split()).strip(".!") in _HELP_WORDS
        reply = parse_reply(
            message.text,
            default_silence=settings.default_silence,
            max_silence=settings.max_silence,
        )
        if reply.action is Action.HELP and reply.problem == "not a command" and not asks_help:
            return False  # words, not a command: a reply for the thread
        chosen = target(reply.code, open_groups)
        newest = open_groups[-1][1]
        route = self.groups.routes.get((chosen or newest).route)
        name = await self.groups.name_of_phone(phone)
        actor = Actor(name=name or mask_number(phone), via="sms", audit=mask_number(phone))
        if reply.action is Action.HELP:
            await self._answer_error(message, chosen or newest, self._help(reply, route))
            self.last = Handled(Action.HELP, None, None)
            return True
        if chosen is None:
            codes = ", ".join(str(code) for code, _ in open_groups)
            text = (
                f"No open alert of yours has code {reply.code}; yours: {codes}. Reply 1a, 1s, 1u."
            )
            await self._answer_error(message, newest, text)
            self.last = Handled(Action.HELP, None, None)
            return True
        if route is not None:  # the group's route sets the silences' default and maximum
            reply = parse_reply(
                message.text,
                default_silence=self.groups.default_silence(route),
                max_silence=self.groups.max_silence(route),
            )
        done = await self._act(reply, chosen, actor)
        log.info(
            "alert reply %s from %s: %s on group %s (%s)",
            message.request_id,
            actor.audit,
            reply.action,
            chosen.id,
            "done" if done.ok else "not done",
        )
        if done.ok:
            await self._answer(message, chosen, done.message)
        else:
            await self._answer_error(message, chosen, done.message)
        self.last = Handled(reply.action, chosen.id, done.message)
        return True

    async def _act(self, reply: Reply, group: AlertGroupRecord, actor: Actor) -> Done:
        if reply.action is Action.ACK:
            return await self.groups.acknowledge(group.id, actor)
        if reply.action is Action.UNSILENCE:
            return await self.groups.unsilence(group.id, actor)
        assert reply.duration is not None  # parse_reply gives every silence one
        return await self.groups.silence(group.id, actor, reply.duration)

    def _help(self, reply: Reply, route: Route | None) -> str:
        silence = (
            self.groups.default_silence(route)
            if route
            else self.groups.settings.replies.default_silence
        )
        problem = None if reply.problem == "not a command" else reply.problem
        return help_text(problem, silence)

    async def _answer(self, message: InboundText, group: AlertGroupRecord, text: str) -> None:
        await self.answers.enqueue(self._request(message, group, text))

    async def _answer_error(self, message: InboundText, group: AlertGroupRecord, text: str) -> None:
        claim = (f"alert-error-answer:{message.sender}", float(ERROR_ANSWER_SECONDS))
        sent = await self.answers.enqueue(self._request(message, group, text), claim=claim)
        if sent is None:
            log.info(
                "alert reply %s: an error answer went to this phone less than %d s ago; "
                "no answer this time",
                message.request_id,
                ERROR_ANSWER_SECONDS,
            )

    @staticmethod
    def _request(message: InboundText, group: AlertGroupRecord, text: str) -> SendRequest:
        # One answer per inbound SMS, whatever retries: its key is the inbound SMS's.
        return SendRequest(
            actor=f"alert-reply:{group.route}",
            surface=Surface(group.source),
            to=message.sender,
            text=text,
            idempotency_key=f"alert-answer:{message.request_id}",
            reply={"route": group.route, "alert_group": group.id, "answer": True},
        )
