"""The "Send SMS" workflow step: signed `function_executed` events to the running bot, the real
service on SQLite, the sandbox as KPN, and the fake Slack Web API recording
`functions.completeSuccess` / `functions.completeError`."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from smsbot.cli.serve_cmd import SERVING_OUTBOX
from smsbot.outbox import OutboxOptions
from smsbot.sandbox.testing import SandboxHandle
from smsbot.service import SmsService
from smsbot.settings import Settings
from smsbot.slack.step_permissions import sync_step_permissions
from smsbot.sms.request import Surface
from tests.fakes import slack_requests as sr
from tests.fakes.slack_api import APP_ID, FakeSlackApi, SlackCall
from tests.fixtures.answers import assert_one_record, record_answers
from tests.slack.conftest import ADMIN_CONTACT, bot_settings, serving_bot, set_up_workspace

ALLOWED_APP = APP_ID  # every run names smsbot's own app


def function_event(
    fake: FakeSlackApi,
    inputs: dict[str, Any],
    *,
    app_id: str = ALLOWED_APP,
    extra_parameters: list[dict[str, Any]] | None = None,
    ran_at: float | None = None,
) -> dict[str, Any]:
    """A `function_executed` event as Slack sends it for the manifest's `send_sms` step, with
    the step's own token from the fake (which Slack would hand out with it)."""
    return sr.function_executed_event(
        inputs,
        token_for=fake.function_token,
        app_id=app_id,
        extra_parameters=extra_parameters,
        ran_at=ran_at,
    )


# An input declared `slack#/types/interactivity`, and the value Slack fills in for it: who
# clicked, vouched for by Slack's secret. Only Slack's own functions can output such a value.
INTERACTIVITY_INPUT = [
    {"type": "slack#/types/interactivity", "name": "interactivity", "is_required": False}
]


def clicked_by(user: str) -> dict[str, Any]:
    return {
        "interactor": {"id": user, "secret": "c2xhY2stc2lnbmVkLXNlY3JldA"},
        "interactivity_pointer": "1234567890123.4567890123456.78a90bc12d3e4f567g89h0i1",
    }


def outputs_of(call: SlackCall) -> dict[str, Any]:
    """The step's outputs; slack_sdk posts a dict argument as a JSON string."""
    outputs = call.args["outputs"]
    return json.loads(outputs) if isinstance(outputs, str) else outputs


def endings(fake: FakeSlackApi, execution_id: str) -> list[SlackCall]:
    return [
        call
        for call in fake.calls
        if call.method in ("functions.completeSuccess", "functions.completeError")
        and call.args.get("function_execution_id") == execution_id
    ]


async def ending_of(fake: FakeSlackApi, execution_id: str) -> SlackCall:
    """The step's first complete/fail call, once it is made."""
    await fake.wait_for(lambda: endings(fake, execution_id), within=10)
    return endings(fake, execution_id)[0]


@dataclass
class StepBot:
    service: SmsService
    fake: FakeSlackApi
    sandbox: SandboxHandle
    slack: sr.SlackSender

    async def run_step(self, inputs: dict[str, Any], **kwargs: Any) -> SlackCall:
        """Post the event, wait for the step to end, return its complete/fail call."""
        event = function_event(self.fake, inputs, **kwargs)
        status, _ = await self.slack.event(sr.event_callback(event))
        assert status == 200  # acknowledged at once, before any sending
        return await self.ending_of(event["function_execution_id"])

    async def ending_of(self, execution_id: str) -> SlackCall:
        return await ending_of(self.fake, execution_id)


@contextlib.asynccontextmanager
async def running_step_bot(
    sandbox: SandboxHandle,
    tmp_path: Path,
    *,
    max_attempts: int | None = None,
    outbox: OutboxOptions = SERVING_OUTBOX,
) -> AsyncIterator[StepBot]:
    """The bot of `step_bot`; `max_attempts` (KPN tries per send) and `outbox` as serve's
    unless given."""
    async with FakeSlackApi() as fake:
        settings = step_settings(fake, sandbox, tmp_path)
        if max_attempts is not None:
            settings.kpn.max_attempts = max_attempts
        async with serving_bot(settings, outbox=outbox) as (service, _metrics, sender):
            # As `smsbot serve` does at start-up: who may add the step, set from the allowlist.
            assert await sync_step_permissions(service)
            yield StepBot(service, fake, sandbox, sender)


@pytest.fixture
async def step_bot(sandbox: SandboxHandle, tmp_path: Path) -> AsyncIterator[StepBot]:
    async with running_step_bot(sandbox, tmp_path) as bot:
        yield bot


def step_settings(fake: FakeSlackApi, sandbox: SandboxHandle, tmp_path: Path) -> Settings:
    set_up_workspace(fake)
    return bot_settings(fake, sandbox, tmp_path)


async def test_allowed_workflow_sends_and_the_step_completes_with_outputs(step_bot):
    ending = await step_bot.run_step(
        {"recipient": "06 1234 5678", "message": "Server room door is open"}
    )
    assert ending.method == "functions.completeSuccess"
    assert ending.token == step_bot.fake.executions[ending.args["function_execution_id"]].token
    assert step_bot.fake.executions[ending.args["function_execution_id"]].state == "completed"
    (sms,) = step_bot.sandbox.messages()
    assert (sms["mobile_number"], sms["content"]) == ("+31612345678", "Server room door is open")
    assert outputs_of(ending) == {
        "document_id": sms["document_id"],
        "parts": 1,
        "status": "sent",
    }
    (record,) = await step_bot.service.recent()
    assert (record.actor, record.surface) == (f"workflow:{ALLOWED_APP}", Surface.WORKFLOW)


async def test_a_typed_sent_by_input_is_not_trusted_as_who_asks(step_bot):
    # Whoever edits a workflow could type an allowlisted person's id into such an input.
    await step_bot.run_step({"recipient": "0612345678", "message": "x", "sent_by": "U0DAVE"})
    (record,) = await step_bot.service.recent()
    assert record.actor == f"workflow:{APP_ID}"


async def test_the_person_slack_names_as_interactor_is_who_asks(step_bot):
    ending = await step_bot.run_step(
        {"recipient": "0612345678", "message": "x", "interactivity": clicked_by("U0ALICE")},
        extra_parameters=INTERACTIVITY_INPUT,
    )
    assert ending.method == "functions.completeSuccess"
    (record,) = await step_bot.service.recent()
    assert record.actor == "U0ALICE"


async def test_an_interactor_in_an_input_not_declared_as_interactivity_is_ignored(step_bot):
    # dave is not on the allowlist, but only a declared interactivity input names a person.
    await step_bot.run_step(
        {"recipient": "0612345678", "message": "x", "interactivity": clicked_by("U0DAVE")},
    )
    (record,) = await step_bot.service.recent()
    assert record.actor == f"workflow:{APP_ID}"


async def test_person_as_recipient_uses_their_profile_phone(step_bot):
    ending = await step_bot.run_step(
        {"recipient_user": "U0BOB", "message": "You are on call", "sender": "NOC"},
        app_id=ALLOWED_APP,
    )
    assert ending.method == "functions.completeSuccess"
    (sms,) = step_bot.sandbox.messages()
    assert (sms["mobile_number"], sms["sender"]) == ("+31633334444", "NOC")


async def test_a_mention_in_the_number_field_is_a_person(step_bot):
    ending = await step_bot.run_step({"recipient": "<@U0CAROL>", "message": "hi"})
    assert ending.method == "functions.completeSuccess"
    assert step_bot.sandbox.messages()[0]["mobile_number"] == "+31655556666"


async def test_a_person_variable_in_the_message_reads_as_their_name(step_bot):
    ending = await step_bot.run_step(
        {"recipient": "0612345678", "message": "Please call <@U0BOB> about the outage"}
    )
    assert ending.method == "functions.completeSuccess"
    assert step_bot.sandbox.messages()[0]["content"] == "Please call @bob about the outage"


async def test_the_step_may_be_added_to_workflows_by_the_allowlisted_people_only(step_bot):
    # Set at start-up: alice by user id, bob as a member of the user group S0ONCALL. carol
    # may send only from #ops, which Slack's permissions cannot express.
    assert step_bot.fake.distributions["send_sms"] == {
        "permission_type": "named_entities",
        "user_ids": ["U0ALICE", "U0BOB"],
    }


async def test_runs_naming_no_person_send_only_while_the_step_is_limited_to_the_allowlist(
    step_bot,
):
    allowed = await step_bot.run_step({"recipient": "0612345678", "message": "x"})
    assert allowed.method == "functions.completeSuccess"
    # Say Slack refused the permissions at start-up: anyone might have built this workflow.
    step_bot.service.allowed_workflows.in_sync = False
    refused = await step_bot.run_step({"recipient": "0612345678", "message": "x"})
    assert refused.method == "functions.completeError"
    assert f"Workflow {APP_ID} may not send SMS" in refused.args["error"]
    assert "SMSBOT_SLACK__STEP_PERMISSIONS" in refused.args["error"]
    assert len(step_bot.sandbox.messages()) == 1


async def test_person_not_on_the_allowlist_is_refused_with_who_to_ask(step_bot):
    ending = await step_bot.run_step(
        {"recipient": "0612345678", "message": "x", "interactivity": clicked_by("U0DAVE")},
        extra_parameters=INTERACTIVITY_INPUT,
    )
    assert ending.method == "functions.completeError"
    assert ending.args["error"].startswith("The SMS was not sent.")
    assert ADMIN_CONTACT in ending.args["error"]
    assert step_bot.sandbox.messages() == []


@pytest.mark.parametrize(
    ("inputs", "says"),
    [
        ({"recipient": "0601234567", "message": "x"}, "060 numbers cannot receive SMS"),
        ({"recipient": "0612345678", "message": ""}, "The SMS was not sent."),
        ({"recipient": "0612345678", "message": "door\x00open"}, "U+0000 (NUL)"),
        ({"recipient": "0612345678", "message": "x", "sender": "WayTooLongSender"}, "11"),
        ({"message": "x"}, "fill in a mobile number"),
        ({"recipient": "0612345678", "recipient_user": "U0BOB", "message": "x"}, "only one"),
        ({"recipient_user": "U0DAVE", "message": "x"}, "dave has no phone number"),
    ],
)
async def test_bad_inputs_fail_the_step_saying_what_to_fix(step_bot, inputs, says):
    ending = await step_bot.run_step(inputs)
    assert ending.method == "functions.completeError"
    assert says in ending.args["error"]
    assert step_bot.sandbox.messages() == []


async def test_a_short_kpn_outage_is_waited_out_by_the_outbox(sandbox, tmp_path):
    # Two tries per send and the outbox's waits in test time (serve's first is 5 s, and it
    # looks for due rows each second): the outage outlasts two sends' own retries.
    fast_outbox = OutboxOptions(poll_seconds=0.02, retry_delays=(0.05, 0.2))
    async with running_step_bot(sandbox, tmp_path, max_attempts=2, outbox=fast_outbox) as bot:
        bot.sandbox.add_fault(status=503, count=5)  # more than one send's own retries
        ending = await bot.run_step({"recipient": "0612345678", "message": "x"})
        assert ending.method == "functions.completeSuccess"
        assert len(bot.sandbox.messages()) == 1
        assert bot.sandbox.send_requests == 6  # five refused, then the one KPN took


async def test_kpn_failure_fails_the_step(sandbox, tmp_path):
    # Two tries (one retry after a random wait of up to 0.5 s; serve's four wait up to 3.5 s).
    async with running_step_bot(sandbox, tmp_path, max_attempts=2) as step_bot:
        step_bot.service.settings.kpn.outbox_retry_seconds = 0  # no waiting in the outbox
        step_bot.sandbox.add_fault(status=503, count=5)
        ending = await step_bot.run_step({"recipient": "0612345678", "message": "x"})
        assert ending.method == "functions.completeError"
        assert ending.args["error"].startswith("The SMS was not sent.")
        assert step_bot.sandbox.messages() == []
        assert step_bot.sandbox.send_requests == 2  # tried again, then given up


async def test_kpn_500_fails_the_step_saying_it_may_have_been_sent(step_bot):
    step_bot.sandbox.add_fault(status=500)
    ending = await step_bot.run_step({"recipient": "0612345678", "message": "x"})
    assert ending.method == "functions.completeError"
    assert "may or may not have been sent" in ending.args["error"]
    assert "not sent." not in ending.args["error"]
    assert step_bot.sandbox.send_requests == 1


async def test_redelivered_event_sends_once(step_bot, monkeypatch):
    # What the service answered each delivery of the event: the positive signal that both
    # were handled.
    answers = record_answers(monkeypatch, step_bot.service)
    event = function_event(step_bot.fake, {"recipient": "0612345678", "message": "once"})
    envelope = sr.event_callback(event)
    first, retry = await asyncio.gather(
        step_bot.slack.event(envelope), step_bot.slack.event(envelope, retry_num=1)
    )
    assert first[0] == retry[0] == 200
    await step_bot.ending_of(event["function_execution_id"])
    await step_bot.fake.wait_for(lambda: len(answers) == 2, within=10)
    assert_one_record(answers)
    assert len(step_bot.sandbox.messages()) == 1
    successes = step_bot.fake.calls_to("functions.completeSuccess")
    assert {outputs_of(c)["document_id"] for c in successes} == {
        step_bot.sandbox.messages()[0]["document_id"]
    }


async def test_a_foreign_profile_phone_fails_the_step_without_showing_the_number(step_bot):
    # erin's profile says +44 7700 900123: not a Dutch mobile number.
    ending = await step_bot.run_step({"recipient_user": "U0ERIN", "message": "x"})
    assert ending.method == "functions.completeError"
    error = ending.args["error"]
    assert "@erin" in error and "not a Dutch mobile number" in error
    assert "fill in a mobile number in the step" in error
    digits = "".join(ch for ch in error if ch.isdigit())
    assert "7700900123" not in digits and "900123" not in error
    assert step_bot.sandbox.messages() == []
    for record in await step_bot.service.recent():
        assert "900123" not in f"{record.recipient} {record.error}"


async def test_a_profile_slack_will_not_give_fails_the_step_instead_of_hanging(step_bot):
    step_bot.fake.script("users.info", {"ok": False, "error": "internal_error"}, times=2)
    ending = await step_bot.run_step({"recipient_user": "U0BOB", "message": "x"})
    assert ending.method == "functions.completeError"
    assert "Could not read @U0BOB's Slack profile (internal_error)" in ending.args["error"]
    assert "fill in a mobile number in the step" in ending.args["error"]
    assert step_bot.sandbox.messages() == []
