"""The gateway's typed dependencies, and the one place that connects them.

`bootstrap(settings, principal)` opens the pool (creating the schema), the Kafka broker with
the inbox writer and the dead-letter collector, the outbox relay, the overdue-receipt watch
and the webhook dispatcher; yields the `Deps` the routes use; and stops it all again.
`open_pool` is the part a command (python -m services.gateway.dead_letters) needs.
"""

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import asyncpg

from contracts.topics import events_topic
from services.gateway import outbox, retention
from services.gateway.dead_letters.collector import subscribe_dead_letter_collector
from services.gateway.dead_letters.store import PgDeadLetters
from services.gateway.fhir.store import PgFhirSubscriptions
from services.gateway.fhir.worker import fhir_worker_factory
from services.gateway.inbox import PgInbox, subscribe_inbox_writer
from services.gateway.ports import DeadLetters, Deliveries, FhirSubscriptions, Inbox, Outbox, Receipts, Subscriptions
from services.gateway.receipts.store import PgReceipts
from services.gateway.settings import GatewaySettings, schema_of
from services.gateway.webhooks.dispatcher import DispatchConfig, Dispatcher
from services.gateway.webhooks.queue import PgDeliveries
from services.gateway.webhooks.subscriptions import PgSubscriptions
from services.runtime import background
from services.runtime.access_log import SCHEMA_SQL as ACCESS_LOG_SQL
from services.runtime.access_log import AccessLog, keep_purged
from services.runtime.consuming import restart_dead_consumers
from services.runtime.db import create_pool, database_ready
from services.runtime.kafka import kafka_broker
from services.runtime.outbox import OUTBOX_SQL, Relay
from services.runtime.producers import idempotent_producer
from services.runtime.pseudonym import Pseudonymizer

_HERE = Path(__file__).parent
# webhooks/schema.sql after schema.sql (its tables read the inbox), fhir/schema.sql after both
_SCHEMA_PARTS = ("schema.sql", "webhooks/schema.sql", "fhir/schema.sql")
SCHEMA_SQL = OUTBOX_SQL + "".join((_HERE / part).read_text() for part in _SCHEMA_PARTS) + ACCESS_LOG_SQL

Clock = Callable[[], datetime]
ReadinessCheck = Callable[[], Awaitable[bool]]


@dataclass(frozen=True)
class Deps:
    settings: GatewaySettings
    principal: str
    clock: Clock
    pseudonyms: Pseudonymizer
    outbox: Outbox
    inbox: Inbox
    receipts: Receipts
    subscriptions: Subscriptions
    deliveries: Deliveries
    fhir_subscriptions: FhirSubscriptions
    dead_letters: DeadLetters
    access_log: AccessLog  # what the principal's staff did here with their own token
    checks: Mapping[str, ReadinessCheck]  # for /readyz


Bootstrap = Callable[[GatewaySettings, str], AbstractAsyncContextManager["Deps"]]


def utc_now() -> datetime:
    return datetime.now(UTC)


@asynccontextmanager
async def open_pool(
    settings: GatewaySettings, principal: str, min_size: int = 2, max_size: int = 10
) -> AsyncIterator[asyncpg.Pool]:
    """The pool of `principal`'s gateway schema, the tables created if missing."""
    pool = await create_pool(
        settings.database_url, schema_of(principal), SCHEMA_SQL, min_size=min_size, max_size=max_size
    )
    try:
        yield pool
    finally:
        await pool.close()


@asynccontextmanager
async def bootstrap(settings: GatewaySettings, principal: str) -> AsyncIterator[Deps]:
    async with open_pool(settings, principal) as pool:
        pseudonyms = Pseudonymizer(settings.pseudonym_key)
        broker = kafka_broker(settings, f"samordna-{principal}")
        relay_producer = idempotent_producer("outbox-relay", settings)
        relay = Relay(
            pool, relay_producer, outbox.TABLE, events_topic(principal), "accepted_at", settings.relay_batch_size
        )
        receipts = PgReceipts(pool, pseudonyms, principal, relay.notify)
        dead_letters = PgDeadLetters(pool)
        subscribe_inbox_writer(broker, pool, principal, settings.receipt_deadlines)
        subscribe_dead_letter_collector(broker, dead_letters, principal)
        await broker.start()
        workers = {"fhir": fhir_worker_factory(principal, settings.fhir_base())}
        dispatcher = Dispatcher(pool, principal, DispatchConfig.from_settings(settings, principal), utc_now, workers)
        tasks = [
            background.supervise("outbox-relay", relay.run()),
            background.supervise("consumer-watchdog", restart_dead_consumers(broker)),
            background.supervise("overdue-receipts", receipts.watch_overdue(settings.receipt_scan_seconds)),
            background.supervise("webhooks", dispatcher.run()),
            background.supervise("retention", retention.watch(pool, settings.retention)),
        ]
        access_log = AccessLog(pool)
        tasks.append(background.supervise("access-log-purge", keep_purged(access_log, settings.access_log_retention)))
        try:
            yield Deps(
                settings=settings,
                principal=principal,
                clock=utc_now,
                pseudonyms=pseudonyms,
                outbox=outbox.PgOutbox(pool, pseudonyms, relay.notify),
                inbox=PgInbox(pool),
                receipts=receipts,
                subscriptions=PgSubscriptions(pool),
                deliveries=PgDeliveries(pool),
                fhir_subscriptions=PgFhirSubscriptions(pool),
                dead_letters=dead_letters,
                access_log=access_log,
                checks={"postgres": lambda: database_ready(pool), "kafka": lambda: broker.ping(timeout=2)},
            )
        finally:
            await background.stop(*tasks)
            await broker.stop()
            await relay_producer.stop()
