"""Why a number, sender or text cannot be sent, and why a policy said no, as stable codes with
parameters: `InputError.code` / `.params`, `Refusal.code` / `.params`.

The English of each code is here, and is what `str(exc)` says (the CLI, the audit and logs). A
surface that speaks another language renders the code from its own catalogue with the same
parameters (Slack: `smsbot.slack.texts`), so nothing below the surfaces knows about them.
"""

from __future__ import annotations

from collections.abc import Mapping
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
}


def english(code: str, params: Mapping[str, object]) -> str:
    """The English of `code` with its parameters: what `str()` of the error says."""
    return ENGLISH[code].format(**params)


@dataclass(frozen=True)
class Reason:
    """A code of `ENGLISH` and its parameters: what a surface renders in its reader's language."""

    code: str
    params: Mapping[str, object] = field(default_factory=dict)

    @classmethod
    def of(cls, error: object) -> Reason | None:
        """The reason an `InputError` or a `Refusal` carries; None when it has no code."""
        code = getattr(error, "code", None)
        return cls(code, dict(getattr(error, "params", {}))) if code else None

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
