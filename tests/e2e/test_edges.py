"""What a partner's system sees when it is not who it claims, over the running stack.

The gateway's refusals of a malformed event, a missing or foreign token and so on are unit
tests over ASGI (tests/unit/test_gateway_events.py); what stays here crosses services."""

import pytest

from tests.support.client import event
from tests.support.events import problem_fields as fields

REGION, ALINGSAS = "region-14", "kommun-1489"
VISIT_MISSED = "se.samordna.region.visit.missed.v1"


async def test_a_coordinator_of_another_principal_cannot_post_events_and_a_system_cannot_record_consents(
    client, person
):
    # a coordinator posts through the workspace to their own principal's gateway only
    posted = await client.http.post(
        client.url(REGION, "/v1/events"),
        json=event(VISIT_MISSED, person),
        headers={"Authorization": f"Bearer {client.info['tokens'][ALINGSAS]['coordinator']}"},
    )
    consent = await client.http.post(
        client.url("consent", "/v1/consents"),
        json={"person": person, "parties": [REGION, ALINGSAS], "valid_from": "2026-11-22", "form": "written"},
        headers={"Authorization": f"Bearer {client.info['tokens'][REGION]['system']}"},
    )

    assert posted.status_code == consent.status_code == 403


async def test_a_consent_longer_than_a_year_is_refused_naming_valid_until(client, person):
    response = await client.http.post(
        client.url("consent", "/v1/consents"),
        json={
            "person": person,
            "parties": [REGION, ALINGSAS],
            "valid_from": "2026-11-22",
            "valid_until": "2027-11-23",
            "form": "written",
        },
        headers={"Authorization": f"Bearer {client.info['tokens'][REGION]['coordinator']}"},
    )

    # one refusal through the running service, as a partner sees it (the rest: tests/unit/test_consent_api.py)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "https://samordna.se/problems/invalid-request"
    assert "valid_until" in fields(response)


async def test_a_consent_search_lists_the_persons_consents_without_the_number_in_the_url(client, person):
    granted = await client.grant(REGION, person, [REGION, ALINGSAS])

    response = await client.http.post(
        client.url("consent", "/v1/consents/search"),
        json={"person": person},
        headers={"Authorization": f"Bearer {client.info['tokens'][ALINGSAS]['coordinator']}"},
    )

    assert response.status_code == 200
    assert [c["id"] for c in response.json()["consents"]] == [granted["id"]]


@pytest.mark.parametrize("service", ["consent", "board", REGION, ALINGSAS, "kommun-1441"])
async def test_every_service_is_healthy_and_ready(client, service):
    health = await client.http.get(client.url(service, "/healthz"))
    ready = await client.http.get(client.url(service, "/readyz"))

    assert health.status_code == 200
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"postgres": True, "kafka": True}
