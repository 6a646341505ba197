"""Why a number, sender or text cannot be sent, why a policy said no, and why KPN did not take
an SMS, as stable codes with parameters: `InputError.code` / `.params`, `Refusal.code` /
`.params`, `KpnError.code` / `.params`, and the `Reason` the service hands its notifiers.

The English of each code is here, and is what `str(exc)` says (the CLI, the audit and logs). A
surface that speaks another language renders the code from its own catalogue with the same
parameters (Slack: `smsbot.slack.texts`), so nothing below the surfaces knows about them.

A parameter may itself be a `Reason` (KPN's "with an empty body", the cause of a timeout, the
KPN failure inside "... Nothing was sent."): it is rendered in the same language as the text
around it. Other parameters are shown as they are: numbers, setting names, KPN's own words.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

MOBILE_FORMS = "06 and 8 digits (e.g. 0612345678), or +316 and 8 digits"
_FIX = f" Use {MOBILE_FORMS}."
_SENDER_RULE = (
    "a sender is 1-11 letters (A-Z), digits and spaces, "
    "or a number of at most 11 characters, which may start with +"
)

ENGLISH: Mapping[str, str] = {
    # Numbers (smsbot.sms.numbers).
    "number.invisible": (
        "The number contains {characters}, invisible: type it again with digits only." + _FIX
    ),
    "number.missing": "No phone number given." + _FIX,
    "number.foreign": (
        "{number} is not a Dutch number (country code +{country_code}, {region}): "
        "KPN sends only to Dutch mobile numbers." + _FIX
    ),
    "number.several": (
        "{number} looks like more than one number; KPN sends each message to one number. "
        "Give one number per message."
    ),
    "number.letters": (
        "{number} contains letters ({letters}); a phone number is digits only." + _FIX
    ),
    "number.characters": (
        "{number} contains {characters}; only digits, spaces, dashes, dots, brackets and a "
        "leading + are allowed." + _FIX
    ),
    "number.plus_inside": "{number} has a + in the middle; + may only come first." + _FIX,
    "number.unknown_country_code": "{number} does not start with a known country code." + _FIX,
    "number.too_long": (
        "{number} is too long to be one phone number ({digits} digits). "
        "Give one number per message." + _FIX
    ),
    "number.too_short_one": "{number} is too short to be a phone number (1 digit)." + _FIX,
    "number.too_short": ("{number} is too short to be a phone number ({digits} digits)." + _FIX),
    "number.not_a_number": "{number} is not a phone number." + _FIX,
    "number.not_mobile_range": (
        "{number} is not a mobile number: {prefix} numbers cannot receive SMS. Use 06 and 8 digits."
    ),
    "number.m2m_length": (
        "{number} has {digits} digits ({trunk}); a 097 M2M number has 12: 097 and 9 digits."
    ),
    "number.mobile_length": (
        "{number} has {digits} digits ({trunk}); a Dutch mobile number has 10: 06 and 8 digits."
    ),
    "number.not_mobile": "{number} is not a Dutch mobile number." + _FIX,
    **{
        f"number.kind.{kind}": (
            f"{{number}} is {described}, which cannot receive SMS. Send to a mobile number "
            f"instead: {MOBILE_FORMS}."
        )
        for kind, described in {
            "landline": "a landline number",
            "toll_free": "a free-phone service number",
            "premium_rate": "a paid service number",
            "shared_cost": "a shared-cost service number",
            "voip": "an internet telephony (VoIP) number",
            "uan": "a company-wide service number",
            "voicemail": "a voicemail number",
            "personal_number": "a personal routing number",
        }.items()
    },
    # Senders (smsbot.sms.sender).
    "sender.empty": f"The sender is empty; {_SENDER_RULE}.",
    "sender.characters": (
        f"Sender {{sender}} contains {{characters}}; {_SENDER_RULE}. "
        "Remove or replace those characters."
    ),
    "sender.too_long": (
        "Sender {sender} is {length} characters; KPN accepts at most 11. Shorten it by {over}."
    ),
    "sender.too_long_plus": (
        "Sender {sender} is {length} characters; KPN accepts at most 11. Shorten it by {over}. "
        "Without the + ({without_plus}) it fits."
    ),
    # Texts (smsbot.sms.text).
    "text.empty": "Message is empty; write the text to send.",
    "text.only_spaces": "Message is empty (only spaces); write the text to send.",
    **{
        f"text.invisible.{why}.{count}": (
            f"Message contains {{characters}}, invisible, which an SMS may not carry: {reason}. "
            f"Delete {pronoun} and send again (such characters come with text copied from a "
            "terminal, a file or a web page)."
        )
        for why, reason in {
            "control": "phones cannot show control characters",
            "direction": "direction overrides make a phone show the text in another order",
            "both": "phones cannot show control characters and direction overrides make a "
            "phone show the text in another order",
        }.items()
        for count, pronoun in (("one", "it"), ("many", "them"))
    },
    "text.too_long": (
        "Message is {length} characters; KPN accepts at most {maximum}. Shorten it by {over}."
    ),
    "text.too_long_configured": (
        "Message is {length} characters; the configured maximum (SMSBOT_SMS__MAX_CHARACTERS) "
        "is {maximum}. Shorten it by {over}."
    ),
    # Policy refusals (smsbot.policy).
    "refusal.workflow": (
        "Workflow {workflow} may not send SMS: Slack names no person for this run, and "
        "smsbot could not limit who may add the Send SMS step to workflows to the "
        "allowlist (SMSBOT_SLACK__STEP_PERMISSIONS; see `smsbot check`). Map the step's "
        "interactivity input so Slack names the person, or ask {admin}."
    ),
    "refusal.groups_unknown": (
        "Could not check your user groups with Slack, so nothing was sent. Try again in a minute."
    ),
    "refusal.not_allowed": (
        "You are not allowed to send SMS from here. Ask {admin} to add you "
        "(SMSBOT_ALLOW__USERS or an allowed user group) or this channel (SMSBOT_ALLOW__CHANNELS)."
    ),
    "refusal.storm": (
        "Storm control: {number} already got {maximum} alert SMS in the last {minutes} "
        "minutes. The next alert SMS is possible at {next}."
    ),
    "refusal.rate_limit_actor": (
        "You have sent {maximum} SMS in the last hour, the most allowed "
        "(SMSBOT_LIMITS__PER_ACTOR_PER_HOUR). Your next send is possible at {next}."
    ),
    "refusal.rate_limit_recipient": (
        "{number} has already been sent {maximum} SMS in the last hour, the most allowed per "
        "number (SMSBOT_LIMITS__PER_RECIPIENT_PER_HOUR). The next send to it is possible at "
        "{next}."
    ),
    "refusal.kpn_quota": (
        "smsbot's KPN SMS quota is used up until {until}; nothing was sent. "
        "Try again after that time."
    ),
    # KPN failures (smsbot.kpn): what KPN answered, or that no answer came. `said` is KPN's
    # answer as it came ("HTTP 503 Service Unavailable: <KPN's words>"), `host` KPN's host.
    "kpn.no_credentials": (
        "no KPN credentials are configured: set SMSBOT_KPN__CLIENT_ID and "
        "SMSBOT_KPN__CLIENT_SECRET (the Key and Secret of your app in the KPN API Store), "
        "or use a sandbox."
    ),
    "kpn.credentials_refused": (
        "KPN refused the client credentials ({said}). Check SMSBOT_KPN__CLIENT_ID and "
        "SMSBOT_KPN__CLIENT_SECRET: they are the Key and Secret of your app in the KPN API Store."
    ),
    "kpn.token_refused": (
        "KPN refused the access token ({said}). Check that the app named by "
        "SMSBOT_KPN__CLIENT_ID is subscribed to the SMS API."
    ),
    "kpn.token_unusable": (
        "KPN's token endpoint answered {status} without a usable access_token ({problem}); "
        "check that SMSBOT_KPN__BASE_URL points at KPN's API."
    ),
    "kpn.token_not_json": (
        "KPN's token endpoint answered {status} but not with JSON ({excerpt}); check that "
        "SMSBOT_KPN__BASE_URL points at KPN's API."
    ),
    "kpn.token_no_answer": "no answer from KPN's token endpoint at {host} ({cause}).",
    "kpn.forbidden": (
        "KPN refused access ({said}). The app named by SMSBOT_KPN__CLIENT_ID may not use "
        "the SMS API or this sender; check its subscription in the KPN API Store."
    ),
    "kpn.rejected_message": "KPN rejected the SMS (HTTP 400): {message}",
    "kpn.rejected": "KPN rejected the SMS ({said}).",
    "kpn.refused": "KPN refused the request ({said}).",
    "kpn.no_document_id": (
        "KPN answered {status} without a document_id (status {kpn_status}): "
        "the SMS was not accepted."
    ),
    "kpn.no_document_id_no_status": (
        "KPN answered {status} without a document_id (status missing): the SMS was not accepted."
    ),
    "kpn.quota": (
        "KPN's quota is used up ({said}). Try again later or raise the quota in the KPN API Store."
    ),
    "kpn.quota_resets": (
        "KPN's quota is used up ({said}); it resets at {reset} UTC. Try again later or raise "
        "the quota in the KPN API Store."
    ),
    "kpn.redirect": (
        "KPN's API answered with a redirect ({said}). "
        "Check SMSBOT_KPN__BASE_URL (production: https://api-prd.kpn.com)."
    ),
    "kpn.redirect_to": (
        "KPN's API answered with a redirect ({said}, to {location}). "
        "Check SMSBOT_KPN__BASE_URL (production: https://api-prd.kpn.com)."
    ),
    "kpn.not_found": (
        "KPN's API is not at the configured address ({said}). Check SMSBOT_KPN__BASE_URL "
        "(production: https://api-prd.kpn.com)."
    ),
    "kpn.unavailable": "KPN is unavailable ({said}).",
    "kpn.unreachable": "KPN is unreachable.",
    # A `KpnError` made without a code (not by smsbot's KPN client): its message as it stands.
    "kpn.message": "{message}",
    "kpn.no_connection": (
        "could not connect to KPN at {host} ({cause}). Check SMSBOT_KPN__BASE_URL and the network."
    ),
    "kpn.service_failed": (
        "KPN's SMS service failed ({said}), perhaps after accepting the SMS: it may or may not "
        "have been sent. Check the recipient's phone before sending again."
    ),
    "kpn.gateway_timeout": (
        "KPN's gateway timed out waiting for the SMS service ({said}): the SMS may or may not "
        "have been sent. Check the recipient's phone before sending again."
    ),
    "kpn.not_json": (
        "KPN answered {status} but not with JSON ({excerpt}): the SMS may or may not have been "
        "sent. Check the recipient's phone before sending again."
    ),
    "kpn.no_answer": (
        "the SMS was sent to KPN at {host} but no answer came ({cause}): it may or may not "
        "have been accepted. Check the recipient's phone before sending again."
    ),
    # Parts of the above: `said` for an empty answer, `excerpt` of one, `cause` of no answer.
    "kpn.said_empty": "{phrase}, with an empty body",
    "kpn.empty_body": "an empty body",
    "kpn.cause.connect_timeout": "timed out connecting",
    "kpn.cause.read_timeout": "timed out waiting for the answer",
    "kpn.cause.closed": "the connection was closed without an answer",
    # What a KPN failure means for the SMS (smsbot.service, smsbot.outbox).
    "send.not_sent": "{reason} Nothing was sent.",
    "send.no_answer": (
        "KPN did not answer, so the SMS may or may not have been sent. Check with the recipient "
        "(or the audit log) before sending it again."
    ),
    "send.unexpected": (
        "smsbot hit an unexpected error while sending, so the SMS may or may not have been "
        "sent. Check with the recipient before sending it again; the error is in smsbot's log."
    ),
    "send.died_while_sending": (
        "smsbot stopped while handing this SMS to KPN, so it may or may not have been sent. "
        "Check with the recipient before sending it again."
    ),
}


def english(code: str, params: Mapping[str, object]) -> str:
    """The English of `code` with its parameters: what `str()` of the error says."""
    return render(ENGLISH, code, params)


def render(
    templates: Mapping[str, str],
    code: str,
    params: Mapping[str, object],
    fallback: Callable[[str, Mapping[str, object]], str] | None = None,
) -> str:
    """`code` from `templates` with its parameters, each `Reason` among them rendered from the
    same `templates` first; a code `templates` lacks is rendered by `fallback` (English)."""
    template = templates.get(code)
    if template is None:
        if fallback is None:
            raise KeyError(code)
        return fallback(code, params)
    shown = {
        name: render(templates, value.code, value.params, fallback)
        if isinstance(value, Reason)
        else value
        for name, value in params.items()
    }
    return template.format(**shown)


@dataclass(frozen=True)
class Reason:
    """A code of `ENGLISH` and its parameters: what a surface renders in its reader's language."""

    code: str
    params: Mapping[str, object] = field(default_factory=dict)

    @classmethod
    def of(cls, error: object) -> Reason | None:
        """The reason an `InputError`, a `Refusal` or a `KpnError` carries; None when it has
        no code."""
        code = getattr(error, "code", None)
        return cls(code, dict(getattr(error, "params", {}))) if code else None

    def english(self) -> str:
        """What the audit, the CLI and the logs keep of this reason."""
        return english(self.code, self.params)

    def masked(self, typed: str) -> Reason:
        """The same with the number `typed` hidden in every parameter, as the audit hides it
        (`smsbot.sms.numbers.mask_typed`)."""
        from smsbot.sms.numbers import mask_typed

        return Reason(
            self.code,
            {
                name: mask_typed(value, typed) if isinstance(value, str) else value
                for name, value in self.params.items()
            },
        )
