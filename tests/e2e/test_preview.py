"""Before a consent is signed, staff can show the person what it would mean."""

from datetime import date, timedelta

from tests.support.client import event, eventually
from tests.support.personnummer import random_person_id

REGION, ALINGSAS, LERUM = "region-14", "kommun-1489", "kommun-1441"


async def preview(client, principal: str, person: str, **proposal) -> list[dict]:
    body = {
        "person": person,
        "parties": [REGION, ALINGSAS],
        "valid_from": (date.today() - timedelta(days=7)).isoformat(),
        "form": "written",
    } | proposal
    response = await client.http.post(
        client.url("consent", "/v1/consents/preview"),
        json=body,
        headers={"Authorization": f"Bearer {client.info['tokens'][principal]['coordinator']}"},
    )
    assert response.status_code == 200, response.text
    return response.json()["events"]


async def test_the_preview_shows_what_would_have_crossed_and_what_the_person_excluded(client, person):
    missed = event("se.samordna.region.visit.missed.v1", person)
    sample = event("se.samordna.region.sample.positive.v1", person)
    for body in (missed, sample):
        await client.post_event(REGION, body)
    await eventually(lambda: client.audit(REGION, person), lambda entries: len(entries) == 2)

    items = await preview(client, REGION, person, excluded_categories=["test_results"])

    by_id = {item["event_id"]: item for item in items}
    assert by_id[missed["id"]]["would_cross_to"] == [ALINGSAS]
    assert by_id[sample["id"]]["would_cross_to"] == []
    assert by_id[sample["id"]]["withheld"] == {ALINGSAS: "excluded_by_person"}
    assert await client.audit(ALINGSAS, person) == [], "a preview records nothing and forwards nothing"


async def test_a_preview_shows_another_principal_nothing_it_has_not_seen(client, person):
    await client.post_event(REGION, event("se.samordna.region.visit.missed.v1", person))
    await eventually(lambda: client.audit(REGION, person), lambda entries: len(entries) == 1)

    assert await preview(client, LERUM, person, parties=[REGION, LERUM]) == []
    assert await preview(client, LERUM, random_person_id(), parties=[REGION, LERUM]) == []
