"""The consent service's stores on PostgreSQL: the Protocols of `services/consent/ports.py` over
an asyncpg pool, each method one connection (and one transaction where it writes)."""

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg

from services.consent import erasure, lifecycle, repository


class PostgresConsents:
    def __init__(self, pool: asyncpg.Pool, erasure_delay: float = erasure.DEFAULT_DELAY_SECONDS) -> None:
        self._pool = pool
        self._erasure_delay = erasure_delay  # seconds from a revocation to its key's erasure

    async def grant(self, record: Mapping[str, Any], by: str) -> asyncpg.Record:
        async with self._pool.acquire() as conn, conn.transaction():
            row = await repository.insert_consent(conn, dict(record))
            await lifecycle.append(conn, "granted", row, by, row["recorded_at"])
        return row

    async def of_person(self, pseudonym: str) -> list[asyncpg.Record]:
        async with self._pool.acquire() as conn:
            return await repository.consents_of_person(conn, pseudonym)

    async def by_id(self, consent_id: UUID) -> asyncpg.Record | None:
        async with self._pool.acquire() as conn:
            return await repository.consent_by_id(conn, consent_id)

    async def revoke(self, consent_id: UUID, by: str, reason: str | None = None) -> asyncpg.Record | None:
        async with self._pool.acquire() as conn, conn.transaction():
            revoked = await repository.revoke(conn, consent_id, by, reason)
            if revoked is not None:
                await lifecycle.append(conn, "revoked", revoked, by, revoked["revoked_at"], self._erasure_delay)
        return revoked

    async def history(self, consent_id: UUID) -> list[asyncpg.Record]:
        async with self._pool.acquire() as conn:
            return await repository.history_of(conn, consent_id)


class PostgresAudit:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def visible_to(self, pseudonym: str, principal: str) -> list[asyncpg.Record]:
        async with self._pool.acquire() as conn:
            return await repository.audit_visible_to(conn, pseudonym, principal)

    async def seen_by(
        self, pseudonym: str, principal: str, lookback: timedelta
    ) -> tuple[datetime, list[asyncpg.Record]]:
        async with self._pool.acquire() as conn:
            now = await repository.database_now(conn)
            return now, await repository.events_seen_by(conn, pseudonym, principal, now - lookback)
