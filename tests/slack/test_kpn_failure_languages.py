"""Why KPN did not take an SMS, in the reader's language: the sandbox fails in each way KPN can
(unavailable, refused credentials, a refusal, no access, no answer in time, quota used up), and
a person whose Slack locale is Dutch (the fake's `users.info`) reads the reason in Dutch, in the
/sms answer, after the modal and in the workflow step's error; an English reader reads English.
The audit keeps the English of the same reason."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from smsbot.sandbox.testing import SandboxHandle
from smsbot.slack.step_permissions import sync_step_permissions
from smsbot.sms.request import SendRequest, Surface
from tests.fakes import slack_requests as sr
from tests.fakes.block_kit import block_problems
from tests.fakes.slack_api import FakeSlackApi
from tests.slack.conftest import SlackBot, bot_settings, serving_bot, set_up_workspace
from tests.slack.test_modal import submit
from tests.slack.test_workflow_step import (
    INTERACTIVITY_INPUT,
    clicked_by,
    ending_of,
    function_event,
)

READ_TIMEOUT = 0.3  # seconds; the sandbox holds its answer past it


@dataclass(frozen=True)
class Failure:
    """A way KPN fails, scripted on the sandbox, and what each reader reads of it."""

    name: str
    script: Callable[[SandboxHandle], None]
    dutch: tuple[str, ...]
    english: tuple[str, ...]
    audit: str  # the English the audit keeps
    unknown: bool = False  # KPN may have taken it: "may not have arrived", not "was not sent"


FAILURES = [
    Failure(
        "unavailable",
        lambda box: box.add_fault(status=503),
        ("KPN is niet beschikbaar (HTTP 503 Service Unavailable", "Er is niets verstuurd."),
        ("KPN is unavailable (HTTP 503 Service Unavailable", "Nothing was sent."),
        "KPN is unavailable (HTTP 503",
    ),
    Failure(
        "unavailable with an empty body",
        lambda box: box.add_fault(status=502, body="empty"),
        ("KPN is niet beschikbaar (HTTP 502 Bad Gateway, met een leeg antwoord).",),
        ("KPN is unavailable (HTTP 502 Bad Gateway, with an empty body).",),
        "with an empty body",
    ),
    Failure(
        "credentials refused",
        lambda box: box.add_fault(target="token", status=401),
        ("KPN heeft de inloggegevens geweigerd (HTTP 401", "Controleer SMSBOT_KPN__CLIENT_ID"),
        ("KPN refused the client credentials (HTTP 401", "Check SMSBOT_KPN__CLIENT_ID"),
        "KPN refused the client credentials",
    ),
    Failure(
        "refused",
        lambda box: box.add_fault(status=400),
        ("KPN heeft de sms geweigerd (HTTP 400): ",),
        ("KPN rejected the SMS (HTTP 400): ",),
        "KPN rejected the SMS (HTTP 400)",
    ),
    Failure(
        "forbidden",
        lambda box: box.add_fault(status=403),
        ("KPN heeft de toegang geweigerd (HTTP 403 Forbidden", "abonnement in de KPN API Store"),
        ("KPN refused access (HTTP 403 Forbidden", "subscription in the KPN API Store"),
        "KPN refused access (HTTP 403",
    ),
    Failure(
        "no answer in time",
        lambda box: box.hold_answers(),  # until the test ends: past any read timeout
        ("KPN gaf geen antwoord, dus de sms is misschien wel, misschien niet verstuurd.",),
        ("KPN did not answer, so the SMS may or may not have been sent.",),
        "KPN did not answer",
        unknown=True,
    ),
]


@pytest.fixture
async def failing_bot(
    fake_slack: FakeSlackApi, sandbox: SandboxHandle, tmp_path: Path
) -> AsyncIterator[SlackBot]:
    """The bot with KPN's failures final at once: one attempt per send, no waiting in the
    outbox, and a short wait for KPN's answer."""
    set_up_workspace(fake_slack)
    fake_slack.users["U0BOB"].locale = "nl-NL"  # bob reads Dutch, alice English
    settings = bot_settings(fake_slack, sandbox, tmp_path)
    settings.kpn.max_attempts = 1
    settings.kpn.outbox_retry_seconds = 0
    settings.kpn.read_timeout = READ_TIMEOUT
    async with serving_bot(settings) as (service, metrics, sender):
        yield SlackBot(settings, service, metrics, fake_slack, sandbox, sender)
        # A held answer goes now: the in-process sandbox's request would hold up the bot's stop.
        sandbox.release_answers()


async def answer_to(bot: SlackBot, response_id: str) -> dict[str, Any]:
    await bot.wait_for(lambda: bot.fake.answers(response_id), within=10)
    [answer] = bot.fake.answers(response_id)
    assert block_problems(answer["blocks"]) == []
    return answer


def assert_reads(text: str, failure: Failure, *, dutch: bool) -> None:
    for fragment in failure.dutch if dutch else failure.english:
        assert fragment in text, (fragment, text)
    other = failure.english if dutch else failure.dutch
    assert not any(fragment in text for fragment in other), text


async def assert_audit_keeps_english(bot: SlackBot, failure: Failure) -> None:
    [record] = await bot.service.recent()
    assert record.outcome == ("unknown" if failure.unknown else "failed")
    assert failure.audit in (record.error or "")


@pytest.mark.parametrize("failure", FAILURES, ids=[f.name for f in FAILURES])
@pytest.mark.parametrize(("user", "dutch"), [("U0BOB", True), ("U0ALICE", False)])
async def test_a_slash_commands_kpn_failure_in_the_senders_language(
    failing_bot: SlackBot, failure: Failure, user: str, dutch: bool
) -> None:
    await failing_bot.command("history", user=user)  # Slack says the language once
    failure.script(failing_bot.sandbox)
    _, _, response_id = await failing_bot.command("0612345678 deur open", user=user)
    text = (await answer_to(failing_bot, response_id))["text"]
    assert_reads(text, failure, dutch=dutch)
    if failure.unknown:
        opening = (
            "Je sms naar +31 6 ****5678 is misschien niet aangekomen: "
            if dutch
            else ("Your SMS to +31 6 ****5678 may not have arrived: ")
        )
    else:
        opening = (
            "Je sms naar +31 6 ****5678 is niet verstuurd: "
            if dutch
            else ("Your SMS to +31 6 ****5678 was not sent: ")
        )
    assert text.startswith(opening)
    # Late is not never: the sandbox took the SMS it answered too late.
    assert len(failing_bot.sandbox.messages()) == (1 if failure.unknown else 0)
    await assert_audit_keeps_english(failing_bot, failure)


@pytest.mark.parametrize("failure", FAILURES[:1] + FAILURES[-1:], ids=["unavailable", "no answer"])
async def test_the_modals_kpn_failure_in_dutch(failing_bot: SlackBot, failure: Failure) -> None:
    await failing_bot.command("history", user="U0BOB")
    form, response_id = failing_bot.command_form("", user="U0BOB", channel="C0OPS")
    assert await failing_bot.slack.command(form) == (200, "")
    await failing_bot.wait_for(lambda: failing_bot.fake.calls_to("views.open"))
    [opened] = failing_bot.fake.calls_to("views.open")
    view = failing_bot.fake.views[next(iter(failing_bot.fake.views))]
    view = view | {"trigger_id": opened.args["trigger_id"]}
    assert view["title"]["text"] == "Sms versturen"  # the language was known: drawn in it
    failure.script(failing_bot.sandbox)
    status, _ = await submit(failing_bot, view, user="U0BOB", number="0612345678", text="hoi")
    assert status == 200
    assert_reads((await answer_to(failing_bot, response_id))["text"], failure, dutch=True)
    await assert_audit_keeps_english(failing_bot, failure)


async def test_quota_used_up_in_dutch(failing_bot: SlackBot) -> None:
    """In Slack an SMS waits in the outbox while the quota is used up (see the next test); a
    request sent at once through the pipeline (`submit`) fails, and its reader is told when
    the quota is back."""
    await failing_bot.command("history", user="U0BOB")
    failing_bot.sandbox.add_fault(status=429, retry_after=600)
    response_id, url = failing_bot.new_response_url()
    request = SendRequest(
        actor="U0BOB",
        surface=Surface.SLACK_COMMAND,
        to="0612345678",
        text="deur open",
        channel="C0GENERAL",
        reply={"user": "U0BOB", "channel": "C0GENERAL", "response_url": url},
    )
    result = await failing_bot.service.submit(request)
    assert (result.outcome, result.rule) == ("failed", "kpn_quota")
    text = (await answer_to(failing_bot, response_id))["text"]
    assert text.startswith("Je sms naar +31 6 ****5678 is niet verstuurd: Het KPN-sms-tegoed")
    assert "is op tot " in text and "er is niets verstuurd" in text
    assert (result.reason or "").startswith("smsbot's KPN SMS quota is used up until ")


async def test_a_slash_command_waits_out_the_quota_and_confirms_in_dutch(
    failing_bot: SlackBot,
) -> None:
    await failing_bot.command("history", user="U0BOB")
    failing_bot.sandbox.add_fault(status=429, retry_after=1)
    await failing_bot.command("0612345678 deur open", user="U0BOB", channel="C0OPS")
    await failing_bot.wait_for(lambda: failing_bot.fake.messages, within=10)
    [confirmation] = failing_bot.fake.messages
    assert confirmation["text"].startswith("Sms verstuurd naar +31 6 ****5678")
    assert len(failing_bot.sandbox.messages()) == 1


@pytest.mark.parametrize("failure", FAILURES, ids=[f.name for f in FAILURES])
async def test_the_workflow_steps_kpn_failure_in_the_runners_language(
    failing_bot: SlackBot, failure: Failure
) -> None:
    assert await sync_step_permissions(failing_bot.service)
    failure.script(failing_bot.sandbox)
    # bob ran it, and Slack names him (the step's interactivity input): Dutch.
    event = function_event(
        failing_bot.fake,
        {"recipient": "0612345678", "message": "x", "interactivity": clicked_by("U0BOB")},
        extra_parameters=INTERACTIVITY_INPUT,
    )
    await failing_bot.slack.event(sr.event_callback(event))
    ending = await ending_of(failing_bot.fake, event["function_execution_id"])
    assert ending.method == "functions.completeError"
    error = ending.args["error"]
    assert_reads(error, failure, dutch=True)
    if not failure.unknown:
        assert error.startswith("De sms is niet verstuurd. ")
    await assert_audit_keeps_english(failing_bot, failure)


async def test_a_workflow_run_slack_names_nobody_for_gets_english(failing_bot: SlackBot) -> None:
    assert await sync_step_permissions(failing_bot.service)
    failure = FAILURES[0]
    failure.script(failing_bot.sandbox)
    event = function_event(failing_bot.fake, {"recipient": "0612345678", "message": "x"})
    await failing_bot.slack.event(sr.event_callback(event))
    ending = await ending_of(failing_bot.fake, event["function_execution_id"])
    assert ending.args["error"].startswith("The SMS was not sent. KPN is unavailable (HTTP 503")
    assert_reads(ending.args["error"], failure, dutch=False)


async def test_a_dutch_runners_bad_input_is_told_in_dutch(failing_bot: SlackBot) -> None:
    assert await sync_step_permissions(failing_bot.service)
    event = function_event(
        failing_bot.fake,
        {"message": "x", "interactivity": clicked_by("U0BOB")},
        extra_parameters=INTERACTIVITY_INPUT,
    )
    await failing_bot.slack.event(sr.event_callback(event))
    ending = await ending_of(failing_bot.fake, event["function_execution_id"])
    assert ending.args["error"].startswith("De stap Sms versturen heeft geen ontvanger")
