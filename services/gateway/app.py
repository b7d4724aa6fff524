"""Composition root of a principal's gateway (the region's or one municipality's)."""

from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg
from fastapi import FastAPI

from contracts.topics import events_topic
from services.gateway import outbox, receipts, webhooks
from services.gateway.api import build_router
from services.gateway.dead_letters import subscribe_dead_letter_collector
from services.gateway.inbox import subscribe_inbox_writer
from services.gateway.settings import GatewaySettings, schema_of
from services.gateway.subscriptions_api import build_subscriptions_router
from services.runtime import background
from services.runtime.consuming import restart_dead_consumers
from services.runtime.db import create_pool, database_ready
from services.runtime.http import service_app
from services.runtime.kafka import kafka_broker
from services.runtime.outbox import OUTBOX_SQL, Relay
from services.runtime.producers import idempotent_producer
from services.runtime.pseudonym import Pseudonymizer

SCHEMA_SQL = OUTBOX_SQL + Path(__file__).with_name("schema.sql").read_text()
WEBHOOKS_SQL = Path(__file__).with_name("webhooks.sql").read_text()  # after schema.sql: it reads the inbox


@dataclass(frozen=True)
class Gateway:
    pool: asyncpg.Pool
    relay: Relay
    pseudonyms: Pseudonymizer


def create_app(settings: GatewaySettings, principal: str) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI):
        pool = await create_pool(
            settings.database_url, schema_of(principal), SCHEMA_SQL + WEBHOOKS_SQL, min_size=2, max_size=10
        )
        broker = kafka_broker(settings, f"samordna-{principal}")
        relay_producer = idempotent_producer("outbox-relay", settings)
        pseudonyms = Pseudonymizer(settings.pseudonym_key)
        subscribe_inbox_writer(broker, pool, principal, settings.receipt_deadlines)
        subscribe_dead_letter_collector(broker, pool, principal)
        relay = Relay(
            pool, relay_producer, outbox.TABLE, events_topic(principal), "accepted_at", settings.relay_batch_size
        )
        await broker.start()
        overdue = receipts.watch_overdue(pool, pseudonyms, principal, relay.notify, settings.receipt_scan_seconds)
        tasks = [
            background.supervise("outbox-relay", relay.run()),
            background.supervise("consumer-watchdog", restart_dead_consumers(broker)),
            background.supervise("overdue-receipts", overdue),
            background.supervise(
                "webhooks",
                webhooks.Dispatcher(pool, principal, webhooks.DispatchConfig.from_settings(settings)).run(),
            ),
        ]
        app.state.gateway = Gateway(pool, relay, pseudonyms)
        app.state.checks.update(postgres=lambda: database_ready(pool), kafka=lambda: broker.ping(timeout=2))
        try:
            yield
        finally:
            await background.stop(*tasks)
            await broker.stop()
            await relay_producer.stop()
            await pool.close()

    app = service_app(f"Samordna gateway for {principal}", lifespan, build_router(principal), settings)
    app.include_router(build_subscriptions_router(principal, settings.environment))
    return app
