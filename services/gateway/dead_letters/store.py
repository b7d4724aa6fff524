"""The dead_letters table of a gateway: what its consumers' dead-letter topic held."""

from __future__ import annotations  # `list` is also a method name here

from typing import Literal

import asyncpg

from contracts import DeadLetter

LetterStatus = Literal["open", "replayed", "all"]

_COLUMNS = (
    "id, origin_topic, origin_partition, origin_offset, consumer, reason, kafka_key, value, failed_at, replayed_at"
)
_CONDITIONS = {"open": "replayed_at IS NULL", "replayed": "replayed_at IS NOT NULL", "all": "true"}


class PgDeadLetters:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def store(self, letters: list[DeadLetter]) -> None:
        """Idempotent: the same record refused by the same consumer is kept once."""
        await self.pool.executemany(
            """INSERT INTO dead_letters (origin_topic, origin_partition, origin_offset, consumer, reason, kafka_key,
                                         value, failed_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING""",
            [
                (d.origin_topic, d.origin_partition, d.origin_offset, d.consumer, d.reason, d.key, d.value, d.failed_at)
                for d in letters
            ],
        )

    async def list(self, status: LetterStatus, after: int, limit: int) -> list[dict]:
        """Dead letters by id; status is open (not replayed), replayed, or all."""
        rows = await self.pool.fetch(
            f"SELECT {_COLUMNS} FROM dead_letters WHERE id > $1 AND {_CONDITIONS[status]} ORDER BY id LIMIT $2",
            after,
            limit,
        )
        return [dict(row) for row in rows]

    async def open_letters(self, ids: list[int] | None) -> list[dict]:
        """The letters not yet replayed: these ids, or all with None."""
        rows = await self.pool.fetch(
            f"""SELECT {_COLUMNS} FROM dead_letters
                WHERE replayed_at IS NULL AND ($1::bigint[] IS NULL OR id = ANY($1)) ORDER BY id""",
            ids,
        )
        return [dict(row) for row in rows]

    async def mark_replayed(self, letter_id: int) -> None:
        await self.pool.execute("UPDATE dead_letters SET replayed_at = now() WHERE id = $1", letter_id)
