"""Dutch for each code of `smsbot.sms.reasons` (why a number, sender or text cannot be sent,
why a policy said no), with the same parameters as the English there."""

from __future__ import annotations

_FIX = " Gebruik 06 en 8 cijfers (bijv. 0612345678), of +316 en 8 cijfers."
_SENDER_RULE = (
    "een afzender is 1-11 letters (A-Z), cijfers en spaties, "
    "of een nummer van hoogstens 11 tekens, dat met + mag beginnen"
)

DUTCH = {
    "number.invisible": (
        "Het nummer bevat {characters}, onzichtbaar: typ het opnieuw met alleen cijfers." + _FIX
    ),
    "number.missing": "Er is geen telefoonnummer opgegeven." + _FIX,
    "number.foreign": (
        "{number} is geen Nederlands nummer (landcode +{country_code}, {region}): "
        "KPN verstuurt alleen naar Nederlandse mobiele nummers." + _FIX
    ),
    "number.several": (
        "{number} lijkt meer dan één nummer; KPN stuurt elk bericht naar één nummer. "
        "Geef één nummer per bericht."
    ),
    "number.letters": (
        "{number} bevat letters ({letters}); een telefoonnummer bestaat alleen uit cijfers." + _FIX
    ),
    "number.characters": (
        "{number} bevat {characters}; alleen cijfers, spaties, streepjes, punten, haakjes en "
        "een + aan het begin zijn toegestaan." + _FIX
    ),
    "number.plus_inside": "{number} heeft een + in het midden; een + mag alleen vooraan." + _FIX,
    "number.unknown_country_code": "{number} begint niet met een bekende landcode." + _FIX,
    "number.too_long": (
        "{number} is te lang voor één telefoonnummer ({digits} cijfers). "
        "Geef één nummer per bericht." + _FIX
    ),
    "number.too_short_one": "{number} is te kort voor een telefoonnummer (1 cijfer)." + _FIX,
    "number.too_short": "{number} is te kort voor een telefoonnummer ({digits} cijfers)." + _FIX,
    "number.not_a_number": "{number} is geen telefoonnummer." + _FIX,
    "number.not_mobile_range": (
        "{number} is geen mobiel nummer: {prefix}-nummers kunnen geen sms ontvangen. "
        "Gebruik 06 en 8 cijfers."
    ),
    "number.m2m_length": (
        "{number} heeft {digits} cijfers ({trunk}); een 097-M2M-nummer heeft er 12: 097 en "
        "9 cijfers."
    ),
    "number.mobile_length": (
        "{number} heeft {digits} cijfers ({trunk}); een Nederlands mobiel nummer heeft er 10: "
        "06 en 8 cijfers."
    ),
    "number.not_mobile": "{number} is geen Nederlands mobiel nummer." + _FIX,
    **{
        f"number.kind.{kind}": (
            f"{{number}} is {described}, en dat kan geen sms ontvangen. Stuur in plaats daarvan "
            "naar een mobiel nummer: 06 en 8 cijfers (bijv. 0612345678), of +316 en 8 cijfers."
        )
        for kind, described in {
            "landline": "een vast nummer",
            "toll_free": "een gratis servicenummer",
            "premium_rate": "een betaald servicenummer",
            "shared_cost": "een servicenummer met gedeelde kosten",
            "voip": "een internettelefonienummer (VoIP)",
            "uan": "een bedrijfsbreed servicenummer",
            "voicemail": "een voicemailnummer",
            "personal_number": "een persoonlijk doorschakelnummer",
        }.items()
    },
    "sender.empty": f"De afzender is leeg; {_SENDER_RULE}.",
    "sender.characters": (
        f"Afzender {{sender}} bevat {{characters}}; {_SENDER_RULE}. "
        "Haal die tekens weg of vervang ze."
    ),
    "sender.too_long": (
        "Afzender {sender} is {length} tekens; KPN accepteert er hoogstens 11. "
        "Maak hem {over} korter."
    ),
    "sender.too_long_plus": (
        "Afzender {sender} is {length} tekens; KPN accepteert er hoogstens 11. "
        "Maak hem {over} korter. Zonder de + ({without_plus}) past hij."
    ),
    "text.empty": "Het bericht is leeg; schrijf de tekst die je wilt versturen.",
    "text.only_spaces": (
        "Het bericht is leeg (alleen spaties); schrijf de tekst die je wilt versturen."
    ),
    **{
        f"text.invisible.{why}.{count}": (
            f"Het bericht bevat {{characters}}, onzichtbaar, en dat mag niet in een sms: {reason}. "
            f"Verwijder {pronoun} en verstuur opnieuw (zulke tekens komen mee met tekst die is "
            "gekopieerd uit een terminal, een bestand of een webpagina)."
        )
        for why, reason in {
            "control": "telefoons kunnen stuurtekens niet tonen",
            "direction": "richtingstekens laten een telefoon de tekst in een andere volgorde tonen",
            "both": "telefoons kunnen stuurtekens niet tonen en richtingstekens laten een "
            "telefoon de tekst in een andere volgorde tonen",
        }.items()
        for count, pronoun in (("one", "dit teken"), ("many", "deze tekens"))
    },
    "text.too_long": (
        "Het bericht is {length} tekens; KPN accepteert er hoogstens {maximum}. "
        "Maak het {over} tekens korter."
    ),
    "text.too_long_configured": (
        "Het bericht is {length} tekens; het ingestelde maximum (SMSBOT_SMS__MAX_CHARACTERS) "
        "is {maximum}. Maak het {over} tekens korter."
    ),
    "refusal.workflow": (
        "Workflow {workflow} mag geen sms versturen: Slack noemt geen persoon bij deze run, en "
        "smsbot kon niet beperken wie de stap Sms versturen aan workflows mag toevoegen tot de "
        "allowlist (SMSBOT_SLACK__STEP_PERMISSIONS; zie `smsbot check`). Koppel de "
        "interactivity-invoer van de stap zodat Slack de persoon noemt, of vraag het {admin}."
    ),
    "refusal.groups_unknown": (
        "Je gebruikersgroepen konden niet bij Slack worden nagekeken, dus er is niets verstuurd. "
        "Probeer het over een minuut opnieuw."
    ),
    "refusal.not_allowed": (
        "Je mag vanaf hier geen sms versturen. Vraag {admin} om jou toe te voegen "
        "(SMSBOT_ALLOW__USERS of een toegestane gebruikersgroep) of dit kanaal "
        "(SMSBOT_ALLOW__CHANNELS)."
    ),
    "refusal.storm": (
        "Stormbeveiliging: {number} heeft in de laatste {minutes} minuten al {maximum} "
        "alert-sms gekregen. De volgende alert-sms kan om {next}."
    ),
    "refusal.rate_limit_actor": (
        "Je hebt het maximum van {maximum} sms per uur bereikt "
        "(SMSBOT_LIMITS__PER_ACTOR_PER_HOUR). Je kunt weer versturen om {next}."
    ),
    "refusal.rate_limit_recipient": (
        "{number} heeft het maximum van {maximum} sms per uur per nummer al gekregen "
        "(SMSBOT_LIMITS__PER_RECIPIENT_PER_HOUR). Naar dit nummer kan weer om {next}."
    ),
    "refusal.kpn_quota": (
        "Het KPN-sms-tegoed van smsbot is op tot {until}; er is niets verstuurd. "
        "Probeer het na dat tijdstip opnieuw."
    ),
}
