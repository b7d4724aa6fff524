"""Poison inputs, as a partner's system or a coordinator might send them, over the running stack:
each is refused (never 500, never echoing a personnummer), and what comes after still flows."""

import json
import uuid
from datetime import date

import httpx
import pytest

from contracts.examples import EXAMPLE_DATA
from contracts.topics import events_topic
from tests.support.client import event, eventually
from tests.support.kafka import dead_letters_from, produce

REGION, ALINGSAS = "region-14", "kommun-1489"
VISIT_MISSED = "se.samordna.region.visit.missed.v1"


def fields(response: httpx.Response) -> set[str]:
    return {error["field"] for error in response.json()["errors"]}


def with_data(event_type: str, **changes) -> dict:
    return dict(EXAMPLE_DATA[event_type], **changes)


# --- on Kafka: the gate dead-letters, and goes on
# (the same values at the gateway's HTTP edge: tests/unit/test_gateway_events.py; integers
# outside 64 bits and acknowledgements: tests/unit/test_gateway_inbox.py) --------------------------------
@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"data": with_data(VISIT_MISSED, unit="a\x00b")}, "data.unit"),
        ({"time": "0001-01-01T00:00:00+00:00"}, "time"),
        ({"id": "journal-{person}"}, "id"),
    ],
)
async def test_a_poison_event_on_kafka_is_dead_lettered_by_the_gate_and_the_next_one_crosses(
    client, running_stack, person, change, field
):
    await client.grant(REGION, person, [REGION, ALINGSAS])
    poison = event(VISIT_MISSED, person, principal=REGION, category="attendance") | change
    poison["id"] = poison["id"].format(person=person)
    marker = uuid.uuid4().hex
    poison["source"] = f"/test/{marker}"
    await produce(running_stack.kafka_options(REGION), events_topic(REGION), json.dumps(poison).encode())
    after = event(VISIT_MISSED, person)

    assert (await client.post_event(REGION, after)).status_code == 202

    inbox = await eventually(lambda: client.inbox_ids(ALINGSAS), lambda ids: after["id"] in ids)
    assert after["id"] in inbox and poison["id"] not in inbox
    [letter] = await dead_letters_from(running_stack.kafka_options(), events_topic(REGION), marker)
    assert letter["consumer"] == "gate"
    assert field in letter["reason"]
    assert person not in letter["reason"] and person.replace("-", "") not in letter["reason"]


# --- consents ---------------------------------------------------------------------------------
async def consent_call(client, path: str, person: str, **changes) -> httpx.Response:
    body = {"person": person, "parties": [REGION, ALINGSAS], "valid_from": date.today().isoformat()}
    return await client.http.post(
        client.url("consent", path),
        json=body | {"form": "written"} | changes,
        headers={"Authorization": f"Bearer {client.info['tokens'][REGION]['coordinator']}"},
    )


@pytest.mark.parametrize("path", ["/v1/consents/preview", "/v1/consents"])
@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"valid_from": "9999-12-31"}, "valid_from"),
        ({"valid_from": "9999-12-31T23:59:59+00:00"}, "valid_from"),
        ({"valid_from": "0001-01-01"}, "valid_from"),
        ({"valid_until": "9999-12-31"}, "valid_until"),
        ({"recorded_by": "HSA\x00"}, "recorded_by"),
    ],
)
async def test_a_consent_or_preview_with_an_extreme_date_or_nul_gets_422(client, person, path, changes, field):
    response = await consent_call(client, path, person, **changes)

    assert response.status_code == 422, response.text
    assert fields(response) == {field}


async def test_a_consent_recorded_by_a_personnummer_gets_422_without_echoing_it(client, person):
    response = await consent_call(client, "/v1/consents", person, recorded_by=person.replace("-", " "))

    assert response.status_code == 422, response.text
    assert fields(response) == {"recorded_by"}
    assert person.replace("-", " ") not in response.text
