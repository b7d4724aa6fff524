"""POST /v1/audit/search on the running stack: a coordinator learns of the decisions about events
its principal sent, and of the events forwarded to it — never of one withheld from it."""

from tests.support.client import event, eventually
from tests.support.personnummer import random_person_id

REGION, ALINGSAS, LERUM = "region-14", "kommun-1489", "kommun-1441"
SAMPLE = "se.samordna.region.sample.positive.v1"
VISIT = "se.samordna.region.visit.missed.v1"


def decisions(entries: list[dict]) -> set[tuple[str, str | None, bool, str]]:
    return {(e["event_id"], e["recipient"], e["forwarded"], e["reason"]) for e in entries}


async def settled(client, person: str, count: int) -> list[dict]:
    """The sender's view once the gate has decided `count` times about the person."""
    return await eventually(lambda: client.audit(REGION, person), lambda entries: len(entries) >= count)


async def test_a_sample_the_person_excluded_for_a_party_is_not_in_that_partys_search(client, person):
    await client.grant(REGION, person, [REGION, ALINGSAS])
    await client.grant(REGION, person, [REGION, LERUM], excluded_categories=["test_results"])
    sample, visit = event(SAMPLE, person), event(VISIT, person)
    for body in (sample, visit):
        assert (await client.post_event(REGION, body)).status_code == 202

    sender_view = await settled(client, person, 4)

    # the sender needs to know whether its notice arrived, and where it did not
    assert decisions(sender_view) >= {
        (sample["id"], ALINGSAS, True, "consent"),
        (sample["id"], LERUM, False, "excluded_by_person"),
    }
    assert {(e["event_id"], e["recipient"]) for e in sender_view if e["forwarded"]} >= {
        (visit["id"], ALINGSAS), (visit["id"], LERUM),
    }  # fmt: skip
    lerum_view = await client.audit(LERUM, person)
    assert {(e["event_id"], e["forwarded"]) for e in lerum_view} == {(visit["id"], True)}
    alingsas_view = await client.audit(ALINGSAS, person)
    alingsas_decisions = {(e["event_id"], e["recipient"]) for e in alingsas_view}
    assert alingsas_decisions == {(sample["id"], ALINGSAS), (visit["id"], ALINGSAS)}


async def test_events_after_a_revocation_are_not_in_the_search_of_the_party_the_person_left(client, person):
    consent = await client.grant(REGION, person, [REGION, LERUM])
    before = event(VISIT, person)
    assert (await client.post_event(REGION, before)).status_code == 202
    await settled(client, person, 1)
    assert (await client.revoke(REGION, consent["id"])).status_code == 200
    after = [event(VISIT, person), event(SAMPLE, person)]
    for body in after:
        assert (await client.post_event(REGION, body)).status_code == 202

    sender_view = await settled(client, person, 3)

    withheld = {e["event_id"]: e for e in sender_view if not e["forwarded"]}
    assert set(withheld) == {body["id"] for body in after}
    assert {e["reason"] for e in withheld.values()} == {"consent_revoked"}
    lerum_view = await client.audit(LERUM, person)
    assert [(e["event_id"], e["forwarded"]) for e in lerum_view] == [(before["id"], True)]


async def test_all_withheld_and_no_consent_at_all_give_the_outsider_the_same_answer(client, person):
    await client.grant(REGION, person, [REGION, LERUM], excluded_categories=["test_results"])
    sample = event(SAMPLE, person)
    assert (await client.post_event(REGION, sample)).status_code == 202
    await settled(client, person, 1)

    answers = []
    for someone in (person, random_person_id()):
        response = await client.http.post(
            client.url("consent", "/v1/audit/search"),
            json={"person": someone},
            headers={"Authorization": f"Bearer {client.info['tokens'][LERUM]['coordinator']}"},
        )
        answers.append((response.status_code, response.headers["content-type"], response.json()))

    assert answers[0] == answers[1] == (200, "application/json", {"entries": []})
