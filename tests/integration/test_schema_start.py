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
