"""The board's typed dependencies and how they are built: the store on PostgreSQL, the consumers
of shared.events and consent.changes feeding it, the live pages' counters, the ops monitor, the
alert rules, the statistics' record keys and the clock. `app.py` enters `bootstrap` in its
lifespan; the rebuild (`rebuild.py`) enters the smaller `projection_feed`.
"""

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg

from contracts.principals import display_name
from services.board.alerts import AlertRules
from services.board.consumers import Feed, subscribe
from services.board.keys import PostgresKeyRing
from services.board.live import Changes
from services.board.ops import OpsMonitor
from services.board.ports import BoardStore, OpsNumbers
from services.board.schema import SCHEMA_SQL
from services.board.sessions import SessionStore, Timeouts
from services.board.settings import BoardSettings
from services.board.statistics import RecordKey, record_keys
from services.board.store import PostgresBoardStore
from services.board.upstream import Upstream
from services.board.views import BoardViews, RowCache
from services.runtime import background
from services.runtime.access_log import AccessLog
from services.runtime.consuming import restart_dead_consumers
from services.runtime.db import create_pool
from services.runtime.jwt_issuers import read_issuers
from services.runtime.kafka import client_options, kafka_broker
from services.runtime.oidc import SignIn, web_providers
from services.runtime.pseudonym import Pseudonymizer

log = logging.getLogger(__name__)
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
    sessions: SessionStore  # the web pages' server-side sessions
    access_log: AccessLog  # who looked at which person (services/runtime/access_log.py)
    sign_in: SignIn  # the organisations' identity providers (OpenID Connect)
    upstream: Upstream | None = None  # the APIs, called as the signed-in user (services/board/upstream.py)
    row_cache: RowCache = field(default_factory=RowCache)  # the folded rows, one per process

    @property
    def views(self) -> BoardViews:
        return BoardViews(self.store, self.rules, self.record_key, self.clock, self.row_cache)


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


def sign_in_of(settings: BoardSettings) -> SignIn:
    """The providers staff sign in through: the issuers of the issuers file with a client file."""
    issuers = read_issuers(settings.jwt_issuers_file) if settings.jwt_issuers_file else ()
    return SignIn(web_providers(issuers, display_name))


def timeouts_of(settings: BoardSettings) -> Timeouts:
    return Timeouts(timedelta(minutes=settings.session_idle_minutes), timedelta(hours=settings.session_absolute_hours))


async def keep_tidy(sessions: SessionStore, access_log: AccessLog, settings: BoardSettings) -> None:
    """Forget ended sessions every minute; purge the access log past its retention once per period."""
    retention = settings.access_log_retention
    last_purge = None
    while True:
        now = utc_now()
        try:
            await sessions.sweep(now)
            if last_purge is None or now - last_purge >= timedelta(hours=settings.access_log_purge_hours):
                await access_log.purge(retention, now)
                last_purge = now
        except (asyncpg.PostgresError, OSError) as exc:  # the database away for a moment: next minute
            log.warning("web sessions or access log not tidied", extra={"error": type(exc).__name__})
        await asyncio.sleep(60)


@asynccontextmanager
async def bootstrap(settings: BoardSettings) -> AsyncIterator[Deps]:
    rules = load_rules(settings.alert_rules_file)
    sign_in = sign_in_of(settings)
    async with projection_feed(settings, max_connections=10) as feed:
        web_pool = await create_pool(settings.database_url, settings.db_schema, SCHEMA_SQL, min_size=1, max_size=4)
        sessions, access_log = SessionStore(web_pool, timeouts_of(settings)), AccessLog(web_pool)
        changes = Changes()
        broker = kafka_broker(settings, "samordna-board")
        subscribe(broker, replace(feed, moved=changes.bump))
        await broker.start()
        upstream = Upstream(settings.metrics_targets, sessions, sign_in)
        monitor = OpsMonitor(settings.metrics_targets, client_options(settings), settings.ops_scan_seconds)
        tasks = (
            background.supervise("ops-monitor", monitor.run()),
            background.supervise("consumer-watchdog", restart_dead_consumers(broker)),
            background.supervise("web-tidy", keep_tidy(sessions, access_log, settings)),
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
                sessions=sessions,
                access_log=access_log,
                sign_in=sign_in,
                upstream=upstream,
            )
        finally:
            await background.stop(*tasks)
            await upstream.aclose()
            await broker.stop()
            await web_pool.close()
