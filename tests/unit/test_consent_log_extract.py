"""The consent service's part of the log extract, `POST /v1/log-extract`, over ASGI on the service
layer with in-memory stores: the person's decisions the caller's principal may know, the consents
naming it with their history, its own access-log entries; the look itself logged; coordinators only."""

import uuid

import pytest

from tests.unit.fakes_consent import NOW, consent_api

REGION, ALINGSAS, LERUM = "region-14", "kommun-1489", "kommun-1441"
PERSON, OTHER = "19620120-5835", "19121212-1212"
CALLERS = {
    "region": (REGION, "coordinator"), "alingsas": (ALINGSAS, "coordinator"), "lerum": (LERUM, "coordinator"),
    "system": (REGION, "system"), "ops": ("ops", "ops"),
}  # fmt: skip


@pytest.fixture
async def api(tmp_path):
    async with consent_api(tmp_path, CALLERS) as client:
        yield client


def as_(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def decision(pseudonym, sender, recipient, forwarded, reason, event_id=None):
    return {
        "decision_id": uuid.uuid4(), "event_id": event_id or f"e-{uuid.uuid4()}", "person_pseudonym": pseudonym,
        "event_type": "se.samordna.region.visit.missed.v1", "category": "attendance", "sender": sender,
        "recipient": recipient, "forwarded": forwarded, "reason": reason, "basis": "consent" if forwarded else "none",
        "consent_id": None, "legal_reference": None, "event_time": NOW, "decided_at": NOW,
    }  # fmt: skip


async def test_the_extract_answers_what_the_principal_may_know_and_is_logged(api):
    body = {"person": PERSON, "parties": [REGION, ALINGSAS], "valid_from": "2026-11-22", "form": "written"}
    consent = (await api.post("/v1/consents", json=body, headers=as_("region"))).json()
    await api.post(f"/v1/consents/{consent['id']}/revoke", headers=as_("alingsas"))
    other = {**body, "person": OTHER}
    await api.post("/v1/consents", json=other, headers=as_("region"))
    lerum_consent = {**body, "parties": [ALINGSAS, LERUM]}
    await api.post("/v1/consents", json=lerum_consent, headers=as_("lerum"))
    pseudonym, others = api.service.pseudonyms.of("196201205835"), api.service.pseudonyms.of("191212121212")
    api.service.audit.rows += [
        decision(pseudonym, REGION, ALINGSAS, True, "consent", "sent-and-crossed"),
        decision(pseudonym, REGION, None, False, "no_consent", "sent-and-withheld"),
        decision(pseudonym, ALINGSAS, REGION, True, "consent", "received"),
        decision(pseudonym, LERUM, ALINGSAS, False, "no_consent", "withheld-between-others"),
        decision(others, REGION, ALINGSAS, True, "consent", "another-person"),
    ]
    await api.post("/v1/audit/search", json={"person": PERSON}, headers=as_("alingsas"))  # not the region's look

    answer = await api.post("/v1/log-extract", json={"person": PERSON}, headers=as_("region"))

    assert answer.status_code == 200, answer.text
    extract = answer.json()
    assert extract["principal"] == REGION
    assert sorted(d["event_id"] for d in extract["decisions"]) == ["received", "sent-and-crossed", "sent-and-withheld"]
    assert [c["consent"]["id"] for c in extract["consents"]] == [consent["id"]]  # not Lerum's, not another person's
    assert [h["kind"] for h in extract["consents"][0]["history"]] == ["granted", "revoked"]
    assert [a["action"] for a in extract["accesses"]] == ["consent.record"]  # the region's own, newest first
    assert answer.headers["cache-control"] == "no-store"
    last = api.service.access_log.entries[-1]
    assert (last.who.principal, last.action, last.person) == (REGION, "log_extract.read", pseudonym)
    assert last.detail == {"decisions": 3, "consents": 1, "accesses": 1}


@pytest.mark.parametrize("token", ["system", "ops"])
async def test_only_a_coordinator_asks_for_an_extract(api, token):
    answer = await api.post("/v1/log-extract", json={"person": PERSON}, headers=as_(token))
    assert answer.status_code == 403
    assert answer.headers["content-type"].startswith("application/problem+json")


async def test_a_wrong_personnummer_is_named_as_the_field_and_not_echoed(api):
    answer = await api.post("/v1/log-extract", json={"person": "19620120-5836"}, headers=as_("region"))
    assert answer.status_code == 422
    problem = answer.json()
    assert [e["field"] for e in problem["errors"]] == ["person"]
    assert "19620120" not in answer.text
