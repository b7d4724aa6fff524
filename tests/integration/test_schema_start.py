"""A service's schema on the real PostgreSQL (services/runtime/db.py `create_pool`): its SQL runs
once per text, so that a replica starting beside one that is writing takes no lock on the tables
the other is using — an ALTER TABLE ... IF NOT EXISTS takes an ACCESS EXCLUSIVE lock even when it
changes nothing, and a rebuild's second worker deadlocked its first that way."""

import asyncio
import uuid

import asyncpg
import pytest

from services.board.schema import SCHEMA_SQL as BOARD_SCHEMA_SQL
from services.runtime.db import create_pool

pytestmark = pytest.mark.infra


@pytest.fixture
async def schema(infra):
    name = f"schema_start_{uuid.uuid4().hex[:8]}"
    yield name
    conn = await asyncpg.connect(infra.dsn)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
    finally:
        await conn.close()


async def test_a_replica_starts_while_another_holds_its_tables_in_a_transaction(infra, schema):
    writer = await create_pool(infra.dsn, schema, BOARD_SCHEMA_SQL, min_size=1, max_size=1)
    try:
        async with writer.acquire() as conn, conn.transaction():
            await conn.fetch("SELECT * FROM events LIMIT 1")  # the writer's transaction holds the table
            started = create_pool(infra.dsn, schema, BOARD_SCHEMA_SQL, min_size=1, max_size=1)
            replica = await asyncio.wait_for(started, timeout=15)  # before: waited for the writer's commit
            await conn.execute("DELETE FROM events")  # and the writer goes on: no lock queued ahead of it
        assert await replica.fetchval("SELECT count(*) FROM events") == 0
        await replica.close()
    finally:
        await writer.close()


async def test_a_schema_text_runs_once_and_a_changed_text_runs_again(infra, schema):
    first = "CREATE TABLE IF NOT EXISTS starts (n int); INSERT INTO starts VALUES (1);"
    second = first + " CREATE TABLE IF NOT EXISTS added_later (n int);"
    for sql in (first, first, second, second, first):
        await (await create_pool(infra.dsn, schema, sql, min_size=1, max_size=1)).close()
    conn = await asyncpg.connect(infra.dsn)
    try:
        assert await conn.fetchval(f'SELECT count(*) FROM "{schema}".starts') == 2  # first, then second
        assert await conn.fetchval(f"SELECT to_regclass('\"{schema}\".added_later') IS NOT NULL")
    finally:
        await conn.close()


async def test_a_connection_comes_back_to_its_pool_without_a_reset_query_and_with_no_transaction_left(infra, schema):
    """The pools skip asyncpg's reset query (its own round trip at every release); what a service
    may leave — a transaction, SET LOCAL, a transaction's advisory lock — still ends with asyncpg's
    rollback, and the next user of the one connection finds the session as it was."""
    pool = await create_pool(infra.dsn, schema, BOARD_SCHEMA_SQL, min_size=1, max_size=1)
    observer = await asyncpg.connect(infra.dsn)
    try:
        async with pool.acquire() as conn:
            pid = conn.get_server_pid()
            await conn.execute("BEGIN")  # left open, as a cancelled handler would
            await conn.execute("SET LOCAL lock_timeout = '123ms'")
            await conn.execute("SELECT pg_advisory_xact_lock(4242)")
        async with pool.acquire() as conn:
            assert conn.get_server_pid() == pid  # the same session
            assert not conn.is_in_transaction()
            assert await conn.fetchval("SHOW lock_timeout") == "0"
            assert await conn.fetchval("SELECT current_schema()") == schema
            await conn.execute("SELECT 'last of this use'")
        last = await observer.fetchval("SELECT query FROM pg_stat_activity WHERE pid = $1", pid)
        assert last == "SELECT 'last of this use'"  # asyncpg's default reset would be the last: RESET ALL
        advisory = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = $1"
        assert not await observer.fetchval(advisory, pid)
    finally:
        await observer.close()
        await pool.close()
