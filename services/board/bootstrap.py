"""The board's typed dependencies and how they are built: the store on PostgreSQL, the consumers
of shared.events and consent.changes feeding it, the live pages' counters, the ops monitor, the
alert rules, the statistics' record keys and the clock. `app.py` enters `bootstrap` in its
lifespan; the rebuild (`rebuild.py`) enters the smaller `projection_feed`.
"""

import json
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from services.board.alerts import AlertRules
from services.board.consumers import Feed, subscribe
from services.board.keys import PostgresKeyRing
from services.board.live import Changes
from services.board.ops import OpsMonitor
from services.board.ports import BoardStore, OpsNumbers
from services.board.schema import SCHEMA_SQL
from services.board.settings import BoardSettings
from services.board.statistics import RecordKey, record_keys
from services.board.store import PostgresBoardStore
from services.board.views import BoardViews
from services.runtime import background
from services.runtime.consuming import restart_dead_consumers
from services.runtime.db import create_pool
from services.runtime.kafka import client_options, kafka_broker
from services.runtime.pseudonym import Pseudonymizer

Clock = Callable[[], datetime]
DEFAULT_RULES_FILE = Path(__file__).with_name("alert_rules.json")


def load_rules(path: Path | None) -> AlertRules:
    """The alerts' thresholds, from `path` or the shipped file."""
    return AlertRules.model_validate(json.loads((path or DEFAULT_RULES_FILE).read_text()))


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Deps:
    settings: BoardSettings
    store: BoardStore
    ops: OpsNumbers
    changes: Changes  # per principal, a counter the live pages wait on
    rules: AlertRules
    record_key: RecordKey
    clock: Clock
    checks: Mapping[str, Callable[[], Awaitable[bool]]]  # readiness

    @property
    def views(self) -> BoardViews:
        return BoardViews(self.store, self.rules, self.record_key, self.clock)


@asynccontextmanager
async def projection_feed(settings: BoardSettings, max_connections: int = 2) -> AsyncIterator[Feed]:
    """The store on PostgreSQL, fed as the consumers feed it (no live pages)."""
    pool = await create_pool(
        settings.database_url, settings.db_schema, SCHEMA_SQL, min_size=1, max_size=max_connections
    )
    try:
        keys = PostgresKeyRing(pool, settings.erasure_keys_table)
        yield Feed(PostgresBoardStore(pool), Pseudonymizer(settings.pseudonym_key), keys)
    finally:
        await pool.close()


@asynccontextmanager
async def bootstrap(settings: BoardSettings) -> AsyncIterator[Deps]:
    rules = load_rules(settings.alert_rules_file)
    async with projection_feed(settings, max_connections=10) as feed:
        changes = Changes()
        broker = kafka_broker(settings, "samordna-board")
        subscribe(broker, replace(feed, moved=changes.bump))
        await broker.start()
        monitor = OpsMonitor(settings.metrics_targets, client_options(settings), settings.ops_scan_seconds)
        tasks = (
            background.supervise("ops-monitor", monitor.run()),
            background.supervise("consumer-watchdog", restart_dead_consumers(broker)),
        )
        try:
            yield Deps(
                settings=settings,
                store=feed.store,
                ops=monitor,
                changes=changes,
                rules=rules,
                record_key=record_keys(settings.pseudonym_key),
                clock=utc_now,
                checks={"postgres": feed.store.ready, "kafka": lambda: broker.ping(timeout=2)},
            )
        finally:
            await background.stop(*tasks)
            await broker.stop()
