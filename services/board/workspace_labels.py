"""Every word the workspace's forms show, in Swedish, in one place: a label and a help text for every
field of every event type staff may register (tests/unit/test_workspace_forms.py checks that none
is missing), the values of the catalogue's enumerations, the consent categories, and the gate's
reasons for withholding an event, in words a person understands."""

# (label, help text) by field name; a field whose name means different things in two types is
# given per type in FIELDS_BY_TYPE, which wins.
FIELDS: dict[str, tuple[str, str]] = {
    "unit": ("Enhet", "Enhetens HSA-id eller organisationens id för enheten."),
    "planned_at": ("Planerad tid", "När besöket skulle ha ägt rum."),
    "visit_kind": ("Typ av besök", "Till exempel LARO-besök eller läkarbesök (frivilligt)."),
    "sample_type": ("Provtyp", "Vilket slags prov som togs."),
    "substances": ("Substanser", "En substans per rad, till exempel amfetamin."),
    "sampled_at": ("Provtagningstid", "När provet togs."),
    "ward": ("Avdelning", "Avdelningen där personen vårdas."),
    "admitted_at": ("Inskriven", "När personen skrevs in i slutenvården."),
    "expected_date": ("Beräknat utskrivningsdatum", "Det datum utskrivningen planeras till."),
    "ready_at": ("Utskrivningsklar", "När personen bedömdes utskrivningsklar."),
    "discharged_from": ("Utskriven från", "Avdelningen eller enheten personen skrevs ut från."),
    "completed_on": ("Utskrivningsdatum", "Den dag personen skrevs ut."),
    "treatment_id": ("Behandlingens id", "Behandlingens id i ert eget system (inget personnummer)."),
    "treatment_kind": ("Typ av behandling", "Vilket slags behandling det gäller."),
    "started_on": ("Startdatum", "Den dag behandlingen började."),
    "goal": ("Mål", "Behandlingens mål, med personens egna ord om möjligt (frivilligt)."),
    "ended_on": ("Slutdatum", "Den dag det avslutades."),
    "reason": ("Anledning", "Kort, utan personnummer eller andra personers uppgifter (frivilligt)."),
    "outcome": ("Beslut", "Vad metadonkonferensen beslutade."),
    "decided_on": ("Beslutsdatum", "Den dag beslutet fattades."),
    "referred_on": ("Anmälningsdatum", "Den dag anmälan gjordes."),
    "instrument": ("Instrument", "Vilket skattningsinstrument som användes."),
    "score": ("Poäng", "Den totala poängen, ett heltal."),
    "assessed_on": ("Skattningsdatum", "Den dag skattningen gjordes."),
    "intervention_id": ("Insatsens id", "Insatsens id i ert eget system (inget personnummer)."),
    "intervention_kind": ("Typ av insats", "Vilket slags insats det gäller."),
    "missed_on": ("Datum", "Den dag personen uteblev."),
    "starts_on": ("Startdatum", "Den dag insatsen börjar (frivilligt)."),
    "ends_on": ("Slutdatum", "Den dag insatsen upphör."),
    "meeting_at": ("Mötestid", "När SIP-mötet hålls."),
    "location": ("Plats", "Var mötet hålls, eller att det är digitalt (frivilligt)."),
    "goals": ("Mål", "Planens mål, ett per rad, gärna med personens egna ord."),
    "responsibilities": ("Vem gör vad", "En rad per huvudman och uppgift."),
    "next_follow_up": ("Nästa uppföljning", "Datum då planen följs upp nästa gång."),
    "requested_on": ("Begärt datum", "Den dag mötet begärdes."),
    "ratings": ("Skattningar", "En skattning per rad, som namn: värde (0–10), till exempel Mående: 6."),
    "rated_on": ("Skattningsdatum", "Den dag personen skattade."),
    "opened_on": ("Startdatum", "Den dag kontakten inleddes."),
    "referral_source": ("Remittent", "Hur personen kom i kontakt med er."),
    "closed_on": ("Avslutsdatum", "Den dag kontakten avslutades."),
    "party": ("Huvudman", "Vilken huvudman som gör uppgiften."),
    "task": ("Uppgift", "Vad huvudmannen gör."),
}

FIELDS_BY_TYPE: dict[tuple[str, str], tuple[str, str]] = {
    ("intervention.ending", "ends_on"): ("Upphör", "Den dag insatsen upphör."),
    ("intervention.decided", "ends_on"): ("Slutdatum", "Den dag insatsen upphör (frivilligt)."),
    ("treatment.discharge_group_referral", "reason"): ("Anledning", "Varför personen anmäls (frivilligt)."),
    ("careplanning.requested", "reason"): ("Anledning", "Varför ett vårdplaneringsmöte behövs."),
}

# the enumerations' values, by field name
VALUES: dict[str, dict[str, str]] = {
    "sample_type": {"urine": "Urin", "blood": "Blod", "b-peth": "B-PEth", "other": "Annat"},
    "instrument": {"AUDIT": "AUDIT", "DUDIT": "DUDIT", "MADRS-S": "MADRS-S", "FREDA": "FREDA", "other": "Annat"},
    "intervention_kind": {
        "boendestod": "Boendestöd",
        "behandling": "Behandling",
        "sysselsattning": "Sysselsättning",
        "ekonomiskt_bistand": "Ekonomiskt bistånd",
        "other": "Annat",
    },
    "discharged_from": {"ward": "Vårdavdelning", "laro_programme": "LARO-mottagning"},
    "outcome": {"accepted": "Antagen", "rejected": "Ej antagen", "remanded": "Återremitterad"},
    "treatment_kind": {
        "laro": "LARO",
        "abstinence": "Abstinensbehandling",
        "psychiatric": "Psykiatrisk behandling",
        "addiction": "Beroendebehandling",
        "other": "Annan",
    },  # fmt: skip
    "referral_source": {
        "self": "Egen ansökan",
        "vardcentral": "Vårdcentral",
        "socialtjanst": "Socialtjänst",
        "other": "Annan",
    },  # fmt: skip
}

CATEGORIES: dict[str, str] = {
    "attendance": "Närvaro (uteblivna besök och insatser)",
    "test_results": "Provsvar och skattningar",
    "care_transitions": "In- och utskrivning i slutenvården",
    "treatment": "Behandling",
    "interventions": "Insatser från socialtjänsten",
    "coordination": "Samordning (SIP, vårdplanering, kontakt)",
}

FORMS = {"written": "Skriftligt", "verbal": "Muntligt"}

STATUSES = {"active": "Gäller", "pending": "Börjar gälla senare", "expired": "Har löpt ut", "revoked": "Återkallat"}

HISTORY = {"granted": "Lämnat", "revoked": "Återkallat", "expiring": "Löper snart ut", "expired": "Har löpt ut"}

# the gate's reasons (services/consent/domain.py Reason), as the person hears them
WITHHELD = {
    "no_consent": "inget samtycke omfattar mottagaren",
    "consent_revoked": "samtycket är återkallat",
    "consent_not_active": "samtycket gäller inte ännu eller inte längre",
    "event_outside_validity": "händelsen ligger utanför samtyckets giltighetstid",
    "category_not_covered": "samtycket omfattar inte den sortens uppgifter",
    "excluded_by_person": "personen har undantagit det",
}

# the APIs' field messages most often seen, in Swedish (others are shown as they come)
MESSAGES = {
    "Field required": "Fyll i fältet.",
    "field required": "Fyll i fältet.",
    "String should have at least 1 character": "Fyll i fältet.",
    "List should have at least 1 item after validation, not 0": "Fyll i minst en rad.",
    "Input should be a valid date": "Ange ett datum (ÅÅÅÅ-MM-DD).",
    "Input should be a valid datetime": "Ange datum och tid.",
    "Input should be a valid integer": "Ange ett heltal.",
    "a consent is valid at most one year after valid_from": "Ett samtycke gäller högst ett år.",
    "must be after valid_from": "Slutdatumet måste komma efter startdatumet.",
    "each principal may be named once": "Ange varje huvudman en gång.",
}


def field_text(event_name: str, field: str) -> tuple[str, str] | None:
    """(label, help) of a field of an event type (by its catalogue name), or None if there is none."""
    return FIELDS_BY_TYPE.get((event_name, field)) or FIELDS.get(field)


def in_swedish(message: str) -> str:
    for english, swedish in MESSAGES.items():
        if message.startswith(english) or message.startswith(f"Value error, {english}"):
            return swedish
    return message
