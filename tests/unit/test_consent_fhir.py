"""The consent service's FHIR R4 facade over ASGI, its service layer over in-memory stores:
every resource and bundle it answers is parsed by two FHIR model libraries (fhir.resources'
R4B models and SMART's fhirclient R4 models, strictly), it says what the registry's own API
says, and its errors are OperationOutcomes that never echo a personnummer."""

import uuid
from datetime import timedelta

import httpx
import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.consent import Consent
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhirclient.models.bundle import Bundle as StrictBundle
from fhirclient.models.consent import Consent as StrictConsent
from fhirclient.models.fhirabstractbase import FHIRValidationError
from fhirclient.models.operationoutcome import OperationOutcome as StrictOutcome
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from contracts.fhir import PERSONNUMMER, SAMORDNINGSNUMMER
from services.consent.fhir import consent_resource
from tests.unit.fakes_consent import NOW, consent_api

REGION, ALINGSAS, LERUM = "region-14", "kommun-1489", "kommun-1441"
PERSON, PERSON_12 = "19620120-5835", "196201205835"
COORDINATION = "19620180-5832"  # a samordningsnummer: day of birth + 60
VISIT = "se.samordna.region.visit.missed.v1"
CALLERS = {
    "region": (REGION, "coordinator"), "alingsas": (ALINGSAS, "coordinator"), "lerum": (LERUM, "coordinator"),
    "alingsas-system": (ALINGSAS, "system"), "region-ops": (REGION, "ops"),
}  # fmt: skip
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture
async def api(tmp_path):
    async with consent_api(tmp_path, CALLERS) as client:
        yield client


def as_(token: str, **more) -> dict:
    return {"Authorization": f"Bearer {token}"} | more


async def grant(api, person=PERSON, **changes) -> dict:
    body = {"person": person, "parties": [REGION, ALINGSAS], "valid_from": "2026-11-22", "form": "written"} | changes
    response = await api.post("/v1/consents", json=body, headers=as_("region"))
    assert response.status_code == 201, response.text
    return response.json()


def parsed_consent(resource: dict) -> Consent:
    """The resource as both libraries read it; either raising fails the test."""
    StrictConsent(resource, strict=True)
    return Consent.model_validate(resource)


async def search(api, token="region", **parameters) -> httpx.Response:  # noqa: S107 (a test token)
    return await api.post("/fhir/Consent/_search", data=parameters, headers=as_(token, **FORM))


# ---- read ------------------------------------------------------------------------------------


async def test_a_consent_reads_as_a_valid_fhir_consent_with_the_registry_s_own_facts(api):
    granted = await grant(
        api, excluded_event_types=[VISIT], excluded_categories=["treatment"], recorded_by="SE2321000131-E000000000001"
    )

    response = await api.get(f"/fhir/Consent/{granted['id']}", headers=as_("alingsas"))

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/fhir+json"
    consent = parsed_consent(response.json())
    assert consent.id == granted["id"] and consent.status == "active"
    assert consent.patient.identifier.system == PERSONNUMMER and consent.patient.identifier.value == PERSON_12
    assert consent.performer[0].identifier.system == "urn:oid:1.2.752.29.4.19"
    permit = consent.provision
    assert permit.type == "permit"
    assert {a.reference.identifier.value for a in permit.actor} == {REGION, ALINGSAS}
    assert {c.coding[0].code for c in permit.code} == set(granted["categories"])
    denied = {c.coding[0].code for p in permit.provision for c in p.code}
    assert denied == {"treatment", VISIT}
    assert all(p.type == "deny" for p in permit.provision)


async def test_a_revoked_consent_is_inactive_and_says_when(api):
    granted = await grant(api)
    api.service.now = NOW + timedelta(hours=1)
    await api.post(f"/v1/consents/{granted['id']}/revoke", headers=as_("alingsas"))

    resource = (await api.get(f"/fhir/Consent/{granted['id']}", headers=as_("region"))).json()

    assert parsed_consent(resource).status == "inactive"
    revoked = [e for e in resource["extension"] if e["url"].endswith("consent-revoked")]
    assert revoked and revoked[0]["valueDateTime"].startswith("2026-11-22T13:00")


async def test_a_consent_that_does_not_name_the_caller_is_not_found_like_one_that_does_not_exist(api):
    granted = await grant(api)

    for consent_id in (granted["id"], str(uuid.uuid4()), "not-a-uuid"):
        response = await api.get(f"/fhir/Consent/{consent_id}", headers=as_("lerum"))
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/fhir+json"
        outcome = response.json()
        OperationOutcome.model_validate(outcome)
        StrictOutcome(outcome, strict=True)
        assert outcome["issue"][0]["code"] == "not-found"


async def test_a_principal_s_system_reads_and_searches_what_names_it_and_ops_does_not(api):
    consent = await grant(api)
    read = await api.get(f"/fhir/Consent/{consent['id']}", headers=as_("alingsas-system"))
    found = await search(api, token="alingsas-system", **{"patient:identifier": f"{PERSONNUMMER}|{PERSON_12}"})
    assert read.status_code == 200 and read.json()["id"] == consent["id"]
    assert found.status_code == 200 and [e["resource"]["id"] for e in found.json()["entry"]] == [consent["id"]]
    assert (await api.get(f"/fhir/Consent/{consent['id']}", headers=as_("region-ops"))).status_code == 403
    assert (
        await search(api, token="region-ops", **{"patient:identifier": f"{PERSONNUMMER}|{PERSON_12}"})
    ).status_code == 403


async def test_without_a_token_the_answer_is_a_401_operation_outcome(api):
    response = await api.get(f"/fhir/Consent/{uuid.uuid4()}")

    assert response.status_code == 401
    assert response.json()["resourceType"] == "OperationOutcome"
    assert response.json()["issue"][0]["code"] == "login"
    assert "www-authenticate" in response.headers


# ---- search ----------------------------------------------------------------------------------


async def test_a_person_s_consents_are_found_by_their_personnummer_in_a_valid_searchset(api):
    mine = await grant(api)
    await grant(api, parties=[REGION, LERUM])  # names the region, not Alingsås
    await grant(api, person="19121212-1212")

    response = await search(api, token="alingsas", **{"patient:identifier": f"{PERSONNUMMER}|{PERSON_12}"})

    assert response.status_code == 200, response.text
    bundle = response.json()
    StrictBundle(bundle, strict=True)
    parsed = Bundle.model_validate(bundle)
    assert parsed.type == "searchset" and parsed.total == 1
    assert [e.resource.id for e in parsed.entry] == [mine["id"]]
    assert parsed.entry[0].fullUrl == f"http://consent/fhir/Consent/{mine['id']}"


async def test_a_samordningsnummer_is_searched_in_its_own_system(api):
    granted = await grant(api, person=COORDINATION)

    found = await search(api, **{"patient.identifier": f"{SAMORDNINGSNUMMER}|196201805832"})
    wrong_system = await search(api, **{"patient.identifier": f"{PERSONNUMMER}|196201805832"})

    assert [e["resource"]["id"] for e in found.json()["entry"]] == [granted["id"]]
    assert found.json()["entry"][0]["resource"]["patient"]["identifier"]["system"] == SAMORDNINGSNUMMER
    assert wrong_system.status_code == 400


async def test_search_by_status_keeps_only_consents_in_that_state(api):
    kept = await grant(api)
    revoked = await grant(api)
    await api.post(f"/v1/consents/{revoked['id']}/revoke", headers=as_("region"))
    token = f"{PERSONNUMMER}|{PERSON_12}"

    active = await search(api, **{"patient:identifier": token, "status": "active"})
    inactive = await search(api, **{"patient:identifier": token, "status": "inactive"})

    assert [e["resource"]["id"] for e in active.json()["entry"]] == [kept["id"]]
    assert [e["resource"]["id"] for e in inactive.json()["entry"]] == [revoked["id"]]


@pytest.mark.parametrize(
    ("parameters", "expression"),
    [
        ({"patient:identifier": f"{PERSONNUMMER}|196201205836"}, "patient:identifier"),  # wrong check digit
        ({"patient:identifier": f"http://example.org/ids|{PERSON_12}"}, "patient:identifier"),
        ({"patient:identifier": PERSON_12}, "patient:identifier"),  # no system
        ({"patient:identifier": f"{PERSONNUMMER}|{PERSON_12}", "status": "revoked"}, "status"),
        ({}, None),
        (
            {"patient:identifier": f"{PERSONNUMMER}|{PERSON_12}", "patient.identifier": f"{PERSONNUMMER}|{PERSON_12}"},
            None,
        ),
        ({"patient:identifier": f"{PERSONNUMMER}|{PERSON_12}", PERSON_12: "x"}, None),  # unknown parameter
    ],
)
async def test_a_bad_search_is_a_400_outcome_naming_the_parameter_never_the_number(api, parameters, expression):
    response = await search(api, **parameters)

    assert response.status_code == 400
    outcome = response.json()
    StrictOutcome(outcome, strict=True)
    issue = outcome["issue"][0]
    assert issue.get("expression") == ([expression] if expression else None)
    assert "19620120" not in response.text and "196201205836" not in response.text


async def test_a_personnummer_is_never_taken_in_a_url(api):
    by_get = await api.get(
        "/fhir/Consent", params={"patient:identifier": f"{PERSONNUMMER}|{PERSON_12}"}, headers=as_("region")
    )
    by_query = await api.post(
        "/fhir/Consent/_search",
        params={"patient:identifier": f"{PERSONNUMMER}|{PERSON_12}"},
        headers=as_("region", **FORM),
    )

    assert by_get.status_code == 400 and by_get.json()["issue"][0]["code"] == "not-supported"
    assert by_query.status_code == 400
    assert PERSON_12 not in by_get.text + by_query.text


async def test_search_takes_only_a_form_encoded_body(api):
    response = await api.post(
        "/fhir/Consent/_search", json={"patient:identifier": f"{PERSONNUMMER}|{PERSON_12}"}, headers=as_("region")
    )

    assert response.status_code == 415
    assert response.json()["resourceType"] == "OperationOutcome"


async def test_the_capability_statement_is_valid_and_lists_consent(api):
    response = await api.get("/fhir/metadata")

    statement = CapabilityStatement.model_validate(response.json())
    assert statement.fhirVersion == "4.0.1"
    assert [r.type for r in statement.rest[0].resource] == ["Consent"]


# ---- the mapping, for any consent --------------------------------------------------------------


def test_the_validators_refuse_a_broken_consent():
    """The two libraries are not taken on trust: an element R4 does not have, a dateTime that is
    not one, and a missing status each fail. (Neither checks codes against their value sets: the
    tests here compare codes themselves.)"""
    valid = {"resourceType": "Consent", "status": "active", "scope": {"text": "x"}, "category": [{"text": "x"}]}
    Consent.model_validate(valid)
    StrictConsent(valid, strict=True)
    for broken in (
        valid | {"revokedAt": "x"},
        valid | {"dateTime": "yesterday"},
        {k: v for k, v in valid.items() if k != "status"},
    ):
        with pytest.raises(ValidationError):
            Consent.model_validate(broken)
        with pytest.raises(FHIRValidationError):
            StrictConsent(broken, strict=True)


CATEGORIES = ["attendance", "test_results", "care_transitions", "treatment", "interventions", "coordination"]


@given(
    categories=st.sets(st.sampled_from(CATEGORIES), min_size=1),
    excluded=st.sets(st.sampled_from(CATEGORIES)),
    excluded_types=st.sets(st.sampled_from([VISIT, "se.samordna.region.sample.positive.v1"])),
    status=st.sampled_from(["active", "pending", "expired", "revoked"]),
    days=st.integers(min_value=1, max_value=366),
    recorded_by=st.one_of(st.none(), st.just("SE2321000131-E000000000001"), st.text(min_size=1, max_size=20)),
)
def test_every_consent_maps_to_a_valid_fhir_consent(categories, excluded, excluded_types, status, days, recorded_by):
    from services.consent.consents import ConsentView

    view = ConsentView(
        id=uuid.uuid4(), person=PERSON_12, parties=[REGION, ALINGSAS], categories=sorted(categories),
        excluded_categories=sorted(excluded), excluded_event_types=sorted(excluded_types), valid_from=NOW,
        valid_until=NOW + timedelta(days=days), form="verbal", recorded_by=recorded_by, recorded_by_principal=REGION,
        recorded_at=NOW, revoked_at=NOW if status == "revoked" else None, status=status,
    )  # fmt: skip
    consent = parsed_consent(consent_resource(view))

    assert consent.status == ("active" if status in ("active", "pending") else "inactive")
    assert consent.provision.period.end > consent.provision.period.start
    denials = consent.provision.provision or []
    assert len(denials) == bool(excluded) + bool(excluded_types)
