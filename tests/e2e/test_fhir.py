"""The FHIR R4 facade of the running consent service, read by a FHIR client library nobody here
wrote (fhirpy) and validated by two FHIR model libraries."""

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.consent import Consent
from fhirclient.models.consent import Consent as StrictConsent
from fhirpy import AsyncFHIRClient
from fhirpy.base.exceptions import ResourceNotFound

from contracts.fhir import person_identifier
from contracts.person import normalize_person_id

REGION, ALINGSAS, LERUM = "region-14", "kommun-1489", "kommun-1441"


def fhir_client(client, principal: str) -> AsyncFHIRClient:
    token = client.info["tokens"][principal]["coordinator"]
    return AsyncFHIRClient(client.url("consent", "/fhir"), authorization=f"Bearer {token}")


async def test_a_fhir_client_reads_a_recorded_consent_and_a_non_party_cannot(client, person):
    granted = await client.grant(REGION, person, [REGION, ALINGSAS], excluded_categories=["treatment"])

    resource = await fhir_client(client, ALINGSAS).reference("Consent", granted["id"]).to_resource()

    raw = resource.serialize()
    StrictConsent(raw, strict=True)
    consent = Consent.model_validate(raw)
    assert consent.status == "active"
    assert consent.patient.identifier.value == normalize_person_id(person)
    assert consent.provision.provision[0].type == "deny"
    try:
        await fhir_client(client, LERUM).reference("Consent", granted["id"]).to_resource()
    except ResourceNotFound:
        pass
    else:
        raise AssertionError("Lerum, not a party, read the consent")


async def test_a_person_s_consents_are_searched_by_post_with_the_personnummer_in_the_body(client, person):
    """The person may have a samordningsnummer (one in ten of the fixture's): the search names
    the identifier system the number belongs to."""
    granted = await client.grant(REGION, person, [REGION, ALINGSAS])
    token = client.info["tokens"][REGION]["coordinator"]
    identifier = person_identifier(person)

    response = await client.http.post(
        client.url("consent", "/fhir/Consent/_search"),
        data={"patient:identifier": f"{identifier['system']}|{identifier['value']}"},
        headers={"Authorization": f"Bearer {token}"},
    )

    assert response.status_code == 200, response.text
    bundle = Bundle.model_validate(response.json())
    assert [entry.resource.id for entry in bundle.entry] == [granted["id"]]
