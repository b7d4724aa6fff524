"""The broker's TLS listener (SASL_SSL), as a real site runs Kafka: the Kafka clients every service
builds from its settings (services.runtime.kafka: the FastStream broker and the aiokafka options)
connect over TLS, trusting the site's CA (SAMORDNA_KAFKA_CA_FILE); the broker's certificate is
refused without it; and the same users and ACLs hold on that listener.

The test stack starts its broker with a SASL_SSL listener besides the SASL one (deploy/kafka.sh
KAFKA_TLS_PORT), certified by a local CA made in its state directory."""

import asyncio
import time
import uuid

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import KafkaConnectionError, TopicAuthorizationFailedError

from contracts.topics import deliveries_topic, events_topic
from services.runtime.kafka import client_options, kafka_broker
from services.runtime.settings import ServiceSettings

REGION, LERUM = "region-14", "kommun-1441"
GATE = "samordna-gate"


def _settings(stack, user: str, *, trust_the_ca: bool = True) -> ServiceSettings:
    return ServiceSettings(
        kafka_bootstrap=stack.tls_bootstrap,
        kafka_security_protocol="SASL_SSL",
        kafka_username=user,
        kafka_password=stack.kafka_password(user),
        kafka_ca_file=stack.kafka_ca_file if trust_the_ca else None,
    )


async def _write(settings: ServiceSettings, topic: str) -> None:
    producer = AIOKafkaProducer(**client_options(settings), request_timeout_ms=10_000)
    await producer.start()
    try:
        await producer.send_and_wait(topic, b'{"probe": true}', key=b"tls-test")
    finally:
        await producer.stop()


async def test_the_gate_publishes_and_a_municipality_reads_its_deliveries_over_tls(infra):
    assert infra.tls_bootstrap, "the test stack runs a SASL_SSL listener"
    marker = f"tls-{uuid.uuid4().hex}".encode()
    broker = kafka_broker(_settings(infra, GATE), client_id="tls-test")  # as the consent service does
    await broker.start()
    try:
        await broker.publish(marker, deliveries_topic(LERUM), key=b"tls-test")
    finally:
        await broker.stop()

    consumer = AIOKafkaConsumer(
        deliveries_topic(LERUM),
        **client_options(_settings(infra, LERUM)),
        group_id=f"{LERUM}.tls-test-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        deadline = time.monotonic() + 30
        seen: list[bytes] = []
        while marker not in seen and time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=1000)
            seen += [record.value for records in batches.values() for record in records]
    finally:
        await consumer.stop()
    assert marker in seen


async def test_the_acls_hold_on_the_tls_listener_too(infra):
    await _write(_settings(infra, LERUM), events_topic(LERUM))  # its own events topic: allowed
    with pytest.raises(TopicAuthorizationFailedError):
        await _write(_settings(infra, LERUM), events_topic(REGION))


async def test_without_the_sites_ca_the_brokers_certificate_is_refused(infra):
    producer = AIOKafkaProducer(**client_options(_settings(infra, LERUM, trust_the_ca=False)), request_timeout_ms=5_000)
    with pytest.raises(KafkaConnectionError):
        await asyncio.wait_for(producer.start(), timeout=30)
    await producer.stop()
