"""PostgreSQL access: one schema per service, created on start."""

import asyncpg

_SCHEMA_LOCK = 0x5A4D0D4A


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
            await conn.execute(schema_sql)
    finally:
        await conn.close()
    settings = {"search_path": schema} | ({"role": role} if role else {})
    return await asyncpg.create_pool(dsn, server_settings=settings, **kwargs)


async def database_ready(pool: asyncpg.Pool) -> bool:
    return bool(await pool.fetchval("SELECT true", timeout=2))
