"""The v1 event catalogue: every event type, its consent category, who may send it, its payload."""

import difflib
from dataclasses import dataclass
from enum import StrEnum

from pydantic import BaseModel

from contracts import payloads as p


class Category(StrEnum):
    ATTENDANCE = "attendance"
    TEST_RESULTS = "test_results"
    CARE_TRANSITIONS = "care_transitions"
    TREATMENT = "treatment"
    INTERVENTIONS = "interventions"
    COORDINATION = "coordination"
    CONSENT = "consent"


class SenderKind(StrEnum):
    REGION = "region"
    MUNICIPALITY = "municipality"
    EITHER = "joint"
    CONSENT = "consent"


@dataclass(frozen=True)
class EventSpec:
    type: str
    name: str
    category: Category
    sender: SenderKind
    payload: type[BaseModel]
    label_sv: str
    needs_action: bool = False


class UnknownEventType(ValueError):
    """The type is not in the v1 catalogue."""


def _spec(sender: SenderKind, name: str, category: Category, payload, label_sv: str, needs_action=False) -> EventSpec:
    # consent.granted is se.samordna.consent.granted.v1, not ...consent.consent.granted.v1
    namespace = "se.samordna" if sender is SenderKind.CONSENT else f"se.samordna.{sender}"
    return EventSpec(f"{namespace}.{name}.v1", name, category, sender, payload, label_sv, needs_action)


R, M, J, C = SenderKind.REGION, SenderKind.MUNICIPALITY, SenderKind.EITHER, SenderKind.CONSENT
_SPECS = [
    _spec(R, "visit.missed", Category.ATTENDANCE, p.VisitMissed, "Uteblivet besök"),
    _spec(R, "sample.positive", Category.TEST_RESULTS, p.SamplePositive, "Positivt prov"),
    _spec(R, "admission.notified", Category.CARE_TRANSITIONS, p.AdmissionNotified, "Inskrivningsmeddelande", True),
    _spec(R, "discharge.planned", Category.CARE_TRANSITIONS, p.DischargePlanned, "Planerad utskrivning", True),
    _spec(R, "discharge.ready", Category.CARE_TRANSITIONS, p.DischargeReady, "Utskrivningsklar"),
    _spec(R, "discharge.completed", Category.CARE_TRANSITIONS, p.DischargeCompleted, "Utskriven"),
    _spec(R, "treatment.started", Category.TREATMENT, p.TreatmentStarted, "Behandling påbörjad"),
    _spec(R, "treatment.ended", Category.TREATMENT, p.TreatmentEnded, "Behandling avslutad"),
    _spec(R, "treatment.conference_decided", Category.TREATMENT, p.ConferenceDecided, "Beslut i metadonkonferensen"),
    _spec(
        R,
        "treatment.discharge_group_referral",
        Category.TREATMENT,
        p.DischargeGroupReferral,
        "Anmälan till utskrivningsgruppen",
        True,
    ),
    _spec(R, "assessment.recorded", Category.TEST_RESULTS, p.AssessmentRecorded, "Skattning"),
    _spec(M, "intervention.missed", Category.ATTENDANCE, p.InterventionMissed, "Uteblivet deltagande i insats"),
    _spec(M, "intervention.decided", Category.INTERVENTIONS, p.InterventionDecided, "Beslut om insats"),
    _spec(M, "intervention.ending", Category.INTERVENTIONS, p.InterventionEnding, "Insats upphör"),
    _spec(M, "intervention.ended", Category.INTERVENTIONS, p.InterventionEnded, "Insats avslutad"),
    _spec(J, "sip.requested", Category.COORDINATION, p.SipRequested, "Kallelse till SIP", True),
    _spec(J, "sip.plan_updated", Category.COORDINATION, p.SipPlanUpdated, "SIP upprättad/reviderad"),
    _spec(J, "careplanning.requested", Category.COORDINATION, p.CareplanningRequested, "Begäran om vårdplaneringsmöte"),
    _spec(J, "selfrating.recorded", Category.COORDINATION, p.SelfratingRecorded, "Självskattning"),
    _spec(J, "contact.opened", Category.COORDINATION, p.ContactOpened, "Kontakt inledd"),
    _spec(J, "contact.closed", Category.COORDINATION, p.ContactClosed, "Avslut"),
    _spec(C, "consent.granted", Category.CONSENT, p.ConsentChanged, "Samtycke lämnat"),
    _spec(C, "consent.revoked", Category.CONSENT, p.ConsentChanged, "Samtycke återkallat"),
    _spec(C, "consent.expiring", Category.CONSENT, p.ConsentChanged, "Samtycke löper ut"),
    _spec(C, "consent.expired", Category.CONSENT, p.ConsentChanged, "Samtycke har löpt ut"),
]

CATALOGUE: dict[str, EventSpec] = {spec.type: spec for spec in _SPECS}


def spec_for(event_type: str) -> EventSpec:
    spec = CATALOGUE.get(event_type)
    if spec is not None:
        return spec
    unversioned = event_type.rsplit(".v", 1)[0]
    versions = [t for t in CATALOGUE if t.rsplit(".v", 1)[0] == unversioned]
    if versions:
        raise UnknownEventType(f"unknown version of {unversioned}; known: {', '.join(versions)}")
    close = difflib.get_close_matches(event_type, CATALOGUE, n=1)
    hint = f"; did you mean {close[0]}?" if close else ""
    raise UnknownEventType(f"unknown event type {event_type!r}{hint}")


def may_send(spec: EventSpec, principal: str) -> bool:
    """Region types come from a region, municipality types from a municipality, joint from either."""
    if spec.sender is SenderKind.EITHER:
        return principal.startswith(("region-", "kommun-"))
    if spec.sender is SenderKind.REGION:
        return principal.startswith("region-")
    if spec.sender is SenderKind.MUNICIPALITY:
        return principal.startswith("kommun-")
    return False
