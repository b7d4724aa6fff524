"""Every look at and change of a person's consents and audit through the consent service's API
is in its access log (PDL 4 kap., HSLF-FS 2016:40): who, which person (by pseudonym, never the
personnummer) and what; and a principal searches only its own entries. Over ASGI, on the
service layer with in-memory stores (tests/unit/fakes_consent.py)."""

import pytest

from contracts.fhir import PERSONNUMMER
from tests.unit.fakes_consent import consent_api

REGION, ALINGSAS, LERUM = "region-14", "kommun-1489", "kommun-1441"
PERSON, OTHER = "19620120-5835", "19121212-1212"
CALLERS = {"region": (REGION, "coordinator"), "alingsas": (ALINGSAS, "coordinator"), "lerum": (LERUM, "coordinator")}


@pytest.fixture
async def api(tmp_path):
    async with consent_api(tmp_path, CALLERS) as client:
        yield client


def as_(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


async def test_each_look_and_change_is_logged_with_the_person_s_pseudonym(api):
    body = {"person": PERSON, "parties": [REGION, ALINGSAS], "valid_from": "2026-11-22", "form": "written"}
    consent = (await api.post("/v1/consents", json=body, headers=as_("region"))).json()
    await api.post("/v1/consents/search", json={"person": PERSON}, headers=as_("alingsas"))
    await api.get(f"/v1/consents/{consent['id']}/history", headers=as_("alingsas"))
    await api.post("/v1/consents/preview", json=body, headers=as_("region"))
    await api.post("/v1/audit/search", json={"person": PERSON}, headers=as_("region"))
    await api.get(f"/fhir/Consent/{consent['id']}", headers=as_("alingsas"))
    await api.post(
        "/fhir/Consent/_search", data={"patient:identifier": f"{PERSONNUMMER}|196201205835"}, headers=as_("region")
    )
    await api.post(f"/v1/consents/{consent['id']}/revoke", headers=as_("alingsas"))

    entries = api.service.access_log.entries
    pseudonym = api.service.pseudonyms.of("196201205835")  # of the canonical form, as stored
    assert [(e.who.principal, e.action) for e in entries] == [
        (REGION, "consent.record"),
        (ALINGSAS, "consent.search"),
        (ALINGSAS, "consent.history"),
        (REGION, "consent.preview"),
        (REGION, "audit.search"),
        (ALINGSAS, "consent.read"),
        (REGION, "consent.search"),
        (ALINGSAS, "consent.revoke"),
    ]
    assert {e.person for e in entries} == {pseudonym}
    assert all(e.who.role == "coordinator" for e in entries)
    assert "196201205835" not in repr(entries) and "19620120" not in repr(entries)


async def test_a_refused_look_is_not_logged_as_one(api):
    body = {"person": PERSON, "parties": [REGION, ALINGSAS], "valid_from": "2026-11-22", "form": "written"}
    consent = (await api.post("/v1/consents", json=body, headers=as_("region"))).json()
    before = len(api.service.access_log.entries)

    refused = await api.get(f"/v1/consents/{consent['id']}/history", headers=as_("lerum"))

    assert refused.status_code == 404
    assert len(api.service.access_log.entries) == before


async def test_a_principal_searches_only_its_own_entries_and_the_search_is_logged(api):
    body = {"person": PERSON, "parties": [REGION, ALINGSAS], "valid_from": "2026-11-22", "form": "written"}
    await api.post("/v1/consents", json=body, headers=as_("region"))
    await api.post("/v1/consents/search", json={"person": OTHER}, headers=as_("alingsas"))

    mine = await api.post("/v1/access-log/search", json={"person": PERSON}, headers=as_("region"))
    theirs = await api.post("/v1/access-log/search", json={}, headers=as_("alingsas"))

    assert mine.status_code == 200
    assert [e["action"] for e in mine.json()["entries"]] == ["access_log.search", "consent.record"]
    assert [e["action"] for e in theirs.json()["entries"]] == ["consent.search"]
    assert PERSON.replace("-", "") not in mine.text
