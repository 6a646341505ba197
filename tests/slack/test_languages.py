"""Dutch for people whose Slack language is Dutch (`users.info`'s locale), English otherwise:
the modal, the counter, help, history, refusals and confirmations, all from one catalogue."""

from __future__ import annotations

import json
import string
from dataclasses import fields

from smsbot.kpn.delivery import FAILURE_CODES
from smsbot.slack import blocks, texts
from smsbot.sms import reasons
from smsbot.sms.text import analyze
from tests.fakes.block_kit import block_problems, view_problems
from tests.slack.conftest import SlackBot
from tests.slack.test_modal import open_from_command, submit


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


def test_every_text_is_in_both_languages_with_the_same_placeholders() -> None:
    for field in fields(texts.Texts):
        if field.name in ("reasons", "delivery", "failure_meanings"):
            continue
        english, dutch = getattr(texts.ENGLISH, field.name), getattr(texts.DUTCH, field.name)
        assert isinstance(english, str) and english and dutch, field.name
        assert placeholders(english) == placeholders(dutch), field.name


def test_every_delivery_word_and_kpn_failure_code_has_dutch_with_the_same_placeholders() -> None:
    assert set(texts.ENGLISH.failure_meanings) == set(FAILURE_CODES)
    for name in ("delivery", "failure_meanings"):
        english, dutch = getattr(texts.ENGLISH, name), getattr(texts.DUTCH, name)
        assert set(dutch) == set(english), name
        for key, template in english.items():
            assert dutch[key] and placeholders(dutch[key]) == placeholders(template), key


def test_every_reason_the_pipeline_gives_has_dutch_with_the_same_placeholders() -> None:
    assert texts.ENGLISH.reasons is reasons.ENGLISH  # the pipeline's own English, not a copy
    assert set(texts.DUTCH.reasons) == set(reasons.ENGLISH)
    for code, english in reasons.ENGLISH.items():
        assert placeholders(texts.DUTCH.reasons[code]) == placeholders(english), code


def test_the_dutch_modal_counter_help_and_history_are_valid_block_kit() -> None:
    for catalogue in (texts.ENGLISH, texts.DUTCH):
        counter = blocks.counter_text(analyze("€ " * 90), 100, catalogue)
        view = blocks.modal_view(
            origin=blocks.ModalOrigin("slack_modal"), default_sender="smsbot",
            counter=counter, texts=catalogue,
        )  # fmt: skip
        assert view_problems(view) == []
        help_block = {
            "type": "section",
            "text": blocks._mrkdwn(blocks.help_text("/sms", catalogue)),
        }
        assert block_problems([help_block]) == []
        line = blocks.HistoryLine("12:00 CET", "+31 6 ****5678", "sent", 2, "doc")
        assert block_problems(blocks.history_blocks([line], catalogue)[1]) == []
    assert blocks.counter_text(analyze("ok ✓"), 3, texts.DUTCH) == (
        "4 tekens · UCS-2 · 1 deel (UCS-2 vanwege ✓: er passen minder tekens in elk deel)"
        " · meer dan de limiet van 3 tekens"
    )


def make_dutch(bot: SlackBot, user: str = "U0ALICE") -> None:
    bot.fake.users[user].locale = "nl-NL"


async def test_the_modal_is_redrawn_in_dutch_and_its_errors_are_dutch(slack_bot: SlackBot) -> None:
    make_dutch(slack_bot)
    view = await open_from_command(slack_bot)
    # Opened before Slack said the language (the trigger cannot wait), then redrawn in it.
    await slack_bot.wait_for(lambda: slack_bot.fake.calls_to("views.update"))
    view = slack_bot.fake.views[view["id"]] | {"trigger_id": view["trigger_id"]}
    assert view["title"]["text"] == "Sms versturen"
    assert [b["label"]["text"] for b in view["blocks"] if b["type"] == "input"] == [
        "Mobiel nummer", "…of een persoon", "Afzender", "Bericht",
    ]  # fmt: skip
    assert view["blocks"][-1]["elements"][0]["text"] == "0 tekens · GSM-7 · 0 delen"
    assert view_problems(view) == []
    _, body = await submit(slack_bot, view, text="hoi")
    assert json.loads(body)["errors"] == {
        "to": "Typ een Nederlands mobiel nummer, of kies hieronder een persoon."
    }


async def test_an_english_modal_stays_english_and_is_not_redrawn(slack_bot: SlackBot) -> None:
    view = await open_from_command(slack_bot)
    assert view["title"]["text"] == "Send SMS"
    # The language is known once the modal is open: the next command is not redrawn either.
    await slack_bot.wait_for(lambda: slack_bot.fake.calls_to("users.info"))
    _, body, _ = await slack_bot.command("help")
    assert "*Send an SMS to a Dutch mobile phone*" in json.loads(body)["text"]
    assert slack_bot.fake.calls_to("views.update") == []


async def test_help_history_and_the_channel_confirmation_in_dutch(slack_bot: SlackBot) -> None:
    make_dutch(slack_bot)
    _, _, response_id = await slack_bot.command("history")
    await slack_bot.wait_for(lambda: slack_bot.fake.answers(response_id))
    assert slack_bot.fake.answers(response_id)[0]["text"] == "Je hebt nog geen sms verstuurd."
    # Asked of Slack once: help goes in the ack, from the cache.
    _, body, _ = await slack_bot.command("help")
    assert json.loads(body)["text"].startswith("*Een sms sturen naar een Nederlands mobiel nummer*")
    _, body, _ = await slack_bot.command("alice bel me")
    assert json.loads(body)["text"].startswith("'alice' is geen telefoonnummer. Begin met")
    await slack_bot.command("0612345678 deur open", channel="C0OPS")
    await slack_bot.wait_for(lambda: slack_bot.fake.messages)
    [confirmation] = slack_bot.fake.messages
    assert confirmation["text"].startswith("Sms verstuurd naar +31 6 ****5678 (1 deel, GSM-7)")
    assert "heeft een sms gestuurd naar" in json.dumps(confirmation["blocks"])
    assert block_problems(confirmation["blocks"]) == []
    _, _, response_id = await slack_bot.command("history")
    await slack_bot.wait_for(lambda: slack_bot.fake.answers(response_id))
    shown = slack_bot.fake.answers(response_id)[0]["text"]
    assert shown.startswith("Je laatste sms'jes, nieuwste eerst:") and "*verstuurd*" in shown


async def test_refusals_and_invalid_numbers_in_dutch(slack_bot: SlackBot) -> None:
    make_dutch(slack_bot, "U0DAVE")  # not on the allowlist
    await slack_bot.command("history", user="U0DAVE")  # Slack says the language once
    _, _, refused = await slack_bot.command("0612345678 hoi", user="U0DAVE")
    await slack_bot.wait_for(lambda: slack_bot.fake.answers(refused))
    assert slack_bot.fake.answers(refused)[0]["text"] == (
        "Niet verstuurd: Je mag vanaf hier geen sms versturen. Vraag #sms-admins om jou toe te "
        "voegen (SMSBOT_ALLOW__USERS of een toegestane gebruikersgroep) of dit kanaal "
        "(SMSBOT_ALLOW__CHANNELS)."
    )
    make_dutch(slack_bot)
    _, _, invalid = await slack_bot.command("020 123 4567 hoi")
    await slack_bot.wait_for(lambda: slack_bot.fake.answers(invalid))
    [shown] = slack_bot.fake.answers(invalid)
    assert shown["text"].startswith("Niet verstuurd: ") and "is een vast nummer" in shown["text"]
    assert "Niet verstuurd: *** *** 4567 is een vast nummer" in shown["text"]  # masked
    assert block_problems(shown["blocks"]) == []
    # The audit keeps the pipeline's English.
    records = await slack_bot.service.recent()
    assert "is a landline number" in next(r.error for r in records if r.outcome == "invalid")


async def test_the_modals_inline_errors_in_dutch(slack_bot: SlackBot) -> None:
    make_dutch(slack_bot)
    view = await open_from_command(slack_bot)
    await slack_bot.wait_for(lambda: slack_bot.fake.calls_to("views.update"))
    _, body = await submit(
        slack_bot, view, number="0601234567", sender="MuchTooLongSender", text="x" * 1001
    )
    errors = json.loads(body)["errors"]
    assert errors["to"].startswith("0601234567 is geen mobiel nummer: 060-nummers")
    assert errors["sender"].startswith("Afzender 'MuchTooLongSender' is 17 tekens")
    assert errors["text"].startswith("Het bericht is 1001 tekens; KPN accepteert er hoogstens")


def test_english_from_the_catalogue_is_the_pipelines_own_message() -> None:
    from smsbot.errors import InputError
    from smsbot.sms.numbers import normalize_number
    from smsbot.sms.sender import validate_sender
    from smsbot.sms.text import validate_text

    attempts = [
        lambda: normalize_number("0201234567"),
        lambda: normalize_number("+44 7700 900123"),
        lambda: normalize_number("06 1234 567"),
        lambda: validate_sender("+316123456789", "smsbot"),
        lambda: validate_text("a\u202e\x00", 10),
    ]
    for attempt in attempts:
        try:
            attempt()
        except InputError as exc:
            assert exc.code is not None
            assert texts.ENGLISH.error(exc) == str(exc)
            assert texts.DUTCH.error(exc) != str(exc)
        else:
            raise AssertionError("expected an InputError")


def test_the_reply_form_and_button_in_dutch() -> None:
    view = blocks.modal_view(
        origin=blocks.ModalOrigin("slack_modal", reply_to="r1"),
        default_sender="smsbot",
        counter="0 tekens",
        fixed_to="+31 6 ****5678",
        reply_number="+3197012345678",
        texts=texts.DUTCH,
    )
    assert view["title"]["text"] == "Antwoorden per sms"
    assert view["blocks"][0]["text"]["text"] == "*Aan:* +31 6 ****5678"
    assert "het antwoordnummer +3197012345678" in json.dumps(view)
    _, message = blocks.confirmation(
        actor="U1", to="+31 6 ****5678", text="hoi", parts=1, encoding="GSM-7",
        document_id="d", texts=texts.DUTCH, reply_to="r1",
    )  # fmt: skip
    assert message[-1]["elements"][0]["text"]["text"] == "Antwoorden per sms"
    assert block_problems(message) == [] and view_problems(view) == []


async def test_a_rate_limit_in_dutch(slack_bot: SlackBot) -> None:
    slack_bot.settings.limits.per_actor_per_hour = 1
    make_dutch(slack_bot)
    await slack_bot.command("0612345678 een", channel="C0OPS")
    await slack_bot.wait_for(lambda: slack_bot.fake.messages)
    _, _, second = await slack_bot.command("0612345678 twee", channel="C0OPS")
    await slack_bot.wait_for(lambda: slack_bot.fake.answers(second))
    [shown] = slack_bot.fake.answers(second)
    assert shown["text"].startswith(
        "Niet verstuurd: Je hebt het maximum van 1 sms per uur bereikt "
        "(SMSBOT_LIMITS__PER_ACTOR_PER_HOUR). Je kunt weer versturen om "
    )
    assert len(slack_bot.sandbox.messages()) == 1
    [refused] = [r for r in await slack_bot.service.recent() if r.outcome == "refused"]
    assert refused.rule == "rate_limit" and refused.error.startswith("You have sent 1 SMS")


def test_every_kpn_failure_is_a_reason_code_with_dutch() -> None:
    """Each answer KPN can give (and each way no answer comes) becomes an error whose reason
    is a code of the catalogue: its English is the error's message, and Dutch readers get
    Dutch, down to the parts inside it (KPN's empty answer, the cause of no answer)."""
    import aiohttp
    from multidict import CIMultiDict

    from smsbot.kpn.responses import error_for
    from smsbot.kpn.transport import _cause

    bodies = (b"", b'{"errorResponse": {"code": "E1", "message": "Invalid sender"}}', b"<p>x")
    errors = [
        error_for(status, CIMultiDict({"Location": "https://elsewhere"}), body, endpoint=end)
        for status in (301, 400, 401, 403, 404, 405, 418, 429, 500, 502, 503, 504)
        for body in bodies
        for end in ("token", "send")
    ]
    assert {error.code for error in errors} >= {
        "kpn.credentials_refused", "kpn.rejected", "kpn.rejected_message", "kpn.token_refused",
        "kpn.forbidden", "kpn.quota", "kpn.redirect_to", "kpn.not_found", "kpn.service_failed",
        "kpn.gateway_timeout", "kpn.unavailable", "kpn.refused",
    }  # fmt: skip
    for error in errors:
        assert error.code in reasons.ENGLISH
        assert texts.ENGLISH.error(error) == str(error)
        dutch = texts.DUTCH.error(error)
        assert dutch != str(error) and "empty body" not in dutch, dutch
    for exc in (
        aiohttp.ConnectionTimeoutError(),
        TimeoutError(),
        aiohttp.ServerDisconnectedError(),
    ):
        cause = _cause(exc)
        assert isinstance(cause, reasons.Reason) and cause.code in texts.DUTCH.reasons
