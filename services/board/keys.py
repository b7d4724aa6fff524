"""The keys that open the board's sealed records, read where the consent service keeps them.

The consent service owns the keys and deletes them when the consents that hold a record end
(services/consent/erasure.py); the board only reads them, for each batch it opens, and never
keeps a copy: a key deleted there opens nothing here from the next batch on.
"""

import re
from collections.abc import Iterable

import asyncpg

_TABLE = re.compile(r"^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)?$")


class PostgresKeyRing:
    def __init__(self, pool: asyncpg.Pool, table: str) -> None:
        if not _TABLE.match(table):
            raise ValueError(f"not a table name: {table!r}")
        self._pool = pool
        self._table = table

    async def keys(self, kids: Iterable[str]) -> dict[str, bytes]:
        wanted = sorted(set(kids))
        if not wanted:
            return {}
        rows = await self._pool.fetch(f"SELECT kid, key FROM {self._table} WHERE kid = ANY($1::text[])", wanted)
        return {r["kid"]: bytes(r["key"]) for r in rows}
