"""What people read in Slack, in one place: English, and Dutch for people whose Slack language
is Dutch (`users.info`'s `locale`, e.g. `nl-NL`).

Every text the Slack layer writes for a person is a field of `Texts` (the modal, the counter,
/sms help and history, the Sending line, outcomes, confirmations, the delivery line and the
notes a delivery report brings, the workflow step's errors);
the builders in `blocks`, the listeners and the notifier take the catalogue for the reader.
Both languages have every field and the same `{placeholders}` in each (a test checks).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from smsbot import delivery_words
from smsbot.slack import delivery_nl, reasons_nl
from smsbot.sms import reasons
from smsbot.store import AuditRecord


@dataclass(frozen=True)
class Texts:
    language: str
    # The outcome of a send, and the line while it goes out.
    sending: str
    sent_summary: str
    sent_fallback: str
    one_part: str
    parts: str
    kpn_document: str
    not_sent: str
    may_not_have_arrived: str
    no_resend: str
    was_not_sent: str
    that_number: str
    cut_note: str
    could_not_record: str
    # The "Send SMS" modal.
    modal_title: str
    modal_submit: str
    modal_close: str
    number_label: str
    number_hint: str
    person_label: str
    person_placeholder: str
    person_hint: str
    sender_label: str
    sender_hint: str
    message_label: str
    reply_title: str
    reply_to: str
    sender_hint_reply: str
    reply_gone: str
    number_and_person: str
    no_number_or_person: str
    form_not_opened: str
    # The live counter under the message.
    counter_empty: str
    one_character: str
    characters: str
    counter_line: str
    ucs2_because: str
    over_limit: str
    # /sms help, and what the ack says to text that starts with neither a number nor a person.
    help: str
    usage: str
    not_a_number: str
    # /sms history.
    history_heading: str
    history_empty: str
    no_valid_number: str
    outcome_queued: str
    outcome_sending: str
    outcome_sent: str
    outcome_refused: str
    outcome_invalid: str
    outcome_failed: str
    outcome_unknown: str
    # A person's phone from their Slack profile.
    profile_no_phone: str
    profile_not_dutch: str
    profile_unreadable: str
    profile_field_missing: str
    type_a_number_instead: str
    # The workflow step's errors (what the person who ran the workflow reads from Slackbot).
    step_no_recipient: str
    step_two_recipients: str
    step_fill_in_number: str
    step_no_directory: str
    step_not_recorded: str
    step_not_sent: str
    step_not_sent_plain: str
    step_outcome_unknown: str
    # What a delivery report says: the confirmation's updated text, and the private notes.
    delivery_update: str
    went_out_after_all: str
    did_not_reach: str
    # An SMS reply from a phone, posted into Slack.
    sms_reply_from: str
    # The answer to an alert mirror button from someone not on the allowlist (English: the
    # mirror is team-level, see `smsbot.slack.alert_buttons`).
    alert_button_not_allowed: str
    # The delivery line's words (`smsbot.delivery_words.ENGLISH`'s keys), and KPN's failure
    # codes' meanings.
    delivery: Mapping[str, str]
    failure_meanings: Mapping[str, str]
    # Why a number, sender or text cannot be sent, why a policy said no: by the code the
    # pipeline gives them (`smsbot.sms.reasons`), with its parameters.
    reasons: Mapping[str, str]

    def reason(self, code: str | None, params: Mapping[str, object], english: str) -> str:
        """The reason `code` in this language; `english` (the pipeline's own message) when it
        has no code, or one this catalogue does not know."""
        if not code or code not in self.reasons:
            return english
        # A reason inside a reason (KPN's failure inside "... Nothing was sent.") is in this
        # language too.
        return reasons.render(self.reasons, code, params, fallback=reasons.english)

    def error(self, error: object) -> str:
        """An `InputError` or a `Refusal` as this reader should read it."""
        message = getattr(error, "message", None)
        if not isinstance(message, str):
            message = str(error)
        return self.reason(getattr(error, "code", None), getattr(error, "params", {}), message)

    def delivery_line(self, record: AuditRecord, zone: str) -> str:
        """The record's delivery line in this language ("" before any report came)."""
        return delivery_words.delivery_line(
            record, zone, words=self.delivery, meanings=self.failure_meanings
        )

    def failure_reason(self, record: AuditRecord) -> str:
        return delivery_words.failure_reason(record, self.delivery, self.failure_meanings)

    def parts_text(self, parts: int | None) -> str:
        return self.one_part if parts == 1 else self.parts.format(n=parts)

    def characters_text(self, characters: int) -> str:
        return self.one_character if characters == 1 else self.characters.format(n=characters)

    def outcome(self, outcome: str) -> str:
        """A stored outcome (`sent`, `refused`, ...) as the reader's word for it."""
        return getattr(self, f"outcome_{outcome}", outcome)


ENGLISH = Texts(
    language="en",
    sending="Sending to {to}…",
    sent_summary=":outbox_tray: <@{actor}> sent an SMS to {to}",
    sent_fallback="SMS sent to {to} ({parts}, {encoding}), KPN document {document_id}",
    one_part="1 part",
    parts="{n} parts",
    kpn_document="KPN document",
    not_sent="Not sent: {reason}.",
    may_not_have_arrived="Your SMS to {to} may not have arrived: {reason}.",
    no_resend="smsbot does not resend it on its own (request {request_id}).",
    was_not_sent="Your SMS to {to} was not sent: {reason}.",
    that_number="that number",
    cut_note=" … (cut: longer than Slack shows)",
    could_not_record=(
        "smsbot could not take your request ({error}), so it was most likely not sent. "
        "Check `/sms history` before trying again; if this keeps happening, tell {admin}."
    ),
    modal_title="Send SMS",
    modal_submit="Send",
    modal_close="Cancel",
    number_label="Mobile number",
    number_hint="A Dutch mobile number: 06…, +316… or 097…",
    person_label="…or a person",
    person_placeholder="Pick a person",
    person_hint="Sends to the phone number on their Slack profile.",
    sender_label="Sender",
    sender_hint="Up to 11 letters and digits. Empty: {default_sender}.",
    message_label="Message",
    reply_title="Reply by SMS",
    reply_to="*To:* {to}",
    sender_hint_reply=(
        "Empty: the reply number {reply_number}, so the phone can answer. A name (up to "
        "11 letters and digits) cannot be replied to."
    ),
    reply_gone=(
        "That conversation is no longer stored (past the audit's retention), so there is no "
        "number to answer. Send a new SMS with /sms."
    ),
    number_and_person="Give a number or pick a person, not both.",
    no_number_or_person="Type a Dutch mobile number, or pick a person below.",
    form_not_opened=(
        "Slack did not open the SMS form ({error}). Try again; "
        "or send at once with `/sms 0612345678 your message`."
    ),
    counter_empty="0 characters · GSM-7 · 0 parts",
    one_character="1 character",
    characters="{n} characters",
    counter_line="{characters} · {encoding} · {parts}",
    ucs2_because=" (UCS-2 because of {shown}: fewer characters fit in each part)",
    over_limit=" · over the {max_characters}-character limit",
    help="\n".join(
        [
            "*Send an SMS to a Dutch mobile phone*",
            "`{command} 0612345678 Server room door is open`  send at once",
            "`{command} @alice Can you call me?`  send to the phone on Alice's Slack profile",
            "`{command}`  open a form with a live count of characters and SMS parts",
            "`{command} history`  your last 10 sends (only you see them)",
            "`{command} help`  this help",
            "Numbers: `06…`, `+316…`, `00316…` or the `097…` range. "
            "Texts over 160 characters (70 with emoji or special characters) go as several parts.",
        ]
    ),
    usage=(
        "Start with a Dutch mobile number or a @person, then the message, e.g. "
        "`/sms 0612345678 Server room door is open`. `/sms help` shows everything."
    ),
    not_a_number="{word} is not a phone number. {usage}",
    history_heading="Your last SMS sends, newest first:",
    history_empty="You have not sent any SMS yet.",
    no_valid_number="(no valid number)",
    outcome_queued="queued",
    outcome_sending="sending",
    outcome_sent="sent",
    outcome_refused="refused",
    outcome_invalid="invalid",
    outcome_failed="failed",
    outcome_unknown="unknown",
    profile_no_phone=(
        "{who} has no phone number on their Slack profile. Ask them to add their mobile "
        "number (Profile > Edit profile > {field}), or {instead}."
    ),
    profile_not_dutch=(
        "The phone number on {who}'s Slack profile ({shown}) is not a Dutch mobile number, "
        "and SMS goes only to those. Ask them to put their Dutch mobile number on their "
        "profile, or {instead}."
    ),
    profile_unreadable="Could not read {who}'s Slack profile ({error}). Try again, or {instead}.",
    profile_field_missing=(
        "The workspace has no profile field {field} (SMSBOT_SLACK__PHONE_FIELD): ask your Slack "
        "admin to fix the setting or add the field (Admin > Profiles). Until then, {instead}."
    ),
    type_a_number_instead="type a number instead",
    step_no_recipient=(
        "The Send SMS step has no recipient: fill in a mobile number (06 and 8 digits) or "
        "choose a person."
    ),
    step_two_recipients=(
        "The Send SMS step has both a mobile number and a person: fill in only one of them."
    ),
    step_fill_in_number="fill in a mobile number in the step instead",
    step_no_directory="smsbot cannot look up people's numbers here: enter a mobile number instead.",
    step_not_recorded=(
        "smsbot could not record the SMS, so nothing was sent. Try the workflow again in a "
        "minute; if it keeps failing, ask your Slack admin to check smsbot."
    ),
    step_not_sent="The SMS was not sent. {reason}",
    step_not_sent_plain="The SMS was not sent.",
    step_outcome_unknown=(
        "The SMS may or may not have been sent: check with the recipient before running the "
        "workflow again."
    ),
    delivery_update="SMS to {to}: {line}",
    went_out_after_all="Your SMS to {to} did go out after all: {line}",
    did_not_reach=(
        "Your SMS to {to} did not reach the phone: {reason}. Try another way to reach them, "
        "or send it again later (request {request_id})."
    ),
    sms_reply_from="SMS reply from {who}",
    alert_button_not_allowed=(
        "You are not on smsbot's allowlist, so you cannot acknowledge or silence alerts. "
        "Ask an admin to add you (SMSBOT_ALLOW__USERS or a user group)."
    ),
    delivery=delivery_words.ENGLISH,
    failure_meanings=delivery_words.ENGLISH_MEANINGS,
    reasons=reasons.ENGLISH,
)

DUTCH = Texts(
    language="nl",
    sending="Versturen naar {to}…",
    sent_summary=":outbox_tray: <@{actor}> heeft een sms gestuurd naar {to}",
    sent_fallback="Sms verstuurd naar {to} ({parts}, {encoding}), KPN-document {document_id}",
    one_part="1 deel",
    parts="{n} delen",
    kpn_document="KPN-document",
    not_sent="Niet verstuurd: {reason}.",
    may_not_have_arrived="Je sms naar {to} is misschien niet aangekomen: {reason}.",
    no_resend="smsbot verstuurt hem niet vanzelf opnieuw (verzoek {request_id}).",
    was_not_sent="Je sms naar {to} is niet verstuurd: {reason}.",
    that_number="dat nummer",
    cut_note=" … (ingekort: langer dan Slack toont)",
    could_not_record=(
        "smsbot kon je verzoek niet aannemen ({error}), dus hij is waarschijnlijk niet "
        "verstuurd. Kijk in `/sms history` voordat je het opnieuw probeert; blijft dit gebeuren, "
        "meld het dan bij {admin}."
    ),
    modal_title="Sms versturen",
    modal_submit="Versturen",
    modal_close="Annuleren",
    number_label="Mobiel nummer",
    number_hint="Een Nederlands mobiel nummer: 06…, +316… of 097…",
    person_label="…of een persoon",
    person_placeholder="Kies een persoon",
    person_hint="Gaat naar het telefoonnummer in hun Slack-profiel.",
    sender_label="Afzender",
    sender_hint="Maximaal 11 letters en cijfers. Leeg: {default_sender}.",
    message_label="Bericht",
    reply_title="Antwoorden per sms",
    reply_to="*Aan:* {to}",
    sender_hint_reply=(
        "Leeg: het antwoordnummer {reply_number}, zodat de telefoon kan antwoorden. Op een "
        "naam (maximaal 11 letters en cijfers) kan niet worden geantwoord."
    ),
    reply_gone=(
        "Dat gesprek is niet meer bewaard (de bewaartermijn van het audit-log is voorbij), dus "
        "er is geen nummer om op te antwoorden. Stuur een nieuwe sms met /sms."
    ),
    number_and_person="Vul een nummer in of kies een persoon, niet allebei.",
    no_number_or_person="Typ een Nederlands mobiel nummer, of kies hieronder een persoon.",
    form_not_opened=(
        "Slack heeft het sms-formulier niet geopend ({error}). Probeer het opnieuw, "
        "of verstuur meteen met `/sms 0612345678 je bericht`."
    ),
    counter_empty="0 tekens · GSM-7 · 0 delen",
    one_character="1 teken",
    characters="{n} tekens",
    counter_line="{characters} · {encoding} · {parts}",
    ucs2_because=" (UCS-2 vanwege {shown}: er passen minder tekens in elk deel)",
    over_limit=" · meer dan de limiet van {max_characters} tekens",
    help="\n".join(
        [
            "*Een sms sturen naar een Nederlands mobiel nummer*",
            "`{command} 0612345678 Deur van de serverruimte staat open`  meteen versturen",
            "`{command} @alice Kun je me bellen?`  naar het nummer in Alice' Slack-profiel",
            "`{command}`  een formulier dat tekens en sms-delen meetelt terwijl je typt",
            "`{command} history`  je laatste 10 verstuurde sms'jes (alleen jij ziet ze)",
            "`{command} help`  deze uitleg",
            "Nummers: `06…`, `+316…`, `00316…` of de `097…`-reeks. "
            "Teksten van meer dan 160 tekens (70 met emoji of speciale tekens) gaan in meerdere "
            "delen.",
        ]
    ),
    usage=(
        "Begin met een Nederlands mobiel nummer of een @persoon, daarna het bericht, bijv. "
        "`/sms 0612345678 Deur van de serverruimte staat open`. `/sms help` laat alles zien."
    ),
    not_a_number="{word} is geen telefoonnummer. {usage}",
    history_heading="Je laatste sms'jes, nieuwste eerst:",
    history_empty="Je hebt nog geen sms verstuurd.",
    no_valid_number="(geen geldig nummer)",
    outcome_queued="in de wachtrij",
    outcome_sending="wordt verstuurd",
    outcome_sent="verstuurd",
    outcome_refused="geweigerd",
    outcome_invalid="ongeldig",
    outcome_failed="mislukt",
    outcome_unknown="onbekend",
    profile_no_phone=(
        "{who} heeft geen telefoonnummer in het Slack-profiel. Vraag of die het mobiele "
        "nummer invult (Profiel > Profiel bewerken > {field}), of {instead}."
    ),
    profile_not_dutch=(
        "Het telefoonnummer in het Slack-profiel van {who} ({shown}) is geen Nederlands "
        "mobiel nummer, en sms gaat alleen naar die nummers. Vraag of die een Nederlands "
        "mobiel nummer in het profiel zet, of {instead}."
    ),
    profile_unreadable=(
        "Kon het Slack-profiel van {who} niet lezen ({error}). Probeer het opnieuw, of {instead}."
    ),
    profile_field_missing=(
        "De werkruimte heeft geen profielveld {field} (SMSBOT_SLACK__PHONE_FIELD): vraag je "
        "Slack-beheerder de instelling te herstellen of het veld toe te voegen (Beheer > "
        "Profielen). Tot die tijd: {instead}."
    ),
    type_a_number_instead="typ in plaats daarvan een nummer",
    step_no_recipient=(
        "De stap Sms versturen heeft geen ontvanger: vul een mobiel nummer in (06 en 8 cijfers) "
        "of kies een persoon."
    ),
    step_two_recipients=(
        "De stap Sms versturen heeft zowel een mobiel nummer als een persoon: vul er maar één in."
    ),
    step_fill_in_number="vul in plaats daarvan een mobiel nummer in de stap in",
    step_no_directory=(
        "smsbot kan hier geen nummers van mensen opzoeken: vul een mobiel nummer in."
    ),
    step_not_recorded=(
        "smsbot kon de sms niet vastleggen, dus er is niets verstuurd. Probeer de workflow over "
        "een minuut opnieuw; blijft het misgaan, vraag dan je Slack-beheerder smsbot na te kijken."
    ),
    step_not_sent="De sms is niet verstuurd. {reason}",
    step_not_sent_plain="De sms is niet verstuurd.",
    step_outcome_unknown=(
        "De sms is misschien wel, misschien niet verstuurd: vraag het de ontvanger voordat je "
        "de workflow opnieuw uitvoert."
    ),
    delivery_update="Sms naar {to}: {line}",
    went_out_after_all="Je sms naar {to} is toch verstuurd: {line}",
    did_not_reach=(
        "Je sms naar {to} is niet op de telefoon aangekomen: {reason}. Probeer op een andere "
        "manier contact op te nemen, of verstuur hem later opnieuw (verzoek {request_id})."
    ),
    sms_reply_from="Sms-antwoord van {who}",
    alert_button_not_allowed=(
        "Je staat niet op de allowlist van smsbot, dus je kunt alerts niet bevestigen of "
        "dempen. Vraag een beheerder om je toe te voegen (SMSBOT_ALLOW__USERS of een "
        "gebruikersgroep)."
    ),
    delivery=delivery_nl.DELIVERY,
    failure_meanings=delivery_nl.FAILURE_MEANINGS,
    reasons=reasons_nl.DUTCH,
)

CATALOGUE = {texts.language: texts for texts in (ENGLISH, DUTCH)}


def for_locale(locale: str | None) -> Texts:
    """Dutch for a Dutch Slack language (`nl`, `nl-NL`, `nl_BE`), English for anything else."""
    if locale and locale.replace("_", "-").lower().split("-")[0] == "nl":
        return DUTCH
    return ENGLISH
