"""An event crosses from one principal to another through the consent gate, or is withheld
with a reason on record. The whole stack runs as separate processes on real Kafka and PostgreSQL."""

from tests.support.client import event, eventually

REGION, ALINGSAS, LERUM = "region-14", "kommun-1489", "kommun-1441"
VISIT_MISSED = "se.samordna.region.visit.missed.v1"
INTERVENTION_DECIDED = "se.samordna.municipality.intervention.decided.v1"


async def decisions_for(client, principal, person, event_id, count=1):
    entries = await eventually(
        lambda: client.audit(principal, person),
        lambda entries: len([e for e in entries if e["event_id"] == event_id]) >= count,
    )
    return [e for e in entries if e["event_id"] == event_id]


async def test_an_event_covered_by_consent_reaches_the_named_municipality_only(client, person):
    consent = await client.grant(REGION, person, [REGION, ALINGSAS])
    body = event(VISIT_MISSED, person)

    response = await client.post_event(REGION, body)

    assert response.status_code == 202, response.text
    assert response.json()["id"] == body["id"]
    inbox = await eventually(lambda: client.inbox_ids(ALINGSAS), lambda ids: body["id"] in ids)
    assert body["id"] in inbox
    [decision] = await decisions_for(client, REGION, person, body["id"])
    assert decision["recipient"] == ALINGSAS
    assert decision["forwarded"] is True
    assert decision["consent_id"] == consent["id"]
    assert body["id"] not in await client.inbox_ids(LERUM)


async def test_the_delivered_event_carries_the_sender_set_by_the_gateway(client, person):
    await client.grant(REGION, person, [REGION, ALINGSAS])
    body = event(VISIT_MISSED, person)

    await client.post_event(REGION, body)

    page = await eventually(
        lambda: client.inbox(ALINGSAS), lambda page: any(i["event"]["id"] == body["id"] for i in page["events"])
    )
    [item] = [i for i in page["events"] if i["event"]["id"] == body["id"]]
    assert item["event"]["principal"] == REGION
    assert item["event"]["category"] == "attendance"
    assert item["event"]["subject"].replace("-", "") == person.replace("-", "")


async def test_an_event_from_a_municipality_reaches_the_region(client, person):
    await client.grant(ALINGSAS, person, [REGION, ALINGSAS])
    body = event(INTERVENTION_DECIDED, person)

    assert (await client.post_event(ALINGSAS, body)).status_code == 202

    inbox = await eventually(lambda: client.inbox_ids(REGION), lambda ids: body["id"] in ids)
    assert body["id"] in inbox


async def test_without_consent_nothing_crosses_and_the_audit_says_why(client, person):
    body = event(VISIT_MISSED, person)

    assert (await client.post_event(REGION, body)).status_code == 202

    [decision] = await decisions_for(client, REGION, person, body["id"])
    assert decision["forwarded"] is False
    assert decision["reason"] == "no_consent"
    assert decision["consent_id"] is None
    assert body["id"] not in await client.inbox_ids(ALINGSAS)


async def test_a_consent_for_another_municipality_does_not_open_this_one(client, person):
    await client.grant(REGION, person, [REGION, LERUM])
    body = event(VISIT_MISSED, person)

    await client.post_event(REGION, body)

    [decision] = await decisions_for(client, REGION, person, body["id"])
    assert decision["recipient"] == LERUM
    assert body["id"] not in await client.inbox_ids(ALINGSAS)


async def test_after_a_revocation_has_returned_a_new_event_does_not_cross(client, person):
    consent = await client.grant(REGION, person, [REGION, ALINGSAS])
    before = event(VISIT_MISSED, person)
    await client.post_event(REGION, before)
    await eventually(lambda: client.inbox_ids(ALINGSAS), lambda ids: before["id"] in ids)

    revoked = await client.revoke(ALINGSAS, consent["id"])
    after = event(VISIT_MISSED, person)
    await client.post_event(REGION, after)

    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["status"] == "revoked"
    [decision] = await decisions_for(client, REGION, person, after["id"])
    assert decision["forwarded"] is False
    assert decision["reason"] == "consent_revoked"
    assert after["id"] not in await client.inbox_ids(ALINGSAS)


async def test_an_excluded_category_does_not_cross(client, person):
    await client.grant(REGION, person, [REGION, ALINGSAS], excluded_categories=["attendance"])
    body = event(VISIT_MISSED, person)

    await client.post_event(REGION, body)

    [decision] = await decisions_for(client, REGION, person, body["id"])
    assert (decision["forwarded"], decision["reason"]) == (False, "excluded_by_person")


async def test_the_same_event_posted_twice_is_accepted_once(client, person):
    await client.grant(REGION, person, [REGION, ALINGSAS])
    body = event(VISIT_MISSED, person)

    first = await client.post_event(REGION, body)
    second = await client.post_event(REGION, body)

    assert first.status_code == second.status_code == 202
    assert first.json() == second.json()
    later = event(VISIT_MISSED, person)
    await client.post_event(REGION, later)
    inbox = await eventually(lambda: client.inbox_ids(ALINGSAS), lambda ids: later["id"] in ids)
    assert inbox.count(body["id"]) == 1
