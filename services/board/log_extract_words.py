"""The log extract's words, in Swedish a person understands: why an event was withheld, what a
consent change and each kind of access meant, and the consent categories. Keyed by the codes the
consent service and the access logs use; `tests/unit/test_log_extract.py` holds every code the
services write to a wording here."""

REASONS = {  # the gate's reasons for not forwarding (the consent service's `Reason`)
    "no_consent": (
        "Det fanns inget samtycke från dig som gällde både avsändaren och mottagaren, så uppgiften lämnades inte ut."
    ),
    "consent_revoked": "Du hade återkallat ditt samtycke, så uppgiften lämnades inte ut.",
    "consent_not_active": (
        "Ditt samtycke gällde inte just då: det hade ännu inte börjat gälla eller hade redan gått ut."
    ),
    "event_outside_validity": "Det som hände låg utanför den tid som ditt samtycke gällde för.",
    "category_not_covered": "Ditt samtycke omfattade inte den här sortens uppgifter.",
    "excluded_by_person": "Du hade sagt att du inte ville att den här sortens uppgifter skulle lämnas ut.",
}
UNKNOWN_REASON = "Uppgiften lämnades inte ut, eftersom reglerna för utlämnande inte var uppfyllda."

CONSENT_CHANGES = {  # the consent's history (`consent_events.kind`)
    "granted": "Samtycke lämnat",
    "revoked": "Samtycke återkallat",
    "expiring": "Påminnelse: samtycket går snart ut",
    "expired": "Samtycket har gått ut",
}

FORMS = {"written": "skriftligt", "verbal": "muntligt"}

CATEGORIES = {
    "attendance": "närvaro och uteblivna besök",
    "test_results": "provsvar och skattningar",
    "care_transitions": "in- och utskrivning",
    "treatment": "behandling",
    "interventions": "insatser från socialtjänsten",
    "coordination": "samordning och planering (SIP)",
    "consent": "samtycke",
}

ACTIONS = {  # what was done, as the access logs name it
    "board.rows": "Såg dig i listan på samordningstavlan",
    "board.timeline": "Öppnade dina händelser på samordningstavlan",
    "board.log_extract": "Tog fram ett loggutdrag om dig",
    "board.inbox": "Såg ett meddelande om dig i inkorgen",
    "board.receipt": "Kvitterade ett meddelande om dig",
    "workspace.consent_preview": "Visade vad ett samtycke skulle innebära",
    "workspace.consent_saved": "Registrerade ett samtycke",
    "workspace.consent_revoked": "Registrerade att du återkallade ett samtycke",
    "workspace.consents": "Såg dina samtycken",
    "workspace.consents_expiring": "Såg att ditt samtycke snart går ut",
    "workspace.event_form": "Öppnade formuläret för att registrera en händelse om dig",
    "workspace.event_registered": "Registrerade en händelse om dig",
    "consent.record": "Registrerade ett samtycke",
    "consent.search": "Sökte fram dina samtycken",
    "consent.read": "Läste ett av dina samtycken",
    "consent.history": "Läste historiken för ett av dina samtycken",
    "consent.revoke": "Registrerade att du återkallade ett samtycke",
    "consent.preview": "Visade vad ett samtycke skulle innebära",
    "audit.search": "Sökte i loggen över vad som lämnats ut om dig",
    "access_log.search": "Sökte i loggen över vem som tagit del av dina uppgifter",
    "log_extract.read": "Hämtade uppgifter till ett loggutdrag om dig",
    "gateway.inbox.read": "Läste ett meddelande om dig i inkorgen",
    "gateway.inbox.latest": "Såg ett meddelande om dig i inkorgen",
    "gateway.receipt.sent": "Kvitterade ett meddelande om dig",
    "gateway.event.sent": "Registrerade en händelse om dig",
}
UNKNOWN_ACTION = "Tog del av eller ändrade uppgifter om dig"

ROLES = {"coordinator": "samordnare", "system": "verksamhetssystem", "ops": "drift"}

SOURCES = {"board": "samordningstavlan", "consent": "samtyckestjänsten", "gateway": "anslutningen (gateway)"}


def reason_in_words(reason: str) -> str:
    return REASONS.get(reason, UNKNOWN_REASON)


def action_in_words(action: str) -> str:
    return ACTIONS.get(action, UNKNOWN_ACTION)


def categories_in_words(categories: list[str]) -> str:
    return ", ".join(CATEGORIES.get(c, c) for c in categories)
