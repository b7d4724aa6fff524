"""FHIR R4 routes of the consent service (`/fhir`): read a Consent, search a person's consents,
the CapabilityStatement. Thin, like services/consent/api.py: the same service layer, the same
access rule (a principal sees the consents that name it), errors as OperationOutcome. Its staff
(role `coordinator`) and its systems (role `system`: an integration platform that answers a
journal's "may we share?") read; each read and search is in the access log, a system's as one."""

from datetime import UTC, datetime
from uuid import UUID

from fastapi import APIRouter, Request

from services.consent.deps import ConsentReader, ConsentsDep
from services.consent.fhir import (
    capability_statement,
    consent_resource,
    fhir_status,
    parse_person_token,
    search_bundle,
    status_filter,
)
from services.runtime.fhir import FhirError, FhirResponse, FhirRoute, search_parameters
from services.runtime.openapi import fhir_answers

router = APIRouter(prefix="/fhir", route_class=FhirRoute, tags=["FHIR R4"])

PATIENT = ("patient:identifier", "patient.identifier")
_SEARCH_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "patient:identifier": {"type": "string", "description": "<system>|<12 digits>"},
                        "patient.identifier": {"type": "string", "description": "the same, chained"},
                        "status": {"enum": ["active", "inactive"]},
                    },
                }
            }
        },
    }
}


@router.get("/metadata", response_class=FhirResponse, responses=fhir_answers("CapabilityStatement"))
async def metadata() -> FhirResponse:
    return FhirResponse(capability_statement(datetime.now(UTC)))


@router.get("/Consent/{consent_id}", response_class=FhirResponse, responses=fhir_answers("Consent", 404))
async def read_consent(consent_id: str, consents: ConsentsDep, caller: ConsentReader) -> FhirResponse:
    """One consent naming the caller's principal; any other id is not found (the same answer)."""
    try:
        wanted = UUID(consent_id)
    except ValueError:
        raise FhirError(404, "no Consent with this id", code="not-found") from None
    return FhirResponse(consent_resource(await consents.by_id(caller, wanted)))


@router.get("/Consent", status_code=400, response_class=FhirResponse, responses=fhir_answers(None, 400, status=400))
async def search_consent_in_url(caller: ConsentReader) -> FhirResponse:
    raise FhirError(
        400,
        "search Consent by POST /fhir/Consent/_search with a form-encoded body: a patient's identifier "
        "is never taken in a URL",
        code="not-supported",
    )


@router.post(
    "/Consent/_search",
    response_class=FhirResponse,
    responses=fhir_answers("Bundle", 400, 415),
    openapi_extra=_SEARCH_BODY,
)
async def search_consent(request: Request, consents: ConsentsDep, caller: ConsentReader) -> FhirResponse:
    """The consents of one person that name the caller's principal, as a searchset Bundle."""
    parameters = await search_parameters(request, (*PATIENT, "status"))
    named = [name for name in PATIENT if name in parameters]
    if len(named) != 1:
        raise FhirError(400, "name the patient once, by patient:identifier=<system>|<number>", code="required")
    person = parse_person_token(parameters[named[0]], named[0])
    views = await consents.of_person(caller, person)
    if "status" in parameters:
        wanted = status_filter(parameters["status"])
        views = [v for v in views if fhir_status(v) == wanted]
    return FhirResponse(search_bundle(views, str(request.base_url).rstrip("/") + "/fhir"))
