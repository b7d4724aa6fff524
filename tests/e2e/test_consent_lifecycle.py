"""Consent lifecycle events on consent.changes, the consent's history, and the board
forgetting a person once the consent is revoked — on the real broker."""

from datetime import date, timedelta

from contracts.topics import CONSENT_CHANGES
from tests.support.client import event, eventually
from tests.support.kafka import find_records

REGION, ALINGSAS, LERUM = "region-14", "kommun-1489", "kommun-1441"


async def changes_of(stack, consent_id: str, kinds: set[str]) -> list[dict]:
    def about(record: dict) -> bool:
        return record.get("data", {}).get("consent_id") == consent_id

    found = []
    for _ in range(30):
        found = await find_records(stack.kafka_options(), CONSENT_CHANGES, about, timeout=5)
        if {r["type"].split(".")[-2] for r in found} >= kinds:
            break
    return found


async def test_granting_and_revoking_are_published_once_each(client, running_stack, person):
    consent = await client.grant(REGION, person, [REGION, ALINGSAS])
    await client.revoke(REGION, consent["id"])

    records = await changes_of(running_stack, consent["id"], {"granted", "revoked"})

    assert sorted(r["type"] for r in records) == ["se.samordna.consent.granted.v1", "se.samordna.consent.revoked.v1"]
    assert len({r["id"] for r in records}) == 2


async def test_a_consent_ending_within_30_days_is_announced_and_then_expires(client, running_stack, person):
    today = date.today()
    ended = await client.grant(
        REGION, person, [REGION, LERUM], valid_from=(today - timedelta(days=5)).isoformat(),
        valid_until=(today - timedelta(days=1)).isoformat(),
    )  # fmt: skip

    records = await changes_of(running_stack, ended["id"], {"granted", "expiring", "expired"})

    kinds = sorted(r["type"].split(".")[-2] for r in records)
    assert kinds == ["expired", "expiring", "granted"]


async def test_the_history_keeps_every_version(client, person):
    consent = await client.grant(REGION, person, [REGION, ALINGSAS])
    await client.revoke(REGION, consent["id"])

    response = await client.http.get(
        client.url("consent", f"/v1/consents/{consent['id']}/history"),
        headers={"Authorization": f"Bearer {client.info['tokens'][ALINGSAS]['coordinator']}"},
    )

    assert [entry["kind"] for entry in response.json()["history"]] == ["granted", "revoked"]


async def test_the_board_forgets_a_person_once_the_consent_is_revoked(client, person):
    consent = await client.grant(REGION, person, [REGION, ALINGSAS])
    await client.post_event(REGION, event("se.samordna.region.treatment.started.v1", person))
    patient = f"{person.replace('-', '')[:8]}-{person.replace('-', '')[8:]}"

    shown = await eventually(lambda: client.board(ALINGSAS), lambda b: patient in [r["patient"] for r in b["rows"]])
    assert patient in [r["patient"] for r in shown["rows"]]

    await client.revoke(ALINGSAS, consent["id"])

    board = await eventually(lambda: client.board(REGION), lambda b: patient not in [r["patient"] for r in b["rows"]])
    assert patient not in [r["patient"] for r in board["rows"]]


async def test_a_coordinator_of_another_municipality_does_not_see_the_person(client, person):
    await client.grant(REGION, person, [REGION, ALINGSAS])
    body = event("se.samordna.region.visit.missed.v1", person)
    await client.post_event(REGION, body)
    patient = f"{person.replace('-', '')[:8]}-{person.replace('-', '')[8:]}"

    await eventually(lambda: client.board(REGION), lambda b: patient in [r["patient"] for r in b["rows"]])

    assert patient not in [r["patient"] for r in (await client.board(LERUM))["rows"]]
