"""The access log and the web sessions on the real PostgreSQL: entries are kept (no UPDATE, no
DELETE of anything younger than five years, no TRUNCATE, whatever the app's code does), found
per principal and person, and sessions end at their timeouts."""

import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from services.board.schema import SCHEMA_SQL
from services.board.sessions import Ended, Kind, SessionStore, Timeouts, digest, new_key, open_data
from services.runtime.access_log import Access, AccessLog, Accessor
from services.runtime.db import create_pool

ALINGSAS, LERUM = "kommun-1489", "kommun-1441"
ANNA = Accessor(ALINGSAS, "coordinator", "u-1@https://idp", "Anna", "SE2321000014-E00000000001", "LARO")


@pytest.fixture
async def pool(infra):
    schema = f"access_log_{uuid.uuid4().hex[:8]}"
    pool = await create_pool(infra.dsn, schema, SCHEMA_SQL, min_size=1, max_size=2)
    yield pool
    await pool.close()


async def test_entries_are_found_per_principal_and_person_and_cannot_be_changed(pool):
    log = AccessLog(pool)
    await log.record([Access(ANNA, "board.rows", "p1"), Access(ANNA, "board.timeline", "p2", {"events": 3})])
    await log.record([Access(Accessor(LERUM, "system", "token"), "board.rows", "p1")])

    alingsas = await log.search(ALINGSAS)
    about_p2 = await log.search(ALINGSAS, "p2")

    assert [(e["action"], e["person"]) for e in alingsas] == [("board.timeline", "p2"), ("board.rows", "p1")]
    assert about_p2[0] | {"at": None} == {
        "at": None, "principal": ALINGSAS, "role": "coordinator", "user": "u-1@https://idp", "name": "Anna",
        "hsa_id": "SE2321000014-E00000000001", "unit": "LARO", "person": "p2", "action": "board.timeline",
        "detail": {"events": 3},
    }  # fmt: skip
    for statement in ("UPDATE access_log SET user_id = 'x'", "DELETE FROM access_log", "TRUNCATE access_log"):
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
            await pool.execute(statement)
    assert len(await log.search(ALINGSAS)) == 2


async def test_only_entries_older_than_five_years_can_be_purged(pool):
    log = AccessLog(pool)
    now = datetime.now(UTC)
    await pool.execute(
        "INSERT INTO access_log (at, principal, role, user_id, person_pseudonym, action) VALUES"
        " ($1, $3, 'coordinator', 'u', 'old', 'board.rows'), ($2, $3, 'coordinator', 'u', 'recent', 'board.rows')",
        now - timedelta(days=6 * 365), now - timedelta(days=4 * 365), ALINGSAS,
    )  # fmt: skip

    with pytest.raises(ValueError, match="five years"):
        await log.purge(timedelta(days=365), now)
    assert await log.purge(timedelta(days=5 * 365 + 2), now) == 1
    assert [e["person"] for e in await log.search(ALINGSAS)] == ["recent"]


async def test_a_session_lives_until_its_idle_or_absolute_timeout(pool):
    store = SessionStore(pool, Timeouts(idle=timedelta(minutes=30), absolute=timedelta(hours=10)))
    t0 = datetime.now(UTC)
    session = await store.create(Kind.STAFF, {"staff": {"principal": ALINGSAS}}, t0)

    found, _ = await store.find(session.key, Kind.STAFF, t0 + timedelta(minutes=29))
    assert found is not None and found.data["csrf"] == session.data["csrf"]
    assert (await store.find(session.key, Kind.PENDING, t0))[0] is None  # a sign-in under way is no session
    kept, _ = await store.find(session.key, Kind.STAFF, t0 + timedelta(minutes=58))  # 29 min after the last use
    assert kept is not None
    assert await store.find(session.key, Kind.STAFF, t0 + timedelta(minutes=89)) == (None, Ended.IDLE)
    assert await store.find(session.key, Kind.STAFF, t0 + timedelta(minutes=90)) == (None, Ended.IDLE)  # still says why
    assert await store.sweep(t0 + timedelta(minutes=89 + 61)) >= 1
    assert await store.find(session.key, Kind.STAFF, t0 + timedelta(minutes=151)) == (None, None)  # gone

    other = await store.create(Kind.STAFF, {}, t0)
    for minutes in range(25, 600, 25):
        await store.find(other.key, Kind.STAFF, t0 + timedelta(minutes=minutes))
    assert await store.find(other.key, Kind.STAFF, t0 + timedelta(hours=10)) == (None, Ended.ABSOLUTE)
    stored = await pool.fetchval("SELECT count(*) FROM web_sessions WHERE data::text LIKE $1", f"%{session.key}%")
    assert stored == 0  # the key itself is nowhere in the table


async def test_a_sessions_data_is_sealed_under_its_own_key_and_opens_with_no_other(pool):
    store = SessionStore(pool, Timeouts(idle=timedelta(minutes=30), absolute=timedelta(hours=10)))
    now = datetime.now(UTC)
    tokens = {"access_token": "eyJ-secret-access", "refresh_token": "secret-refresh", "expires_at": 1}
    session = await store.create(Kind.STAFF, {"staff": {"principal": ALINGSAS, "hsa_id": "SE2120-E42"}}, now)
    session.data["tokens"] = tokens
    await store.save(session)

    stored = await pool.fetchval("SELECT data FROM web_sessions WHERE key_sha256 = $1", digest(session.key))
    for secret in ("eyJ-secret-access", "secret-refresh", "SE2120-E42", ALINGSAS, session.data["csrf"]):
        assert secret not in stored  # a row, a backup or a disk image: nothing of it in the clear
    assert open_data(session.key, stored)["tokens"] == tokens
    assert open_data(new_key(), stored) is None
    found, _ = await store.find(session.key, Kind.STAFF, now)
    assert found.data["tokens"] == tokens

    # a row copied under another session's digest does not open: the sealing is bound to its row
    other = await store.create(Kind.STAFF, {}, now)
    await pool.execute("UPDATE web_sessions SET data = $2 WHERE key_sha256 = $1", digest(other.key), stored)
    assert await store.find(other.key, Kind.STAFF, now) == (None, None)
    # a session stored in the clear by an earlier version is no session: its user signs in again
    await pool.execute("UPDATE web_sessions SET data = $2 WHERE key_sha256 = $1", digest(session.key), '{"csrf": "x"}')
    assert await store.find(session.key, Kind.STAFF, now) == (None, None)
