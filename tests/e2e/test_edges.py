"""What a partner's system sees when it sends something wrong, or is not who it claims."""

import httpx
import pytest

from tests.support.client import event

REGION, ALINGSAS = "region-14", "kommun-1489"
VISIT_MISSED = "se.samordna.region.visit.missed.v1"


def fields(response: httpx.Response) -> set[str]:
    return {error["field"] for error in response.json()["errors"]}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"subject": "19121212-1213"}, "subject"),
        ({"type": "se.samordna.region.visit.vanished.v1"}, "type"),
        ({"type": "se.samordna.region.visit.missed.v9"}, "type"),
        ({"time": "2026-11-01T10:00:00"}, "time"),
        ({"specversion": "0.3"}, "specversion"),
        ({"category": "treatment"}, "category"),
        ({"principal": ALINGSAS}, "principal"),
        ({"type": "se.samordna.municipality.intervention.missed.v1"}, "type"),
    ],
)
async def test_a_malformed_event_gets_422_naming_the_field(client, person, change, field):
    response = await client.post_event(REGION, {**event(VISIT_MISSED, person), **change})

    assert response.status_code == 422, response.text
    assert field in fields(response)


async def test_a_payload_error_names_the_field_inside_data(client, person):
    body = event(VISIT_MISSED, person)
    body["data"] = {k: v for k, v in body["data"].items() if k != "unit"}

    response = await client.post_event(REGION, body)

    assert response.status_code == 422
    assert "data.unit" in fields(response)


async def test_an_error_never_echoes_the_personnummer(client, person):
    response = await client.post_event(REGION, {**event(VISIT_MISSED, person), "time": "not a time"})

    assert response.status_code == 422
    assert person not in response.text and person.replace("-", "") not in response.text


async def test_a_body_that_is_not_json_gets_422(client):
    response = await client.post_event(REGION, b"{not json")

    assert response.status_code == 422
    assert fields(response) == {"body"}


async def test_an_oversized_event_gets_413(client, person):
    body = event(VISIT_MISSED, person)
    body["data"]["unit"] = "x" * 70_000

    response = await client.post_event(REGION, body)

    assert response.status_code == 413


async def test_no_token_or_an_unknown_token_gets_401(client, person):
    url = client.url(REGION, "/v1/events")
    missing = await client.http.post(url, json=event(VISIT_MISSED, person))
    unknown = await client.http.post(url, json=event(VISIT_MISSED, person), headers={"Authorization": "Bearer nope"})

    assert missing.status_code == unknown.status_code == 401


async def test_another_principals_token_gets_403(client, person):
    url = client.url(REGION, "/v1/events")
    headers = {"Authorization": f"Bearer {client.info['tokens'][ALINGSAS]['system']}"}

    posted = await client.http.post(url, json=event(VISIT_MISSED, person), headers=headers)
    inbox = await client.http.get(client.url(REGION, "/v1/inbox"), headers=headers)

    assert posted.status_code == inbox.status_code == 403


async def test_a_coordinator_cannot_post_events_and_a_system_cannot_record_consents(client, person):
    posted = await client.post_event(REGION, event(VISIT_MISSED, person), role="coordinator")
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

    assert response.status_code == 422
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
