"""What people read in Slack, in one place: English, and Dutch for people whose Slack language
is Dutch (`users.info`'s `locale`, e.g. `nl-NL`).

Every text the Slack layer writes for a person about their SMS is a field of `Texts`; the
builders in `blocks` and the notifier take the catalogue for the reader. Reasons that come from
the service (what is wrong with a number or a text, which rule refused) are passed through as
they are, in English.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Texts:
    language: str
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

    def parts_text(self, parts: int | None) -> str:
        return self.one_part if parts == 1 else self.parts.format(n=parts)


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
)


def for_locale(locale: str | None) -> Texts:
    """Dutch for a Dutch Slack language (`nl`, `nl-NL`, `nl_BE`), English for anything else."""
    if locale and locale.replace("_", "-").lower().split("-")[0] == "nl":
        return DUTCH
    return ENGLISH
