"""Every record Samordna writes for an event, read from the real broker by a strict receiver of
the CloudEvents Kafka protocol binding (the official SDK's cloudevents.kafka from_structured or
from_binary, chosen by the content-type header alone: tests/support/cloudevents_binding.py), and
a partner's deliveries read by a second client library (confluent-kafka, i.e. librdkafka) with
exactly the settings docs/integration.md gives ("By Kafka")."""

import asyncio
import json
import time
import uuid

from aiokafka import AIOKafkaProducer
from confluent_kafka import Consumer, TopicPartition

from contracts.topics import (
    CONSENT_CHANGES,
    DELIVERY_SEQ_HEADER,
    GATE_DECISIONS,
    SHARED_EVENTS,
    dead_letters_for,
    deliveries_topic,
    events_topic,
)
from tests.integration.test_dead_letters import _forwarded_event_bytes
from tests.support.client import StackClient, event
from tests.support.cloudevents_binding import mode_of, read_cloudevent
from tests.support.kafka import collecting_consumer, dead_letters_from, find_raw_records, produce
from tests.support.personnummer import random_person_id

REGION, ALINGSAS = "region-14", "kommun-1489"
VISIT_MISSED = "se.samordna.region.visit.missed.v1"


def _value(record) -> dict:
    try:
        return json.loads(record.value)
    except ValueError:
        return {}


async def test_every_record_written_for_an_event_is_a_cloudevent_to_a_strict_receiver(running_stack):
    client = StackClient(running_stack.stack_info())
    kafka = running_stack.kafka_options()
    person = random_person_id()
    consent = await client.grant(REGION, person, [REGION, ALINGSAS])
    body = event(VISIT_MISSED, person)
    assert (await client.post_event(REGION, body)).status_code == 202
    marker = uuid.uuid4().hex
    await produce(running_stack.kafka_options(REGION), events_topic(REGION), b'{"id": "%s"}' % marker.encode())
    await produce(kafka, deliveries_topic(ALINGSAS), b"not an event %s" % marker.encode())

    def about_it(record) -> bool:
        value = _value(record)
        return body["id"] in (value.get("id"), value.get("event", {}).get("id"))

    def decided(record) -> bool:
        return any(d["event_id"] == body["id"] for d in _value(record).get("decisions", []))

    def granted(record) -> bool:
        return _value(record).get("data", {}).get("consent_id") == consent["id"]

    def dead(record) -> bool:
        return marker in _value(record).get("value", "")

    expected_mode = {
        events_topic(REGION): (about_it, "structured"),  # the gateway's outbox relay
        deliveries_topic(ALINGSAS): (about_it, "structured"),  # the gate
        SHARED_EVENTS: (about_it, "structured"),  # a sealed CloudEvent (contracts/sealing.py)
        GATE_DECISIONS: (decided, "binary"),
        CONSENT_CHANGES: (granted, "structured"),  # the consent service's outbox relay
        dead_letters_for(events_topic(REGION)): (dead, "binary"),  # by the gate, in its transaction
        dead_letters_for(deliveries_topic(ALINGSAS)): (dead, "binary"),  # by the gateway's FastStream consumer
    }
    found = await asyncio.gather(*(find_raw_records(kafka, t, m) for t, (m, _) in expected_mode.items()))
    for (topic, (_, mode)), records in zip(expected_mode.items(), found, strict=True):
        assert records, f"nothing on {topic}"
        for record in records:
            assert mode_of(record.headers) == mode, topic
            read = read_cloudevent(record.headers, record.key, record.value)
            headers = b"".join(name.encode() + value for name, value in record.headers)
            assert person.encode() not in headers and person.replace("-", "").encode() not in headers
            if mode == "structured" and topic not in (CONSENT_CHANGES, SHARED_EVENTS):  # those two are sealed
                assert (read["id"], read["subject"], read.get_data()) == (
                    body["id"],
                    person.replace("-", ""),
                    body["data"],
                )
    [delivered] = found[1]
    assert int(read_cloudevent(delivered.headers, delivered.key, delivered.value)[DELIVERY_SEQ_HEADER]) >= 1


def _consume_as_documented(stack, principal: str, group: str, event_id: str, timeout: float = 30) -> list:
    """docs/integration.md's client settings, in librdkafka's names, over the TLS listener."""
    consumer = Consumer(
        {
            "bootstrap.servers": stack.tls_bootstrap,
            "security.protocol": "SASL_SSL",
            "ssl.ca.location": str(stack.kafka_ca_file),
            "sasl.mechanism": "SCRAM-SHA-512",
            "sasl.username": principal,
            "sasl.password": stack.kafka_password(principal),
            "group.id": group,
            "isolation.level": "read_committed",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
        }
    )
    try:
        consumer.subscribe([deliveries_topic(principal)])
        loop_deadline = time.monotonic() + timeout
        while time.monotonic() < loop_deadline:
            for message in consumer.consume(num_messages=500, timeout=1.0):
                assert message.error() is None, message.error()
                if event_id.encode() in message.value():
                    consumer.commit(message=message, asynchronous=False)  # after it is stored
                    committed = consumer.committed([TopicPartition(message.topic(), message.partition())])
                    assert committed[0].offset == message.offset() + 1
                    return [message]
        return []
    finally:
        consumer.close()


async def test_confluent_kafka_reads_a_delivery_with_the_documented_settings(running_stack):
    client = StackClient(running_stack.stack_info())
    person = random_person_id()
    body = await client.deliver(REGION, ALINGSAS, VISIT_MISSED, person)
    group = f"{ALINGSAS}.case-system-{uuid.uuid4().hex[:8]}"

    [message] = await asyncio.to_thread(_consume_as_documented, running_stack, ALINGSAS, group, body["id"])

    read = read_cloudevent(message.headers(), message.key(), message.value())
    assert (read["id"], read["type"], read["subject"], read.get_data()) == (
        body["id"],
        VISIT_MISSED,
        person.replace("-", ""),
        body["data"],
    )
    assert int(dict(message.headers())[DELIVERY_SEQ_HEADER]) >= 1
    assert person.replace("-", "").encode() not in message.key()


async def test_a_record_whose_content_type_says_json_but_is_not_goes_to_dead_letters_not_round_again(infra):
    """FastStream decodes a value by its content-type before the handler runs; the consumers read the
    raw records instead (services/runtime/consuming.py), so such a record is refused once."""
    consumer = await collecting_consumer(infra, "test.binding")
    marker = uuid.uuid4().hex
    json_header = [("content-type", b"application/json")]
    async with consumer.broker:
        await consumer.broker.start()
        producer = AIOKafkaProducer(**infra.kafka_options())
        await producer.start()
        try:
            for value in (f"not json {marker}".encode(), _forwarded_event_bytes()):
                await producer.send_and_wait(consumer.topic, value, key=b"k", headers=json_header)
        finally:
            await producer.stop()
        await asyncio.wait_for(consumer.done.wait(), timeout=30)

    [letter] = await dead_letters_from(infra.kafka_options(), consumer.topic, marker)
    assert letter["origin_offset"] == 0 and len(consumer.handled) == 1
