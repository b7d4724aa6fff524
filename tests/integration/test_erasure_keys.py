"""The keys of the sealed records on the real PostgreSQL, as the consent service's own role uses
them (services/consent/erasure.py): a consent's key is scheduled by its revocation and deleted
once the delay has passed; a statutory basis's key is scheduled once no consent of the person is
in force, and a new one is made for what crosses after; no key is made for a consent that ended."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from contracts.sealing import new_key
from services.consent import erasure, lifecycle, repository
from services.consent.schema import APP_ROLE, SCHEMA_SQL
from services.runtime.db import create_pool

pytestmark = pytest.mark.infra

NOW = datetime.now(UTC)
DELAY = 0.5  # seconds


async def test_keys_are_made_scheduled_and_erased_as_the_consents_end(infra):
    schema = f"consent_keys_{uuid.uuid4().hex[:8]}"
    pool = await create_pool(infra.dsn, schema, SCHEMA_SQL, role=APP_ROLE, min_size=1, max_size=2)
    try:
        async with pool.acquire() as conn, conn.transaction():
            kept = await _consent(conn, "with-one", NOW + timedelta(days=30))
            revoked = await _consent(conn, "leaves", NOW + timedelta(days=30))
            ended = await _consent(conn, "ended", NOW - timedelta(days=1))
            keys = await repository.consent_keys(
                conn, [(c["id"], c["person_pseudonym"]) for c in (kept, revoked, ended)], new_key
            )
            statutory = await repository.statutory_keys(conn, [("leaves", "SoL 14:1")], erasure._statutory_kid, new_key)
        assert set(keys) == {str(kept["id"]), str(revoked["id"])}, "none for a consent that has ended"

        async with pool.acquire() as conn, conn.transaction():
            row = await repository.revoke(conn, revoked["id"], "region-14")
            await lifecycle.append(conn, "revoked", row, "region-14", row["revoked_at"], DELAY)
        assert await erasure.sweep(pool, DELAY) == (1, 0), "the statutory key of who has no consent left: scheduled"
        await asyncio.sleep(DELAY + 0.2)  # the delay is the thing under test: nothing to await but the clock
        assert await erasure.sweep(pool, DELAY) == (0, 2)

        async with pool.acquire() as conn:
            left = {r["kid"] for r in await conn.fetch("SELECT kid FROM erasure_keys")}
            assert left == {keys[str(kept["id"])][0]}
            again = await repository.statutory_keys(conn, [("leaves", "SoL 14:1")], erasure._statutory_kid, new_key)
        assert again[("leaves", "SoL 14:1")][0] != statutory[("leaves", "SoL 14:1")][0], (
            "a new key for what comes after"
        )
    finally:
        await pool.close()


async def _consent(conn, pseudonym: str, until: datetime):
    return await repository.insert_consent(
        conn,
        {
            "id": uuid.uuid4(),
            "person_id": "199001012385",
            "person_pseudonym": pseudonym,
            "parties": ["region-14", "kommun-1489"],
            "categories": ["attendance"],
            "valid_from": NOW - timedelta(days=30),
            "valid_until": until,
            "form": "written",
            "recorded_by_principal": "region-14",
        },
    )
