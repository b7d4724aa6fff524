"""The consent API over ASGI, its service layer over in-memory stores (tests/unit/fakes_consent.py):
validation, refusals as problem details, recording, revoking, history, audit search and preview."""

import uuid
from datetime import timedelta

import pytest

from tests.support.events import problem_fields as fields
from tests.unit.fakes_consent import NOW, FakeConsentService, consent_api

REGION, ALINGSAS, LERUM = "region-14", "kommun-1489", "kommun-1441"
PERSON = "19620120-5835"
VISIT = "se.samordna.region.visit.missed.v1"
SAMPLE = "se.samordna.region.sample.positive.v1"
CALLERS = {
    "region": (REGION, "coordinator"),
    "alingsas": (ALINGSAS, "coordinator"),
    "lerum": (LERUM, "coordinator"),
    "region-system": (REGION, "system"),
    "ops": ("ops", "ops"),
}


@pytest.fixture
def service() -> FakeConsentService:
    return FakeConsentService()


@pytest.fixture
async def api(tmp_path, service):
    async with consent_api(tmp_path, CALLERS, service) as client:
        yield client


def as_(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def proposal(**changes) -> dict:
    return {"person": PERSON, "parties": [REGION, ALINGSAS], "valid_from": "2026-11-22", "form": "written"} | changes


async def grant(api, **changes) -> dict:
    response = await api.post("/v1/consents", json=proposal(**changes), headers=as_("region"))
    assert response.status_code == 201, response.text
    return response.json()


# ---- validation --------------------------------------------------------------------------------


async def test_a_consent_longer_than_a_year_is_refused_naming_valid_until(api):
    response = await api.post("/v1/consents", json=proposal(valid_until="2027-11-23"), headers=as_("region"))

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "https://samordna.se/problems/invalid-request"
    assert fields(response) == {"valid_until"}


@pytest.mark.parametrize("path", ["/v1/consents/preview", "/v1/consents"])
@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"valid_from": "9999-12-31"}, "valid_from"),
        ({"valid_from": "9999-12-31T23:59:59+00:00"}, "valid_from"),
        ({"valid_from": "0001-01-01"}, "valid_from"),
        ({"valid_until": "9999-12-31"}, "valid_until"),
        ({"recorded_by": "HSA\x00"}, "recorded_by"),
        ({"parties": [REGION, "kommun-0000x"]}, "parties.1"),
        ({"parties": [REGION, REGION]}, "parties"),
    ],
)
async def test_a_consent_or_preview_with_an_extreme_date_nul_or_bad_principal_gets_422(
    api, service, path, changes, field
):
    response = await api.post(path, json=proposal(**changes), headers=as_("region"))

    assert response.status_code == 422, response.text
    assert fields(response) == {field}
    assert service.consents.rows == {}


async def test_a_consent_recorded_by_a_personnummer_gets_422_without_echoing_it(api):
    response = await api.post(
        "/v1/consents", json=proposal(recorded_by=PERSON.replace("-", " ")), headers=as_("region")
    )

    assert response.status_code == 422
    assert fields(response) == {"recorded_by"}
    assert PERSON.replace("-", " ") not in response.text and PERSON not in response.text


# ---- who may ----------------------------------------------------------------------------------


async def test_without_a_token_401_and_a_system_or_ops_token_403_as_problem_details(api):
    missing = await api.post("/v1/consents", json=proposal())
    refused = [
        await api.post(path, json={"person": PERSON} if "search" in path else proposal(), headers=as_(token))
        for token in ("region-system", "ops")
        for path in ("/v1/consents", "/v1/audit/search", "/v1/consents/search")
    ]

    assert missing.status_code == 401
    assert missing.headers["content-type"] == "application/problem+json"
    assert {r.status_code for r in refused} == {403}
    assert {r.json()["type"] for r in refused} == {"https://samordna.se/problems/forbidden"}


async def test_a_consent_that_does_not_name_the_recording_principal_gets_403(api, service):
    response = await api.post("/v1/consents", json=proposal(parties=[ALINGSAS, LERUM]), headers=as_("region"))

    assert response.status_code == 403
    body = response.json()
    assert body["detail"] == f"a consent recorded by {REGION} must name {REGION}"
    assert body["type"] == "https://samordna.se/problems/forbidden"
    assert service.consents.rows == {}


async def test_a_consent_that_does_not_name_the_caller_is_not_found_for_it(api):
    consent = await grant(api)
    unknown = uuid.uuid4()

    for path in (f"/v1/consents/{consent['id']}/history", f"/v1/consents/{unknown}/history"):
        response = await api.get(path, headers=as_("lerum"))
        consent_id = path.split("/")[3]
        assert response.status_code == 404
        assert response.json()["detail"] == f"no consent {consent_id} names {LERUM}"
        assert response.json()["type"] == "https://samordna.se/problems/not-found"
        assert fields(response) == {"consent_id"}
    revoke = await api.post(f"/v1/consents/{consent['id']}/revoke", headers=as_("lerum"))
    assert (revoke.status_code, revoke.json()["detail"]) == (404, f"no consent {consent['id']} names {LERUM}")


# ---- recording, searching, revoking ------------------------------------------------------------


async def test_a_granted_consent_is_active_searchable_by_its_parties_and_announced(api, service):
    consent = await grant(api, recorded_by="HSA-123")

    assert (consent["status"], consent["recorded_by_principal"], consent["person"]) == (
        "active",
        REGION,
        "196201205835",
    )
    assert consent["valid_until"].startswith("2027-11-22")
    assert service.wakes == 1 and [kind for _, kind, _ in service.consents.changes] == ["granted"]
    for token, expected in (("alingsas", [consent["id"]]), ("lerum", [])):
        found = await api.post("/v1/consents/search", json={"person": PERSON}, headers=as_(token))
        assert [c["id"] for c in found.json()["consents"]] == expected


async def test_revoking_answers_the_revoked_consent_and_the_history_keeps_every_version(api, service):
    consent = await grant(api)

    revoked = await api.post(f"/v1/consents/{consent['id']}/revoke", headers=as_("alingsas"))
    again = await api.post(f"/v1/consents/{consent['id']}/revoke", headers=as_("region"))
    history = await api.get(f"/v1/consents/{consent['id']}/history", headers=as_("alingsas"))

    assert revoked.status_code == again.status_code == 200
    assert revoked.json()["status"] == again.json()["status"] == "revoked"
    assert [entry["kind"] for entry in history.json()["history"]] == ["granted", "revoked"]
    assert service.consents.changes[-1][1:] == ("revoked", ALINGSAS)


async def test_a_revocation_keeps_its_reason_and_a_reason_holding_a_personnummer_is_refused_naming_it(api, service):
    consent = await grant(api)

    refused = await api.post(
        f"/v1/consents/{consent['id']}/revoke", json={"reason": "se 19620120-5835"}, headers=as_("alingsas")
    )
    still = await api.get(f"/v1/consents/{consent['id']}/history", headers=as_("alingsas"))
    revoked = await api.post(
        f"/v1/consents/{consent['id']}/revoke", json={"reason": "vill inte längre"}, headers=as_("alingsas")
    )

    assert refused.status_code == 422 and "reason" in refused.text and "5835" not in refused.text
    assert [entry["kind"] for entry in still.json()["history"]] == ["granted"]
    assert (revoked.json()["status"], revoked.json()["revocation_reason"]) == ("revoked", "vill inte längre")


# ---- audit and preview -------------------------------------------------------------------------


def decision(service, event_id, event_type, category, recipient, forwarded, reason, hours_ago=1) -> dict:
    return {
        "decision_id": uuid.uuid4(), "event_id": event_id, "event_type": event_type, "category": category,
        "sender": REGION, "recipient": recipient, "forwarded": forwarded, "reason": reason,
        "basis": "consent" if forwarded else "none", "consent_id": None, "legal_reference": None,
        "event_time": NOW - timedelta(hours=hours_ago), "decided_at": NOW,
        "person_pseudonym": service.pseudonyms.of(PERSON.replace("-", "")),
    }  # fmt: skip


async def test_the_audit_search_shows_a_principal_only_what_it_sent_or_received(api, service):
    service.audit.rows += [
        decision(service, "e1", VISIT, "attendance", ALINGSAS, True, "consent"),
        decision(service, "e1", VISIT, "attendance", LERUM, False, "excluded_by_person"),
    ]

    views = {
        token: [(e["event_id"], e["recipient"]) for e in (await api.post(
            "/v1/audit/search", json={"person": PERSON}, headers=as_(token))).json()["entries"]]
        for token in ("region", "alingsas", "lerum")
    }  # fmt: skip

    assert views == {"region": [("e1", ALINGSAS), ("e1", LERUM)], "alingsas": [("e1", ALINGSAS)], "lerum": []}


async def test_the_preview_says_what_would_cross_through_the_service_layer_and_records_nothing(api, service):
    service.audit.rows += [
        decision(service, "sample", SAMPLE, "test_results", None, False, "no_consent", hours_ago=1),
        decision(service, "visit", VISIT, "attendance", None, False, "no_consent", hours_ago=2),
        decision(service, "old", VISIT, "attendance", None, False, "no_consent", hours_ago=24 * 91),
    ]

    response = await api.post(
        "/v1/consents/preview",
        json=proposal(valid_from="2026-11-15", excluded_categories=["test_results"]),
        headers=as_("region"),
    )
    outsider = await api.post("/v1/consents/preview", json=proposal(parties=[REGION, LERUM]), headers=as_("lerum"))

    assert response.status_code == 200, response.text
    items = response.json()["events"]
    assert [i["event_id"] for i in items] == ["visit", "sample"]  # oldest first, none older than 90 days
    assert items[0]["would_cross_to"] == [ALINGSAS] and items[0]["withheld"] == {}
    assert items[1]["would_cross_to"] == [] and items[1]["withheld"] == {ALINGSAS: "excluded_by_person"}
    assert outsider.json() == {"events": []}
    assert service.consents.rows == {} and service.wakes == 0


async def test_readiness_comes_from_the_bootstrap(api):
    response = await api.get("/readyz")

    assert response.json() == {"ready": True, "checks": {"postgres": True, "kafka": True}}
