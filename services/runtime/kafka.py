"""Kafka plumbing shared by the services: clients, readiness, dead letters."""

import logging
import ssl
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaProducer, ConsumerRecord
from faststream.kafka import KafkaBroker
from faststream.security import SASLScram256, SASLScram512

from contracts import DeadLetter
from contracts.envelope import MAX_DEAD_LETTER_BYTES


async def kafka_ready(producer: AIOKafkaProducer) -> bool:
    """True when the broker answers a metadata request."""
    metadata = await producer.client.fetch_all_metadata()
    return bool(metadata.brokers())


def dead_letter(record: ConsumerRecord, consumer: str, reason: str, at: datetime | None = None) -> DeadLetter:
    """The dead letter of `record`; `at` (default: now) is when the consumer gave up on it."""
    value = (record.value or b"")[:MAX_DEAD_LETTER_BYTES]
    return DeadLetter(
        origin_topic=record.topic,
        origin_partition=record.partition,
        origin_offset=record.offset,
        consumer=consumer,
        reason=reason,
        key=record.key.decode(errors="replace") if record.key else None,
        value=value.decode(errors="replace"),
        failed_at=at or datetime.now(UTC),
    )


def client_options(settings) -> dict[str, Any]:
    """aiokafka keyword arguments that connect as this service's own Kafka user (ServiceSettings)."""
    options: dict[str, Any] = {"bootstrap_servers": bootstrap_servers(settings.kafka_bootstrap)}
    if settings.kafka_security_protocol == "PLAINTEXT":
        return options
    return options | {
        "security_protocol": settings.kafka_security_protocol,
        "sasl_mechanism": settings.kafka_sasl_mechanism,
        "sasl_plain_username": settings.kafka_username,
        "sasl_plain_password": settings.kafka_password.get_secret_value(),
        "ssl_context": _tls(settings),
    }


def bootstrap_servers(bootstrap: str) -> list[str]:
    """ "host:port,host:port" as the list aiokafka wants (it takes a string for one server only)."""
    return [server.strip() for server in bootstrap.split(",") if server.strip()]


def _tls(settings) -> ssl.SSLContext | None:
    if settings.kafka_security_protocol != "SASL_SSL":
        return None
    return ssl.create_default_context(cafile=str(settings.kafka_ca_file) if settings.kafka_ca_file else None)


def kafka_broker(settings, client_id: str, **options) -> KafkaBroker:
    """A FastStream broker, connected as the service's Kafka user, whose logs go through the
    service's JSON logging. Its producer (dead letters) waits for every in-sync replica: a
    consumer commits past a record once its dead letter is acknowledged. It is not idempotent,
    so it has no sequence numbers to lose in an outage (docs/architecture.md)."""
    options.setdefault("acks", "all")
    security = None
    if settings.kafka_security_protocol != "PLAINTEXT":
        scram = SASLScram512 if settings.kafka_sasl_mechanism == "SCRAM-SHA-512" else SASLScram256
        tls = _tls(settings)
        security = scram(
            settings.kafka_username,
            settings.kafka_password.get_secret_value(),
            use_ssl=tls is not None,
            ssl_context=tls,
        )
    return KafkaBroker(
        bootstrap_servers(settings.kafka_bootstrap),
        client_id=client_id,
        security=security,
        allow_auto_create_topics=False,  # topics are made by deploy/topics.py, with their settings
        logger=logging.getLogger(f"faststream.{client_id}"),
        **options,
    )
