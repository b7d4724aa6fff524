"""Composition root of the board: consumes what passed the gate, serves the samordningstavla."""

from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI

from contracts import CloudEvent, ForwardedEvent, parse_event
from contracts.topics import CONSENT_CHANGES, SHARED_EVENTS
from services.board import api, store, web
from services.board.alerts import load_rules
from services.board.live import Changes
from services.board.ops import OpsMonitor
from services.board.settings import BoardSettings
from services.board.statistics import record_keys
from services.runtime import background
from services.runtime.consuming import batch_consumer, from_value, restart_dead_consumers
from services.runtime.db import create_pool, database_ready
from services.runtime.http import service_app
from services.runtime.kafka import client_options, kafka_broker
from services.runtime.pseudonym import Pseudonymizer

SCHEMA_SQL = Path(__file__).with_name("schema.sql").read_text()
GROUP_ID = "samordna-board"


def create_app(settings: BoardSettings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI):
        rules = load_rules(settings.alert_rules_file)
        pool = await create_pool(settings.database_url, settings.db_schema, SCHEMA_SQL, min_size=2, max_size=10)
        changes = Changes()
        pseudonyms = Pseudonymizer(settings.pseudonym_key)
        broker = kafka_broker(settings, "samordna-board")

        async def record(items: list[ForwardedEvent]) -> None:
            async with pool.acquire() as conn:
                moved = await store.record_forwarded(conn, pseudonyms, items)
            changes.bump(moved)

        async def apply_consent_changes(events: list[CloudEvent]) -> None:
            async with pool.acquire() as conn:
                moved = await store.apply_consent_changes(conn, pseudonyms, events)
            changes.bump(moved)

        batch_consumer(broker, SHARED_EVENTS, GROUP_ID, from_value(ForwardedEvent.model_validate_json), record)
        batch_consumer(broker, CONSENT_CHANGES, f"{GROUP_ID}-consents", from_value(parse_event), apply_consent_changes)
        await broker.start()
        monitor = OpsMonitor(settings.metrics_targets, client_options(settings), settings.ops_scan_seconds)
        monitor_task = background.supervise("ops-monitor", monitor.run())
        watchdog = background.supervise("consumer-watchdog", restart_dead_consumers(broker))
        app.state.pool, app.state.ops = pool, monitor
        app.state.rules, app.state.changes = rules, changes
        app.state.record_key = record_keys(settings.pseudonym_key)  # the statistics' secret cell keys
        app.state.checks.update(postgres=lambda: database_ready(pool), kafka=lambda: broker.ping(timeout=2))
        try:
            yield
        finally:
            await background.stop(monitor_task, watchdog)
            await broker.stop()
            await pool.close()

    app = service_app("Samordna board (samordningstavla)", lifespan, api.router, settings)
    app.include_router(web.router)
    app.mount("/static", web.static_files(), name="static")
    return app
