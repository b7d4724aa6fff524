"""The consent service's typed dependencies, and the one function that builds them.

`bootstrap(settings)` connects to PostgreSQL and Kafka, starts the gate, the audit writer, the
consent-changes relay, the expiry watch, the audit's checkpoints and the log erasure as
supervised tasks, yields `ConsentDeps` and tears everything down. The `verify_audit` CLI needs
only `audit_connection`.
"""

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from contracts.topics import CONSENT_CHANGES
from services.consent import lifecycle
from services.consent.audit import AuditTrail, publish_checkpoints, subscribe_audit_writer
from services.consent.consents import Consents
from services.consent.gate import GROUP_ID, Gate
from services.consent.gate import PRODUCER_OPTIONS as GATE_PRODUCER_OPTIONS
from services.consent.log_erasure import LogEraser
from services.consent.policy import load_statutory_bases
from services.consent.preview import Previews
from services.consent.schema import APP_ROLE, SCHEMA_SQL
from services.consent.settings import ConsentSettings
from services.consent.stores import PostgresAudit, PostgresConsents
from services.runtime import background
from services.runtime.access_log import AccessLog, keep_purged
from services.runtime.consuming import restart_dead_consumers
from services.runtime.db import create_pool, database_ready
from services.runtime.kafka import client_options, kafka_broker
from services.runtime.outbox import Relay
from services.runtime.producers import RecoveringProducer, idempotent_producer, producer_options
from services.runtime.pseudonym import Pseudonymizer


@dataclass(frozen=True)
class ConsentDeps:
    settings: ConsentSettings
    clock: Callable[[], datetime]
    pseudonyms: Pseudonymizer
    consents: Consents
    audit: AuditTrail
    previews: Previews
    access_log: AccessLog  # every look at and change of a person's consents and audit
    readiness: Mapping[str, Callable[[], Awaitable[bool]]]


def utc_now() -> datetime:
    return datetime.now(UTC)


@asynccontextmanager
async def bootstrap(settings: ConsentSettings) -> AsyncIterator[ConsentDeps]:
    pool = await create_pool(
        settings.database_url, settings.db_schema, SCHEMA_SQL, role=APP_ROLE, min_size=2, max_size=10
    )
    pseudonyms = Pseudonymizer(settings.pseudonym_key)
    broker = kafka_broker(settings, "samordna-consent")
    subscribe_audit_writer(broker, pool, settings.audit_secret)

    def gate_consumer() -> AIOKafkaConsumer:
        return AIOKafkaConsumer(
            **client_options(settings),
            group_id=GROUP_ID,
            client_id=f"samordna-{settings.gate_instance_id}",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
        )

    consumer = gate_consumer()
    gate_producer = RecoveringProducer(
        "gate",
        lambda: AIOKafkaProducer(
            **producer_options(settings),
            transactional_id=f"samordna-{settings.gate_instance_id}",
            **GATE_PRODUCER_OPTIONS,
        ),
    )
    changes_producer = idempotent_producer("consent-changes-relay", settings)
    statutory = load_statutory_bases(settings.statutory_policy_file)
    gate = Gate(
        consumer, gate_producer, pool, pseudonyms, statutory, make_consumer=gate_consumer,
        linger_ms=settings.gate_linger_ms,
    )  # fmt: skip
    await gate_producer.get()  # fences a predecessor with the same transactional id
    await consumer.start()
    gate.subscribe()
    await broker.start()
    changes = Relay(pool, changes_producer, lifecycle.TABLE, CONSENT_CHANGES, age_column="occurred_at")
    tasks = [
        background.supervise("gate", gate.run()),
        background.supervise("consent-changes-relay", changes.run()),
        background.supervise("consumer-watchdog", restart_dead_consumers(broker)),
        background.supervise(
            "expiry-watch",
            lifecycle.watch_expiries(pool, changes, settings.expiry_scan_seconds, settings.erasure_delay_seconds),
        ),
    ]
    # the audit's signed checkpoints, on a producer of their own (docs/audit.md)
    checkpoints = publish_checkpoints(
        pool,
        client_options(settings),
        idempotent_producer("audit-checkpoints", settings),
        settings.audit_secret,
        settings.gate_instance_id,
        settings.audit_checkpoint_seconds,
    )
    tasks.append(background.supervise("audit-checkpoints", checkpoints))
    eraser = LogEraser(pool, client_options(settings)) if settings.log_erasure_seconds else None
    if eraser:
        await eraser.start()
        tasks.append(background.supervise("log-erasure", eraser.run(settings.log_erasure_seconds)))
    audit = PostgresAudit(pool)
    access_log = AccessLog(pool)
    tasks.append(background.supervise("access-log-purge", keep_purged(access_log, settings.access_log_retention)))
    try:
        yield ConsentDeps(
            settings=settings,
            clock=utc_now,
            pseudonyms=pseudonyms,
            consents=Consents(
                PostgresConsents(pool, settings.erasure_delay_seconds),
                pseudonyms,
                changed=changes.notify,
                access=access_log,
                clock=utc_now,
            ),
            audit=AuditTrail(audit, pseudonyms, access_log),
            previews=Previews(audit, pseudonyms, access_log),
            access_log=access_log,
            readiness={"postgres": lambda: database_ready(pool), "kafka": gate_producer.ready},
        )
    finally:
        await gate.stop()  # its batch in hand committed before the consumer leaves the group
        await background.stop(*tasks)
        await broker.stop()
        if eraser:
            await eraser.stop()
        await gate.consumer.stop()  # the gate's current one (it replaces one that lost its group)
        await gate_producer.stop()
        await changes_producer.stop()
        await pool.close()


@asynccontextmanager
async def audit_connection(settings: ConsentSettings) -> AsyncIterator[asyncpg.Connection]:
    """One connection to the consent schema that reads timestamps as PostgreSQL prints them (ISO,
    UTC), the form the verifier checks the chain in; it creates nothing."""
    conn = await asyncpg.connect(
        settings.database_url,
        server_settings={"search_path": settings.db_schema, "DateStyle": "ISO", "TimeZone": "UTC"},
    )
    try:
        yield conn
    finally:
        await conn.close()
