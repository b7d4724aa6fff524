"""A record that cannot be decoded goes to the dead-letter topic with its reason, and the
consumer goes on with the next one. On the real broker, through each service's consumer."""

import asyncio
import json
import uuid
from datetime import UTC, datetime

from contracts import ForwardedEvent, parse_event
from contracts.topics import deliveries_topic, events_topic
from tests.support.client import StackClient, event, eventually
from tests.support.kafka import collecting_consumer, dead_letters_from, produce
from tests.support.personnummer import random_person_id

REGION, ALINGSAS = "region-14", "kommun-1489"
VISIT_MISSED = "se.samordna.region.visit.missed.v1"


async def test_a_batch_consumer_dead_letters_what_it_cannot_parse_and_handles_the_rest(infra):
    consumer = await collecting_consumer(infra, "test.consumer")
    marker = uuid.uuid4().hex
    async with consumer.broker:
        await consumer.broker.start()
        await produce(infra.kafka_options(), consumer.topic, f"not json {marker}".encode())
        valid = _forwarded_event_bytes()
        await produce(infra.kafka_options(), consumer.topic, valid)
        await asyncio.wait_for(consumer.done.wait(), timeout=30)

    [letter] = await dead_letters_from(infra.kafka_options(), consumer.topic, marker)
    assert letter["reason"]
    assert letter["origin_offset"] == 0
    assert [item.event.id for item in consumer.handled] == [ForwardedEvent.model_validate_json(valid).event.id]


async def test_the_gate_dead_letters_an_undecodable_event_and_decides_the_next(running_stack):
    client = StackClient(running_stack.stack_info())
    person = random_person_id()
    marker = uuid.uuid4().hex
    malformed = b'{"id": "%s", "type": 42}' % marker.encode()
    await produce(running_stack.kafka_options(REGION), events_topic(REGION), malformed)
    body = event(VISIT_MISSED, person)

    await client.post_event(REGION, body)

    [letter] = await dead_letters_from(running_stack.kafka_options(), events_topic(REGION), marker)
    assert "type" in letter["reason"]
    assert letter["consumer"] == "gate"
    entries = await eventually(lambda: client.audit(REGION, person), lambda e: len(e) == 1)
    assert [e["event_id"] for e in entries] == [body["id"]]
    await client.close()


async def test_the_gate_dead_letters_an_event_on_a_topic_its_principal_does_not_own(running_stack):
    client = StackClient(running_stack.stack_info())
    person = random_person_id()
    forged = event(VISIT_MISSED, person) | {"principal": REGION, "category": "attendance"}

    await produce(running_stack.kafka_options(ALINGSAS), events_topic(ALINGSAS), json.dumps(forged).encode())

    [letter] = await dead_letters_from(running_stack.kafka_options(), events_topic(ALINGSAS), forged["id"])
    assert "does not own" in letter["reason"]
    assert await client.audit(REGION, person) == []
    await client.close()


async def test_a_gateway_dead_letters_a_bad_delivery_and_still_fills_its_inbox(running_stack):
    client = StackClient(running_stack.stack_info())
    person = random_person_id()
    await client.grant(REGION, person, [REGION, ALINGSAS])
    marker = uuid.uuid4().hex
    await produce(running_stack.kafka_options(), deliveries_topic(ALINGSAS), f"\xff{marker}".encode("latin-1"))
    body = event(VISIT_MISSED, person)

    await client.post_event(REGION, body)

    inbox = await eventually(lambda: client.inbox_ids(ALINGSAS), lambda ids: body["id"] in ids)
    assert body["id"] in inbox
    [letter] = await dead_letters_from(running_stack.kafka_options(), deliveries_topic(ALINGSAS), marker)
    assert letter["consumer"] == f"samordna-inbox-{ALINGSAS}"
    await client.close()


def _forwarded_event_bytes() -> bytes:
    cloud_event = parse_event(event(VISIT_MISSED, random_person_id()), sender=REGION)
    return (
        ForwardedEvent(event=cloud_event, parties=[REGION, ALINGSAS], consent_ids=[], decided_at=datetime.now(UTC))
        .model_dump_json()
        .encode()
    )
