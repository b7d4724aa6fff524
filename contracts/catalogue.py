"""The v1 event catalogue: every event type, its consent category, who may send it, its payload."""

import difflib
import re
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from pydantic import BaseModel

from contracts import payloads as p
from contracts.principals import is_municipality, is_region


class Category(StrEnum):
    ATTENDANCE = "attendance"
    TEST_RESULTS = "test_results"
    CARE_TRANSITIONS = "care_transitions"
    TREATMENT = "treatment"
    INTERVENTIONS = "interventions"
    COORDINATION = "coordination"
    CONSENT = "consent"


class SenderKind(StrEnum):
    """Who may send a type: a region, a municipality, either of them, or only the consent service."""

    REGION = "region"
    MUNICIPALITY = "municipality"
    EITHER = "either"
    CONSENT = "consent"
    GATEWAY = "gateway"  # made by a principal's gateway on its behalf (receipts), never posted


NAMESPACES = {
    SenderKind.REGION: "se.samordna.region",
    SenderKind.MUNICIPALITY: "se.samordna.municipality",
    SenderKind.EITHER: "se.samordna.joint",
    # the name already says consent: se.samordna.consent.granted.v1
    SenderKind.CONSENT: "se.samordna",
    SenderKind.GATEWAY: "se.samordna",
}


@dataclass(frozen=True)
class EventSpec:
    type: str
    name: str
    category: Category
    sender: SenderKind
    payload: type[BaseModel]
    label_sv: str
    # How soon the recipient must acknowledge it (kvittens), by default; None: no receipt is asked.
    receipt_deadline: timedelta | None = None
    addressed: bool = False  # goes only to the principal named in data.addressee, never to every party

    @property
    def needs_action(self) -> bool:
        return self.receipt_deadline is not None


class UnknownEventType(ValueError):
    """The type is not in the v1 catalogue."""


class ConsentChange(StrEnum):
    """The consent service's lifecycle events on consent.changes, by kind."""

    GRANTED = "granted"
    REVOKED = "revoked"
    EXPIRING = "expiring"
    EXPIRED = "expired"

    @property
    def event_type(self) -> str:
        return f"{NAMESPACES[SenderKind.CONSENT]}.consent.{self.value}.v1"


def _spec(
    sender: SenderKind,
    name: str,
    category: Category,
    payload,
    label_sv: str,
    receipt_deadline: timedelta | None = None,
    addressed=False,
) -> EventSpec:
    return EventSpec(
        f"{NAMESPACES[sender]}.{name}.v1", name, category, sender, payload, label_sv, receipt_deadline, addressed
    )


# The receipt deadlines of the routines: an admission notice and a planned discharge within
# 24 hours, a discharge-group referral and a SIP request within 3 days (docs/sources.md).
DAY, THREE_DAYS = timedelta(hours=24), timedelta(days=3)


R, M, J, C, G = SenderKind.REGION, SenderKind.MUNICIPALITY, SenderKind.EITHER, SenderKind.CONSENT, SenderKind.GATEWAY
_SPECS = [
    _spec(R, "visit.missed", Category.ATTENDANCE, p.VisitMissed, "Uteblivet besök"),
    _spec(R, "sample.positive", Category.TEST_RESULTS, p.SamplePositive, "Positivt prov"),
    _spec(R, "admission.notified", Category.CARE_TRANSITIONS, p.AdmissionNotified, "Inskrivningsmeddelande", DAY),
    _spec(R, "discharge.planned", Category.CARE_TRANSITIONS, p.DischargePlanned, "Planerad utskrivning", DAY),
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
        THREE_DAYS,
    ),
    _spec(R, "assessment.recorded", Category.TEST_RESULTS, p.AssessmentRecorded, "Skattning"),
    _spec(M, "intervention.missed", Category.ATTENDANCE, p.InterventionMissed, "Uteblivet deltagande i insats"),
    _spec(M, "intervention.decided", Category.INTERVENTIONS, p.InterventionDecided, "Beslut om insats"),
    _spec(M, "intervention.ending", Category.INTERVENTIONS, p.InterventionEnding, "Insats upphör"),
    _spec(M, "intervention.ended", Category.INTERVENTIONS, p.InterventionEnded, "Insats avslutad"),
    _spec(J, "sip.requested", Category.COORDINATION, p.SipRequested, "Kallelse till SIP", THREE_DAYS),
    _spec(J, "sip.plan_updated", Category.COORDINATION, p.SipPlanUpdated, "SIP upprättad/reviderad"),
    _spec(J, "careplanning.requested", Category.COORDINATION, p.CareplanningRequested, "Begäran om vårdplaneringsmöte"),
    _spec(J, "selfrating.recorded", Category.COORDINATION, p.SelfratingRecorded, "Självskattning"),
    _spec(J, "contact.opened", Category.COORDINATION, p.ContactOpened, "Kontakt inledd"),
    _spec(J, "contact.closed", Category.COORDINATION, p.ContactClosed, "Avslut"),
    *(
        _spec(C, f"consent.{kind.value}", Category.CONSENT, p.ConsentChanged, label)
        for kind, label in {
            ConsentChange.GRANTED: "Samtycke lämnat",
            ConsentChange.REVOKED: "Samtycke återkallat",
            ConsentChange.EXPIRING: "Samtycke löper ut",
            ConsentChange.EXPIRED: "Samtycke har löpt ut",
        }.items()
    ),
    # kvittens: the recipient's answer to a delivered event, back to its sender only
    _spec(G, "receipt.acknowledged", Category.COORDINATION, p.ReceiptAcknowledged, "Kvittens", addressed=True),
    _spec(G, "receipt.overdue", Category.COORDINATION, p.ReceiptOverdue, "Kvittens försenad", addressed=True),
]

CATALOGUE: dict[str, EventSpec] = {spec.type: spec for spec in _SPECS}


def spec_for(event_type: str) -> EventSpec:
    """The catalogue entry of a full versioned type, or UnknownEventType with the closest known type."""
    spec = CATALOGUE.get(event_type)
    if spec is not None:
        return spec
    shown = _shown(event_type)
    unversioned = _VERSION.sub("", event_type)
    versions = [t for t in CATALOGUE if _VERSION.sub("", t) == unversioned]
    if versions and unversioned != event_type:
        raise UnknownEventType(f"{shown} is not a known version; known: {', '.join(versions)}")
    if versions:
        raise UnknownEventType(f"{shown} has no version; known: {', '.join(versions)}")
    close = _closest(unversioned)
    hint = f"; did you mean {close}?" if close else ""
    raise UnknownEventType(f"unknown event type {shown}{hint}")


def may_send(spec: EventSpec, principal: str) -> bool:
    """Region types come from a region, municipality types from a municipality, joint from either."""
    if spec.sender in (SenderKind.EITHER, SenderKind.GATEWAY):
        return is_region(principal) or is_municipality(principal)
    if spec.sender is SenderKind.REGION:
        return is_region(principal)
    if spec.sender is SenderKind.MUNICIPALITY:
        return is_municipality(principal)
    return False


def sender_rule(spec: EventSpec) -> str:
    """Who may send the type, in words, for error messages."""
    return {
        SenderKind.REGION: "only a region (region-NN) may send it",
        SenderKind.MUNICIPALITY: "only a municipality (kommun-NNNN) may send it",
        SenderKind.EITHER: "a region or a municipality may send it",
        SenderKind.CONSENT: "only the consent service publishes it",
        SenderKind.GATEWAY: "the gateway makes it: acknowledge a delivered event with POST /v1/inbox/{event_id}/ack",
    }[spec.sender]


_VERSION = re.compile(r"\.v\d+$")


def _closest(unversioned: str) -> str | None:
    by_name = [t for t, spec in CATALOGUE.items() if unversioned == spec.name or unversioned.endswith("." + spec.name)]
    if by_name:
        return by_name[0]
    latest = {_VERSION.sub("", t): t for t in CATALOGUE}
    close = difflib.get_close_matches(unversioned, latest, n=1)
    return latest[close[0]] if close else None


def _shown(value: str, limit: int = 120) -> str:
    return repr(value if len(value) <= limit else value[:limit] + "…")
