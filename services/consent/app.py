"""Composition root of the consent service: the registry API, the gate and the audit writer."""

from contextlib import asynccontextmanager

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from fastapi import FastAPI

from contracts.topics import CONSENT_CHANGES
from services.consent import api, lifecycle
from services.consent.audit import AuditTrail, publish_checkpoints, subscribe_audit_writer
from services.consent.consents import Consents
from services.consent.gate import GROUP_ID, Gate
from services.consent.policy import load_statutory_bases
from services.consent.schema import APP_ROLE, SCHEMA_SQL
from services.consent.settings import ConsentSettings
from services.runtime import background
from services.runtime.consuming import restart_dead_consumers
from services.runtime.db import create_pool, database_ready
from services.runtime.http import service_app
from services.runtime.kafka import client_options, kafka_broker
from services.runtime.outbox import Relay
from services.runtime.producers import RecoveringProducer, idempotent_producer, producer_options
from services.runtime.pseudonym import Pseudonymizer


def create_app(settings: ConsentSettings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI):
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
                enable_idempotence=True,
                linger_ms=5,
            ),
        )
        changes_producer = idempotent_producer("consent-changes-relay", settings)
        gate = Gate(
            consumer,
            gate_producer,
            pool,
            pseudonyms,
            load_statutory_bases(settings.statutory_policy_file),
            make_consumer=gate_consumer,
        )
        await gate_producer.get()  # fences a predecessor with the same transactional id
        await consumer.start()
        gate.subscribe()
        await broker.start()
        changes = Relay(pool, changes_producer, lifecycle.TABLE, CONSENT_CHANGES, age_column="occurred_at")
        tasks = [
            background.supervise("gate", gate.run()),
            background.supervise("consent-changes-relay", changes.run()),
            background.supervise("consumer-watchdog", restart_dead_consumers(broker)),
            background.supervise("expiry-watch", lifecycle.watch_expiries(pool, changes, settings.expiry_scan_seconds)),
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
        app.state.consents = Consents(pool, pseudonyms, changed=changes.notify)
        app.state.audit = AuditTrail(pool, pseudonyms)
        app.state.pool, app.state.pseudonyms = pool, pseudonyms
        app.state.checks.update(postgres=lambda: database_ready(pool), kafka=gate_producer.ready)
        try:
            yield
        finally:
            await background.stop(*tasks)
            await broker.stop()
            await gate.consumer.stop()  # the gate's current one (it replaces one that lost its group)
            await gate_producer.stop()
            await changes_producer.stop()
            await pool.close()

    return service_app("Samordna consent registry and gate", lifespan, api.router, settings)
