"""Each principal's Kafka credentials against the real broker: the broker itself (its
StandardAuthorizer, with the ACLs of deploy/access.py) refuses what a principal must not read or
write. Every refusal is paired with an allowed neighbour, so that a test cannot pass merely
because the credentials or the connection do not work at all."""

import asyncio
import time
import uuid

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaConnectionError, TopicAuthorizationFailedError
from aiokafka.errors import KafkaError as AIOKafkaError
from confluent_kafka import Consumer, KafkaError, KafkaException

from contracts.topics import (
    AUDIT_CHECKPOINTS,
    CONSENT_CHANGES,
    PER_PERSON_PARTITIONS,
    SHARED_EVENTS,
    deliveries_topic,
    events_topic,
)

REGION, ALINGSAS, LERUM = "region-14", "kommun-1489", "kommun-1441"
GATE, BOARD = "samordna-gate", "samordna-board"


async def _write(stack, user: str, topic: str) -> None:
    producer = AIOKafkaProducer(**stack.kafka_options(user), request_timeout_ms=10_000)
    await producer.start()
    try:
        await producer.send_and_wait(topic, b'{"probe": true}', key=b"acl-test")
    finally:
        await producer.stop()


def _confluent(stack, user: str) -> dict:
    options = stack.kafka_options(user)
    return {
        "bootstrap.servers": stack.bootstrap,
        "security.protocol": options["security_protocol"],
        "sasl.mechanism": options["sasl_mechanism"],
        "sasl.username": options["sasl_plain_username"],
        "sasl.password": options["sasl_plain_password"],
    }


def _first_record(stack, user: str, topic: str, group: str, timeout: float = 20) -> bytes:
    """Join `group` and fetch `topic` from the beginning until a record arrives; raises the
    error the broker answers with (TOPIC_AUTHORIZATION_FAILED, GROUP_AUTHORIZATION_FAILED, ...)."""
    consumer = Consumer(
        _confluent(stack, user) | {"group.id": group, "auto.offset.reset": "earliest", "enable.auto.commit": False}
    )
    try:
        consumer.subscribe([topic])
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None:
                continue
            if message.error():
                raise KafkaException(message.error())
            return message.value()
        raise TimeoutError(f"{user} got no record from {topic} within {timeout} s")
    finally:
        consumer.close()


async def _read(stack, user: str, topic: str, group: str) -> bytes:
    return await asyncio.to_thread(_first_record, stack, user, topic, group)


def _refused(error: pytest.ExceptionInfo, code: int) -> bool:
    return error.value.args[0].code() == code


def _own_group(user: str) -> str:
    """A consumer group the user may use: `<principal>.…` for a gateway's systems, `samordna-board…`."""
    return (
        f"{user}.acl-test-{uuid.uuid4().hex[:8]}"
        if user not in (GATE, BOARD)
        else f"{user}-acl-test-{uuid.uuid4().hex[:8]}"
    )


async def test_a_municipality_reads_its_own_deliveries_and_not_another_municipalitys(infra):
    for principal in (LERUM, ALINGSAS):
        await _write(infra, GATE, deliveries_topic(principal))
    assert await _read(infra, LERUM, deliveries_topic(LERUM), _own_group(LERUM))  # allowed
    with pytest.raises(KafkaException) as refused:
        await _read(infra, LERUM, deliveries_topic(ALINGSAS), _own_group(LERUM))
    assert _refused(refused, KafkaError.TOPIC_AUTHORIZATION_FAILED)


async def test_a_municipality_reads_no_events_topic_not_even_its_own(infra):
    for topic in (events_topic(LERUM), events_topic(ALINGSAS), events_topic(REGION)):
        with pytest.raises(KafkaException) as refused:
            await _read(infra, LERUM, topic, _own_group(LERUM))
        assert _refused(refused, KafkaError.TOPIC_AUTHORIZATION_FAILED), topic


async def test_a_municipality_writes_its_own_events_topic_only(infra):
    await _write(infra, LERUM, events_topic(LERUM))  # allowed
    for topic in (events_topic(REGION), events_topic(ALINGSAS), deliveries_topic(LERUM), SHARED_EVENTS):
        with pytest.raises(TopicAuthorizationFailedError):
            await _write(infra, LERUM, topic)


async def test_a_principals_own_systems_use_consumer_groups_of_its_own_only(infra):
    await _write(infra, GATE, deliveries_topic(LERUM))
    assert await _read(infra, LERUM, deliveries_topic(LERUM), _own_group(LERUM))
    for group in (f"{ALINGSAS}.journal", f"samordna-inbox-{ALINGSAS}", "samordna-gate"):
        with pytest.raises(KafkaException) as refused:
            await _read(infra, LERUM, deliveries_topic(LERUM), group)
        assert _refused(refused, KafkaError.GROUP_AUTHORIZATION_FAILED), group


async def test_only_the_gate_reads_the_events_topics(infra):
    await _write(infra, ALINGSAS, events_topic(ALINGSAS))
    # the gate's allowed read, without joining its live consumer group
    consumer = AIOKafkaConsumer(**infra.kafka_options(GATE), enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(events_topic(ALINGSAS), p) for p in range(PER_PERSON_PARTITIONS)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        assert await consumer.getmany(timeout_ms=5000)
    finally:
        await consumer.stop()
    for user in (BOARD, REGION):
        with pytest.raises(KafkaException) as refused:
            await _read(infra, user, events_topic(ALINGSAS), _own_group(user))
        assert _refused(refused, KafkaError.TOPIC_AUTHORIZATION_FAILED), user


async def test_the_board_reads_what_passed_the_gate_and_writes_nothing_a_gateway_reads(infra):
    for topic in (SHARED_EVENTS, CONSENT_CHANGES):
        await _write(infra, GATE, topic)
        assert await _read(infra, BOARD, topic, _own_group(BOARD))
    for topic in (deliveries_topic(REGION), events_topic(REGION)):
        with pytest.raises(TopicAuthorizationFailedError):
            await _write(infra, BOARD, topic)


async def test_a_wrong_password_or_no_credentials_get_no_connection(infra):
    wrong = infra.kafka_options(LERUM) | {"sasl_plain_password": "not-the-password", "request_timeout_ms": 5000}
    for options in (wrong, {"bootstrap_servers": infra.bootstrap, "request_timeout_ms": 5000}):
        producer = AIOKafkaProducer(**options)
        with pytest.raises(AIOKafkaError) as refused:
            await asyncio.wait_for(producer.start(), 30)
        await producer.stop()
        assert isinstance(refused.value, KafkaConnectionError) or "auth" in repr(refused.value).lower()


async def test_only_the_consent_service_writes_and_reads_the_audit_checkpoints(infra):
    await _write(infra, GATE, AUDIT_CHECKPOINTS)  # allowed (the next real checkpoint supersedes this probe)
    consumer = AIOKafkaConsumer(**infra.kafka_options(GATE), enable_auto_commit=False)
    await consumer.start()
    try:
        partition = TopicPartition(AUDIT_CHECKPOINTS, 0)
        consumer.assign([partition])
        await consumer.seek_to_beginning(partition)
        assert await consumer.getmany(timeout_ms=5000)
    finally:
        await consumer.stop()
    for user in (BOARD, REGION, LERUM):
        with pytest.raises(TopicAuthorizationFailedError):
            await _write(infra, user, AUDIT_CHECKPOINTS)
        with pytest.raises(KafkaException) as refused:
            await _read(infra, user, AUDIT_CHECKPOINTS, _own_group(user))
        assert _refused(refused, KafkaError.TOPIC_AUTHORIZATION_FAILED), user
