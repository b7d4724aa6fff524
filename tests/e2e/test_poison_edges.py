"""Poison inputs, as a partner's system or a coordinator might send them, over the running stack:
each is refused (never 500, never echoing a personnummer), and what comes after still flows.
The same values at the HTTP edges are unit tests over ASGI (tests/unit/test_gateway_events.py,
test_gateway_inbox.py, test_consent_api.py)."""

import json
import uuid

import pytest

from contracts.examples import EXAMPLE_DATA
from contracts.topics import events_topic
from tests.support.client import event, eventually
from tests.support.kafka import dead_letters_from, produce

REGION, ALINGSAS = "region-14", "kommun-1489"
VISIT_MISSED = "se.samordna.region.visit.missed.v1"


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
