"""A consent as an HL7 FHIR R4 `Consent` resource, and the person's identifier in HL7 Sweden's
systems: pure functions over `ConsentView`, the same answer the registry's own API gives (the
FHIR routes are a facade, not a second source of truth). docs/integration.md#fhir describes
the profile choices.
"""

import re
from collections.abc import Iterable
from datetime import datetime

from contracts import CATALOGUE
from contracts.fhir import CATEGORY, EVENT_TYPE, HSA_ID, PRINCIPAL, SAMORDNA, person_from_token, person_identifier
from contracts.principals import display_name
from services.consent.consents import ConsentView
from services.runtime.fhir import FHIR_VERSION, FhirError

CONSENT_ID = f"{SAMORDNA}/identifier/consent"
FORM_EXTENSION = f"{SAMORDNA}/StructureDefinition/consent-form"
REVOKED_EXTENSION = f"{SAMORDNA}/StructureDefinition/consent-revoked"
# An HSA-id: the organisation's number with SE in front, a dash and the unit's own part.
_HSA_ID_SHAPE = r"^SE\d{10}-[0-9A-Za-z]+$"

_STATUS = {"active": "active", "pending": "active", "expired": "inactive", "revoked": "inactive"}
_SEARCHABLE_STATUS = {"active", "inactive"}


def parse_person_token(token: str, parameter: str) -> str:
    """The person a search parameter names; a 400 naming the parameter (never the value) if not."""
    try:
        return person_from_token(token)
    except ValueError as exc:
        raise FhirError(400, str(exc), parameter=parameter) from None


def status_filter(value: str) -> str:
    if value not in _SEARCHABLE_STATUS:
        raise FhirError(400, "status is active or inactive", parameter="status")
    return value


def fhir_status(view: ConsentView) -> str:
    """active (also before valid_from) or inactive (revoked or expired)."""
    return _STATUS[view.status]


def consent_resource(view: ConsentView) -> dict:
    """The consent as a FHIR R4 Consent: a patient-privacy opt-in whose base provision permits
    the categories between the parties for the validity, with nested deny provisions for what the
    person does not want shared."""
    resource = {
        "resourceType": "Consent",
        "id": str(view.id),
        "meta": {"lastUpdated": _instant(view.revoked_at or view.recorded_at)},
        "extension": [{"url": FORM_EXTENSION, "valueCode": view.form}],
        "identifier": [{"system": CONSENT_ID, "value": str(view.id)}],
        "status": fhir_status(view),
        "scope": _concept("http://terminology.hl7.org/CodeSystem/consentscope", "patient-privacy", "Privacy Consent"),
        "category": [_concept("http://loinc.org", "59284-0", "Patient Consent")],
        "patient": {"identifier": person_identifier(view.person)},
        "dateTime": _instant(view.recorded_at),
        "performer": [_performer(view)],
        "organization": [_organization(view.recorded_by_principal)],
        "policyRule": _concept("http://terminology.hl7.org/CodeSystem/v3-ActCode", "OPTIN", "opt-in"),
        "provision": _provision(view),
    }
    if view.revoked_at is not None:
        resource["extension"].append({"url": REVOKED_EXTENSION, "valueDateTime": _instant(view.revoked_at)})
    return resource


def search_bundle(views: Iterable[ConsentView], base: str) -> dict:
    entries = [
        {"fullUrl": f"{base}/Consent/{view.id}", "resource": consent_resource(view), "search": {"mode": "match"}}
        for view in views
    ]
    return {"resourceType": "Bundle", "type": "searchset", "total": len(entries), "entry": entries}


def capability_statement(now: datetime) -> dict:
    """What the consent service's FHIR endpoint offers (GET /fhir/metadata)."""
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": _instant(now),
        "kind": "instance",
        "software": {"name": "Samordna consent registry"},
        "implementation": {"description": "Consents recorded in Samordna, read-only"},
        "fhirVersion": FHIR_VERSION,
        "format": ["application/fhir+json"],
        "rest": [
            {
                "mode": "server",
                "security": {
                    "service": [
                        _concept("http://terminology.hl7.org/CodeSystem/restful-security-service", "OAuth", "OAuth")
                    ]
                },
                "resource": [
                    {
                        "type": "Consent",
                        "interaction": [{"code": "read"}, {"code": "search-type"}],
                        "searchParam": [
                            {"name": "patient:identifier", "type": "token", "documentation": "POST _search only"},
                            {"name": "status", "type": "token"},
                        ],
                    }
                ],
            }
        ],
    }


def _provision(view: ConsentView) -> dict:
    base = {
        "type": "permit",
        "period": {"start": _instant(view.valid_from), "end": _instant(view.valid_until)},
        "actor": [
            {
                "role": _concept(
                    "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "IRCP", "information recipient"
                ),
                "reference": _organization(party),
            }
            for party in view.parties
        ],
        "code": [_concept(CATEGORY, category, category) for category in view.categories],
    }
    denials = []
    if view.excluded_categories:
        denials.append({"type": "deny", "code": [_concept(CATEGORY, c, c) for c in view.excluded_categories]})
    if view.excluded_event_types:
        denials.append({"type": "deny", "code": [_event_type(t) for t in view.excluded_event_types]})
    if denials:
        base["provision"] = denials
    return base


def _performer(view: ConsentView) -> dict:
    """Who recorded the consent: by HSA-id when that is what was recorded, else the organisation."""
    if view.recorded_by and re.fullmatch(_HSA_ID_SHAPE, view.recorded_by):
        return {"identifier": {"system": HSA_ID, "value": view.recorded_by}}
    return _organization(view.recorded_by_principal)


def _organization(principal: str) -> dict:
    return {"identifier": {"system": PRINCIPAL, "value": principal}, "display": display_name(principal)}


def _event_type(event_type: str) -> dict:
    return _concept(EVENT_TYPE, event_type, CATALOGUE[event_type].label_sv)


def _concept(system: str, code: str, display: str) -> dict:
    return {"coding": [{"system": system, "code": code, "display": display}]}


def _instant(moment: datetime) -> str:
    return moment.isoformat()
