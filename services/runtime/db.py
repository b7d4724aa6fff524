"""PostgreSQL access: one schema per service, created on start.

A schema's SQL (CREATE ... IF NOT EXISTS, ALTER TABLE ... ADD COLUMN IF NOT EXISTS, indexes,
triggers, grants) runs only when that very text has not run in the schema before: its SHA-256 is
recorded in the schema's `schema_applied` table. Such statements take their table's locks even
when they change nothing — an ALTER TABLE an ACCESS EXCLUSIVE lock — so a replica starting
beside one that is writing would queue behind the writer's transaction and ahead of its next
statement, and PostgreSQL would break the deadlock by failing one of them. The same code
starting again now reads one row and takes no lock on a table.
"""

import hashlib

import asyncpg

_SCHEMA_LOCK = 0x5A4D0D4A

# Session state, which asyncpg's default reset would clear when a connection goes back to its pool
# (`SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL`). The services set none: they
# take transaction-scoped advisory locks and `SET LOCAL`, use cursors only inside transactions, and
# the one LISTEN (the webhook wake-up) is taken back by the code that took it. So the pools skip that
# query: it was a round trip of its own at every release, about nine per event at 20 events/s
# (docs/performance.md, "Costs the services did not need"). tests/unit/test_session_state.py
# keeps the services to this; asyncpg still rolls back a transaction left open.
_APPLIED_TABLE = """CREATE TABLE IF NOT EXISTS schema_applied (
    digest text PRIMARY KEY,  -- SHA-256 of a schema SQL text that has run here
    applied_at timestamptz NOT NULL DEFAULT now()
)"""


async def create_pool(dsn: str, schema: str, schema_sql: str, role: str | None = None, **kwargs) -> asyncpg.Pool:
    """A pool whose connections see `schema` first; the schema's tables are created if missing.

    The tables are created as the DSN's user; with `role`, the pool's queries then run as that
    (less privileged) role.
    """
    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction():
            # Two services starting at once must not race on CREATE ... IF NOT EXISTS.
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _SCHEMA_LOCK)
            await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
            await conn.execute(f'SET LOCAL search_path TO "{schema}"')
            await conn.execute(_APPLIED_TABLE)
            digest = hashlib.sha256(schema_sql.encode()).hexdigest()
            if not await conn.fetchval("SELECT true FROM schema_applied WHERE digest = $1", digest):
                await conn.execute(schema_sql)
                await conn.execute("INSERT INTO schema_applied (digest) VALUES ($1)", digest)
    finally:
        await conn.close()
    settings = {"search_path": schema} | ({"role": role} if role else {})
    return await asyncpg.create_pool(dsn, server_settings=settings, reset=_no_session_state, **kwargs)


async def _no_session_state(conn: asyncpg.Connection) -> None:
    """The pool's reset after asyncpg's own rollback of an open transaction: nothing to undo
    (above)."""


async def database_ready(pool: asyncpg.Pool) -> bool:
    return bool(await pool.fetchval("SELECT true", timeout=2))
