"""Dutch for each code of `smsbot.sms.reasons` (why a number, sender or text cannot be sent,
why a policy said no, why KPN did not take an SMS), with the same parameters as the English
there. KPN's own words (`{said}`, `{message}`) and setting names stay as they are."""

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
    "kpn.no_credentials": (
        "er zijn geen KPN-inloggegevens ingesteld: stel SMSBOT_KPN__CLIENT_ID en "
        "SMSBOT_KPN__CLIENT_SECRET in (de Key en het Secret van je app in de KPN API Store), "
        "of gebruik een sandbox."
    ),
    "kpn.credentials_refused": (
        "KPN heeft de inloggegevens geweigerd ({said}). Controleer SMSBOT_KPN__CLIENT_ID en "
        "SMSBOT_KPN__CLIENT_SECRET: dat zijn de Key en het Secret van je app in de KPN API Store."
    ),
    "kpn.token_refused": (
        "KPN heeft het toegangstoken geweigerd ({said}). Controleer of de app van "
        "SMSBOT_KPN__CLIENT_ID een abonnement op de SMS-API heeft."
    ),
    "kpn.token_unusable": (
        "Het token-adres van KPN antwoordde {status} zonder bruikbaar access_token ({problem}); "
        "controleer of SMSBOT_KPN__BASE_URL naar de API van KPN wijst."
    ),
    "kpn.token_not_json": (
        "Het token-adres van KPN antwoordde {status}, maar niet met JSON ({excerpt}); "
        "controleer of SMSBOT_KPN__BASE_URL naar de API van KPN wijst."
    ),
    "kpn.token_no_answer": "geen antwoord van het token-adres van KPN op {host} ({cause}).",
    "kpn.forbidden": (
        "KPN heeft de toegang geweigerd ({said}). De app van SMSBOT_KPN__CLIENT_ID mag de "
        "SMS-API of deze afzender niet gebruiken; controleer het abonnement in de KPN API Store."
    ),
    "kpn.rejected_message": "KPN heeft de sms geweigerd (HTTP 400): {message}",
    "kpn.rejected": "KPN heeft de sms geweigerd ({said}).",
    "kpn.refused": "KPN heeft het verzoek geweigerd ({said}).",
    "kpn.no_document_id": (
        "KPN antwoordde {status} zonder document_id (status {kpn_status}): "
        "de sms is niet aangenomen."
    ),
    "kpn.no_document_id_no_status": (
        "KPN antwoordde {status} zonder document_id (zonder status): de sms is niet aangenomen."
    ),
    "kpn.quota": (
        "Het KPN-tegoed is op ({said}). Probeer het later opnieuw of verhoog het tegoed in de "
        "KPN API Store."
    ),
    "kpn.quota_resets": (
        "Het KPN-tegoed is op ({said}); het wordt om {reset} UTC weer aangevuld. Probeer het "
        "later opnieuw of verhoog het tegoed in de KPN API Store."
    ),
    "kpn.redirect": (
        "De API van KPN antwoordde met een doorverwijzing ({said}). "
        "Controleer SMSBOT_KPN__BASE_URL (productie: https://api-prd.kpn.com)."
    ),
    "kpn.redirect_to": (
        "De API van KPN antwoordde met een doorverwijzing ({said}, naar {location}). "
        "Controleer SMSBOT_KPN__BASE_URL (productie: https://api-prd.kpn.com)."
    ),
    "kpn.not_found": (
        "De API van KPN staat niet op het ingestelde adres ({said}). Controleer "
        "SMSBOT_KPN__BASE_URL (productie: https://api-prd.kpn.com)."
    ),
    "kpn.unavailable": "KPN is niet beschikbaar ({said}).",
    "kpn.unreachable": "KPN is onbereikbaar.",
    "kpn.message": "{message}",
    "kpn.no_connection": (
        "kon geen verbinding maken met KPN op {host} ({cause}). Controleer SMSBOT_KPN__BASE_URL "
        "en het netwerk."
    ),
    "kpn.service_failed": (
        "De sms-dienst van KPN is vastgelopen ({said}), misschien nadat hij de sms had "
        "aangenomen: hij is misschien wel, misschien niet verstuurd. Kijk op de telefoon van de "
        "ontvanger voordat je hem opnieuw verstuurt."
    ),
    "kpn.gateway_timeout": (
        "De gateway van KPN kreeg op tijd geen antwoord van de sms-dienst ({said}): de sms is "
        "misschien wel, misschien niet verstuurd. Kijk op de telefoon van de ontvanger voordat "
        "je hem opnieuw verstuurt."
    ),
    "kpn.not_json": (
        "KPN antwoordde {status}, maar niet met JSON ({excerpt}): de sms is misschien wel, "
        "misschien niet verstuurd. Kijk op de telefoon van de ontvanger voordat je hem opnieuw "
        "verstuurt."
    ),
    "kpn.no_answer": (
        "de sms is naar KPN op {host} gestuurd, maar er kwam geen antwoord ({cause}): hij is "
        "misschien wel, misschien niet aangenomen. Kijk op de telefoon van de ontvanger voordat "
        "je hem opnieuw verstuurt."
    ),
    "kpn.said_empty": "{phrase}, met een leeg antwoord",
    "kpn.empty_body": "een leeg antwoord",
    "kpn.cause.connect_timeout": "verbinden duurde te lang",
    "kpn.cause.read_timeout": "het antwoord bleef te lang uit",
    "kpn.cause.closed": "de verbinding werd zonder antwoord gesloten",
    "send.not_sent": "{reason} Er is niets verstuurd.",
    "send.no_answer": (
        "KPN gaf geen antwoord, dus de sms is misschien wel, misschien niet verstuurd. Vraag het "
        "de ontvanger (of kijk in het audit-log) voordat je hem opnieuw verstuurt."
    ),
    "send.unexpected": (
        "smsbot liep tijdens het versturen tegen een onverwachte fout aan, dus de sms is "
        "misschien wel, misschien niet verstuurd. Vraag het de ontvanger voordat je hem opnieuw "
        "verstuurt; de fout staat in het log van smsbot."
    ),
    "send.died_while_sending": (
        "smsbot stopte terwijl deze sms aan KPN werd overgedragen, dus hij is misschien wel, "
        "misschien niet verstuurd. Vraag het de ontvanger voordat je hem opnieuw verstuurt."
    ),
}
