"""Dutch for what a delivery report says (`smsbot.delivery_words`): the delivery line's words,
and KPN's failure codes' meanings (KPN documents them in English only), with the same
placeholders as the English."""

from __future__ import annotations

DELIVERY = {
    "delivered": "✓ afgeleverd",
    "delivered_at": "✓ afgeleverd {when} ({took})",
    "not_delivered": "✗ niet afgeleverd: {reason}",
    "pending": "… {state}",
    "with_code": "{reason} ({code})",
    "failed": "het netwerk gaf geen reden",
    "rejected": "geweigerd door het netwerk",
    "expired": "de telefoon was niet bereikbaar voordat de sms verliep",
    "no_reason": "geen reden opgegeven",
    "accepted": "aangenomen door het netwerk, nog niet op de telefoon",
    "queued": "wacht tot de telefoon bereikbaar is",
}

FAILURE_MEANINGS = {
    "001": "Onbekende of niet nader genoemde fout",
    "002": "Het nummer of de abonnee van de ontvanger is onbekend of ongeldig",
    "003": "De ontvanger is geblokkeerd, afgesloten of opgeschort",
    "004": "De ontvanger heeft zich afgemeld of wil geen berichten ontvangen",
    "005": "De ontvanger, het netwerk of het toestel kan geen sms ontvangen",
    "006": "Het toestel van de ontvanger is tijdelijk niet beschikbaar of bezet",
    "007": "De ontvanger is tijdelijk onbereikbaar of buiten bereik",
    "008": "De ontvanger is afgemeld of blijvend onbereikbaar",
    "009": "Tijdelijk probleem met toestel, simkaart of geheugen",
    "010": "Blijvend probleem met toestel, simkaart of apparaat",
    "011": "Storing bij netwerk, systeem of operator",
    "012": "Aflevering mislukt door een probleem met nummerbehoud",
    "013": "De provider vond geen geschikte interne route",
    "014": "Er is geen afleverroute gevonden",
    "015": "Aflevering mislukt door een niet nader genoemde routeringsfout",
    "016": "Onjuist opgebouwd of ongeldig verzoek",
    "017": "Ongeldige berichtparameter of coderingsprobleem",
    "018": "Tegengehouden door antispam- of beveiligingsmaatregelen",
    "019": "Inhoud niet toegestaan",
    "020": "Onvoldoende tegoed of quotum",
    "021": "Tegengehouden door leeftijds- of ouderlijk toezicht",
    "022": "De ontvanger heeft zich afgemeld of staat op een niet-storen-lijst",
    "023": "Limiet voor uitgaven, quotum, snelheid of gesprekken bereikt",
    "024": "De geldigheid van het bericht verliep vóór aflevering",
    "025": "Storing bij een externe provider",
    "026": "DLT-entity-id ontbreekt of is ongeldig",
    "027": "DLT-header-id ontbreekt of is ongeldig",
    "028": "DLT-content-id ontbreekt of is ongeldig",
    "029": "De vereiste toestemming van de ontvanger ontbreekt",
    "030": "Onverwachte fout in regelgeving of compliance",
}
