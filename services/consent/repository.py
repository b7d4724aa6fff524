"""Consents and audit rows in PostgreSQL (asyncpg). The only module here that speaks SQL."""

from collections.abc import AsyncIterator
from datetime import datetime
from uuid import UUID

import asyncpg

from contracts import GateDecision
from services.consent.chain import CHAINED_COLUMNS, GENESIS, KEYED, TIME_COLUMNS, row_hash
from services.consent.domain import Consent

_AUDIT_CHAIN_LOCK = 0xA0D17

_CONSENT_COLUMNS = """id, person_pseudonym, parties, categories, excluded_categories, excluded_types,
    valid_from, valid_until, revoked_at"""


def _consent(row: asyncpg.Record) -> Consent:
    return Consent(
        id=row["id"],
        person_pseudonym=row["person_pseudonym"],
        parties=frozenset(row["parties"]),
        categories=frozenset(row["categories"]),
        excluded_categories=frozenset(row["excluded_categories"]),
        excluded_types=frozenset(row["excluded_types"]),
        valid_from=row["valid_from"],
        valid_until=row["valid_until"],
        revoked_at=row["revoked_at"],
    )


async def insert_consent(conn: asyncpg.Connection, record: dict) -> asyncpg.Record:
    columns = ", ".join(record)
    placeholders = ", ".join(f"${i}" for i in range(1, len(record) + 1))
    return await conn.fetchrow(
        f"INSERT INTO consents ({columns}) VALUES ({placeholders}) RETURNING *", *record.values()
    )


async def consents_of_person(conn: asyncpg.Connection, pseudonym: str) -> list[asyncpg.Record]:
    return await conn.fetch("SELECT * FROM consents WHERE person_pseudonym = $1 ORDER BY recorded_at, id", pseudonym)


async def consent_by_id(conn: asyncpg.Connection, consent_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM consents WHERE id = $1", consent_id)


async def revoke(
    conn: asyncpg.Connection, consent_id: UUID, by: str, reason: str | None = None
) -> asyncpg.Record | None:
    """Mark revoked, inside the caller's transaction. Returns None if it already was.

    The row lock waits for every gate batch that holds the consent FOR SHARE. `revoked_at` is
    read from the database clock only once the lock is held, so it is later than every
    decision that used the consent (an UPDATE alone would compute it before waiting).
    """
    locked = await conn.fetchval("SELECT id FROM consents WHERE id = $1 AND revoked_at IS NULL FOR UPDATE", consent_id)
    if locked is None:
        return None
    return await conn.fetchrow(
        """UPDATE consents SET revoked_at = clock_timestamp(), revoked_by_principal = $2, revocation_reason = $3
           WHERE id = $1 RETURNING *""",
        consent_id,
        by,
        reason,
    )


async def append_consent_event(conn: asyncpg.Connection, record: dict) -> bool:
    """Append to the consent's history (and the outbox); False if this event was appended before."""
    inserted = await conn.fetchval(
        """INSERT INTO consent_events (event_id, consent_id, kind, event, kafka_key, occurred_at)
           VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (event_id) DO NOTHING RETURNING seq""",
        *(record[k] for k in ("event_id", "consent_id", "kind", "event", "kafka_key", "occurred_at")),
    )
    return inserted is not None


async def consents_due(conn: asyncpg.Connection, kind: str, horizon: datetime) -> list[asyncpg.Record]:
    """Unrevoked consents ending before `horizon` that have no `kind` event yet."""
    return await conn.fetch(
        """SELECT c.* FROM consents c
           WHERE c.revoked_at IS NULL AND c.valid_until <= $2
             AND NOT EXISTS (SELECT 1 FROM consent_events e WHERE e.consent_id = c.id AND e.kind = $1)""",
        kind,
        horizon,
    )


async def history_of(conn: asyncpg.Connection, consent_id: UUID) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT kind, occurred_at, event_id FROM consent_events WHERE consent_id = $1 ORDER BY seq", consent_id
    )


async def database_now(conn: asyncpg.Connection) -> datetime:
    """The database clock: the one clock that decisions and revocations are compared on."""
    return await conn.fetchval("SELECT clock_timestamp()")


async def lock_consents_of(conn: asyncpg.Connection, pseudonyms: list[str]) -> dict[str, list[Consent]]:
    """The persons' consents, share-locked until the caller's transaction ends."""
    rows = await conn.fetch(
        f"SELECT {_CONSENT_COLUMNS} FROM consents WHERE person_pseudonym = ANY($1::text[]) ORDER BY id FOR SHARE",
        pseudonyms,
    )
    by_person: dict[str, list[Consent]] = {p: [] for p in pseudonyms}
    for row in rows:
        by_person[row["person_pseudonym"]].append(_consent(row))
    return by_person


async def record_decisions(conn: asyncpg.Connection, decisions: list[GateDecision], chain_key: bytes) -> None:
    """Append decisions not recorded before, extending the keyed hash chain. Safe to call again."""
    async with conn.transaction():
        # One writer at a time extends the chain, whatever the number of consent replicas.
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _AUDIT_CHAIN_LOCK)
        known = await conn.fetch(
            "SELECT decision_id FROM audit WHERE decision_id = ANY($1::uuid[])", [d.decision_id for d in decisions]
        )
        known_ids = {str(r["decision_id"]) for r in known}
        last = await conn.fetchrow("SELECT seq, row_hash FROM audit ORDER BY seq DESC LIMIT 1")
        seq, prev_hash = (last["seq"], last["row_hash"]) if last else (0, GENESIS)
        rows = []
        for decision in decisions:
            if decision.decision_id in known_ids:
                continue
            known_ids.add(decision.decision_id)
            seq += 1
            row = _audit_row(seq, decision)
            row["prev_hash"] = prev_hash
            row["row_hash"] = prev_hash = row_hash(prev_hash, row, chain_key)
            row["chain_version"] = KEYED
            rows.append(row)
        if rows:
            await conn.copy_records_to_table("audit", records=[tuple(r.values()) for r in rows], columns=list(rows[0]))


def _audit_row(seq: int, d: GateDecision) -> dict:
    return {
        "seq": seq,
        "decision_id": UUID(d.decision_id),
        "event_id": d.event_id,
        "event_type": d.event_type,
        "category": str(d.category),
        "sender": d.sender,
        "recipient": d.recipient,
        "person_pseudonym": d.person_pseudonym,
        "forwarded": d.forwarded,
        "reason": d.reason,
        "basis": d.basis,
        "consent_id": UUID(d.consent_id) if d.consent_id else None,
        "legal_reference": d.legal_reference,
        "event_time": d.event_time,
        "decided_at": d.decided_at,
    }


async def audit_head(conn: asyncpg.Connection) -> tuple[int, str, int | None]:
    """The chain's last seq and hash, and the first seq chained with the key (None before any)."""
    row = await conn.fetchrow(
        """SELECT (SELECT seq FROM audit ORDER BY seq DESC LIMIT 1) AS seq,
                  (SELECT row_hash FROM audit ORDER BY seq DESC LIMIT 1) AS row_hash,
                  (SELECT min(seq) FROM audit WHERE chain_version = $1) AS keyed_from""",
        KEYED,
    )
    return (row["seq"] or 0, row["row_hash"] or GENESIS, row["keyed_from"])


async def audit_hash_at(conn: asyncpg.Connection, seq: int) -> str | None:
    return await conn.fetchval("SELECT row_hash FROM audit WHERE seq = $1", seq)


# Timestamps as text: a stored -infinity, or a year asyncpg cannot turn into a datetime, must
# reach the verifier as something it can report (needs DateStyle ISO and TimeZone UTC).
_AUDIT_AS_STORED = ", ".join(f"{c}::text AS {c}" if c in TIME_COLUMNS else c for c in CHAINED_COLUMNS)


async def audit_as_stored(conn: asyncpg.Connection, batch: int = 5000) -> AsyncIterator[asyncpg.Record]:
    """Every audit row in seq order, as stored, a batch at a time (the chain may be long)."""
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        query = f"SELECT {_AUDIT_AS_STORED}, prev_hash, row_hash, chain_version FROM audit ORDER BY seq"
        async for row in conn.cursor(query, prefetch=batch):
            yield row


async def audit_visible_to(conn: asyncpg.Connection, pseudonym: str, principal: str) -> list[asyncpg.Record]:
    """The person's decisions that `principal` may know of: every decision about an event it sent
    (forwarded or not, to anyone) and each decision that forwarded an event to it. A decision that
    withheld another principal's event from it is left out: knowing of it is itself a disclosure."""
    return await conn.fetch(
        """SELECT * FROM audit WHERE person_pseudonym = $1
           AND (sender = $2 OR (recipient = $2 AND forwarded))
           ORDER BY seq""",
        pseudonym,
        principal,
    )


async def events_seen_by(
    conn: asyncpg.Connection, pseudonym: str, principal: str, since: datetime
) -> list[asyncpg.Record]:
    """The person's events since `since` that `principal` sent or received, once each, oldest first."""
    return await conn.fetch(
        """SELECT DISTINCT ON (event_id, sender) event_id, sender AS principal, event_type AS type, category,
                  event_time AS time
           FROM audit
           WHERE person_pseudonym = $1 AND event_time >= $3
             AND (sender = $2 OR (recipient = $2 AND forwarded))
           ORDER BY event_id, sender, seq""",
        pseudonym,
        principal,
        since,
    )


async def take_delivery_numbers(conn: asyncpg.Connection, counts: dict[str, int]) -> dict[str, int]:
    """Reserve `counts[recipient]` consecutive delivery numbers per recipient; returns the first of each.

    The row lock is held until the caller's transaction ends, so numbers are handed out in
    commit order and a rolled-back batch gives its numbers back. Recipients are locked in
    sorted order, so two gates never deadlock on them.
    """
    first: dict[str, int] = {}
    for recipient in sorted(counts):
        last = await conn.fetchval(
            """INSERT INTO delivery_sequences (recipient, last_seq) VALUES ($1, $2)
               ON CONFLICT (recipient) DO UPDATE SET last_seq = delivery_sequences.last_seq + EXCLUDED.last_seq
               RETURNING last_seq""",
            recipient,
            counts[recipient],
        )
        first[recipient] = last - counts[recipient] + 1
    return first


async def claim_partitions(
    conn: asyncpg.Connection, group_id: str, partitions: list[tuple[str, int]]
) -> dict[tuple[str, int], int]:
    """Lock the progress rows of a batch's `(topic, partition)`s until the caller's transaction
    ends; returns the offset each is decided up to (0 for one never decided). Rows are locked in
    sorted order, so two gates never deadlock on them; a gate holding a row makes another wait
    until its batch is committed or rolled back."""
    wanted = sorted(partitions)
    rows = await conn.fetch(
        """INSERT INTO gate_progress (group_id, topic, partition, next_offset)
           SELECT $1, topic, partition, 0 FROM unnest($2::text[], $3::int[]) WITH ORDINALITY
                  AS wanted(topic, partition, n) ORDER BY n
           ON CONFLICT (group_id, topic, partition) DO UPDATE SET next_offset = gate_progress.next_offset
           RETURNING topic, partition, next_offset""",
        group_id,
        [topic for topic, _ in wanted],
        [partition for _, partition in wanted],
    )
    return {(row["topic"], row["partition"]): row["next_offset"] for row in rows}


async def advance_partitions(conn: asyncpg.Connection, group_id: str, offsets: dict[tuple[str, int], int]) -> None:
    """Move the claimed rows on to `offsets` (the next record to decide in each); never back."""
    await conn.execute(
        """UPDATE gate_progress SET next_offset = GREATEST(gate_progress.next_offset, moved.next_offset)
           FROM unnest($2::text[], $3::int[], $4::bigint[]) AS moved(topic, partition, next_offset)
           WHERE gate_progress.group_id = $1 AND gate_progress.topic = moved.topic
             AND gate_progress.partition = moved.partition""",
        group_id,
        [topic for topic, _ in offsets],
        [partition for _, partition in offsets],
        list(offsets.values()),
    )


# --- the keys that hold the board's sealed copies (services/consent/erasure.py) ----------------


async def consent_key(conn: asyncpg.Connection, consent_id: UUID, pseudonym: str, new_key) -> tuple[str, bytes]:
    """The consent's (kid, key), made if it has none (a new consent, or one from before the keys)."""
    await conn.execute(
        """INSERT INTO erasure_keys (kid, person_pseudonym, consent_id, key) VALUES ($1, $2, $3, $4)
           ON CONFLICT DO NOTHING""",
        f"consent-{consent_id}",
        pseudonym,
        consent_id,
        new_key(),
    )
    row = await conn.fetchrow("SELECT kid, key FROM erasure_keys WHERE consent_id = $1", consent_id)
    return row["kid"], bytes(row["key"])


async def consent_keys(
    conn: asyncpg.Connection, consents: list[tuple[UUID, str]], new_key
) -> dict[str, tuple[str, bytes]]:
    """consent id -> (kid, key) of each (consent id, pseudonym), made if it has none yet (a
    consent from before the keys). An erased key is not made again: its consent has ended."""
    if not consents:
        return {}
    found = await _consent_keys(conn, [c for c, _ in consents])
    if missing := [(c, p) for c, p in consents if str(c) not in found]:
        await conn.executemany(
            """INSERT INTO erasure_keys (kid, person_pseudonym, consent_id, key)
               SELECT $1, $2, $3, $4 WHERE NOT EXISTS (SELECT 1 FROM consents WHERE id = $3
                   AND (revoked_at IS NOT NULL OR valid_until <= clock_timestamp()))
               ON CONFLICT DO NOTHING""",
            [(f"consent-{consent_id}", pseudonym, consent_id, new_key()) for consent_id, pseudonym in missing],
        )
        found |= await _consent_keys(conn, [c for c, _ in missing])
    return found


async def _consent_keys(conn: asyncpg.Connection, consent_ids: list[UUID]) -> dict[str, tuple[str, bytes]]:
    rows = await conn.fetch(
        "SELECT consent_id, kid, key FROM erasure_keys WHERE consent_id = ANY($1::uuid[])", consent_ids
    )
    return {str(r["consent_id"]): (r["kid"], bytes(r["key"])) for r in rows}


async def statutory_keys(
    conn: asyncpg.Connection, wanted: list[tuple[str, str]], new_kid, new_key
) -> dict[tuple[str, str], tuple[str, bytes]]:
    """(pseudonym, legal reference) -> (kid, key) in use, made where there is none."""
    if not wanted:
        return {}
    found = await _statutory_keys(conn, wanted)
    if missing := [w for w in wanted if w not in found]:
        await conn.executemany(
            """INSERT INTO erasure_keys (kid, person_pseudonym, legal_reference, key) VALUES ($1, $2, $3, $4)
               ON CONFLICT DO NOTHING""",
            [(new_kid(), pseudonym, reference, new_key()) for pseudonym, reference in missing],
        )
        found |= await _statutory_keys(conn, missing)
    return found


async def _statutory_keys(conn: asyncpg.Connection, wanted: list[tuple[str, str]]) -> dict:
    rows = await conn.fetch(
        """SELECT person_pseudonym, legal_reference, kid, key FROM erasure_keys
           WHERE consent_id IS NULL AND erase_after IS NULL
             AND (person_pseudonym, legal_reference) IN (SELECT * FROM unnest($1::text[], $2::text[]))""",
        [p for p, _ in wanted],
        [r for _, r in wanted],
    )
    return {(r["person_pseudonym"], r["legal_reference"]): (r["kid"], bytes(r["key"])) for r in rows}


async def schedule_consent_erasure(conn: asyncpg.Connection, consent_id: UUID, delay_seconds: float) -> None:
    """Inside the transaction that revokes the consent or records its expiry."""
    await conn.execute(
        """UPDATE erasure_keys SET erase_after = clock_timestamp() + make_interval(secs => $2)
           WHERE consent_id = $1 AND erase_after IS NULL""",
        consent_id,
        delay_seconds,
    )


async def erase_due_keys(conn: asyncpg.Connection, delay_seconds: float) -> tuple[int, int]:
    """Schedule the statutory keys of persons with no consent in force; delete every key whose
    time has come. Answers (scheduled, deleted)."""
    scheduled = await conn.fetchval(
        """WITH s AS (UPDATE erasure_keys k SET erase_after = clock_timestamp() + make_interval(secs => $1)
             WHERE k.consent_id IS NULL AND k.erase_after IS NULL AND NOT EXISTS (
                 SELECT 1 FROM consents c WHERE c.person_pseudonym = k.person_pseudonym
                 AND c.revoked_at IS NULL AND c.valid_until > clock_timestamp())
             RETURNING 1) SELECT count(*) FROM s""",
        delay_seconds,
    )
    deleted = await conn.fetchval(
        "WITH d AS (DELETE FROM erasure_keys WHERE erase_after <= clock_timestamp() RETURNING 1) SELECT count(*) FROM d"
    )
    if deleted:  # and the clear topics' copies of them too (services/consent/log_erasure.py)
        await conn.execute(
            """INSERT INTO log_erasure_due AS d DEFAULT VALUES
               ON CONFLICT (due) DO UPDATE SET erasures = d.erasures + 1"""
        )
    return scheduled, deleted
