"""Tampering with the audit behind the service's back, as a database administrator could, on the
real stack: rows dropped from the end, a row edited and every later hash recomputed with plain
SHA-256, and a stored value asyncpg cannot read. The verify command names each, and the running
service's checkpoints (audit.checkpoints) are what make the first two visible."""

import asyncio
import uuid
from datetime import UTC, datetime

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer

from contracts import DecisionBatch, GateDecision
from contracts.topics import GATE_DECISIONS
from deploy.access import GATE_USER
from services.consent import audit, checkpoint, repository
from services.consent.audit import chain_key, checkpoints_on_topic
from services.consent.chain import GENESIS, LEGACY, ChainCheck, row_hash
from services.consent.schema import APP_ROLE, SCHEMA_SQL
from services.consent.settings import DEVELOPMENT_AUDIT_KEY
from services.runtime.db import create_pool
from tests.integration.test_audit_trail import ALINGSAS, REGION, verify
from tests.support.client import StackClient, event, eventually
from tests.support.personnummer import random_person_id

SIGNING = checkpoint.signing_key(DEVELOPMENT_AUDIT_KEY.encode())  # the test stack runs in development


async def newest_checkpoint(stack) -> checkpoint.Checkpoint | None:
    return checkpoint.newest((await checkpoints_on_topic(stack.kafka_options(GATE_USER), SIGNING))[0])


async def connect(stack) -> asyncpg.Connection:
    return await asyncpg.connect(stack.dsn, server_settings={"search_path": "consent"})


async def behind_the_triggers(conn: asyncpg.Connection, *statements: tuple) -> None:
    """What only a superuser can do: change the append-only table with its triggers off."""
    async with conn.transaction():
        await conn.execute("SET LOCAL session_replication_role = replica")
        for statement in statements:
            await conn.execute(*statement)


@pytest.fixture
async def head(running_stack) -> int:
    """Three fresh decisions at the end of the chain, and a checkpoint that saw them: the head's seq."""
    client = StackClient(running_stack.stack_info())
    person = random_person_id()
    await client.grant(REGION, person, [REGION, ALINGSAS])
    for _ in range(3):
        assert (await client.post_event(REGION, event("se.samordna.region.visit.missed.v1", person))).status_code == 202
    await eventually(lambda: client.audit(REGION, person), lambda entries: len(entries) == 3)
    await client.close()
    conn = await connect(running_stack)
    try:
        last = await conn.fetchval("SELECT max(seq) FROM audit")
    finally:
        await conn.close()
    seen = await eventually(lambda: newest_checkpoint(running_stack), lambda c: c is not None and c.seq >= last)
    assert seen is not None and seen.seq == last, "the consent service published no checkpoint of the head"
    return last


async def test_rows_dropped_from_the_end_are_named_and_the_shorter_chain_is_never_signed(running_stack, head):
    assert verify(running_stack).returncode == 0
    conn = await connect(running_stack)
    try:
        dropped = await conn.fetch("SELECT * FROM audit WHERE seq > $1 ORDER BY seq", head - 2)
        await behind_the_triggers(conn, ("DELETE FROM audit WHERE seq > $1", head - 2))
        try:
            result = verify(running_stack)
            await asyncio.sleep(3)  # three ticks of the publisher: it must not sign the cut chain
            later, newest = verify(running_stack), await newest_checkpoint(running_stack)
        finally:
            await conn.copy_records_to_table(
                "audit", records=[tuple(r.values()) for r in dropped], columns=dropped[0].keys()
            )
    finally:
        await conn.close()

    assert result.returncode == 1, result.stdout
    assert f"truncated: seq {head - 1}..{head} missing (2 rows;" in result.stdout
    assert "Traceback" not in result.stderr
    assert newest.seq == head and later.returncode == 1
    assert verify(running_stack).returncode == 0  # the rows restored, the chain holds again


REWRITE = "UPDATE audit SET forwarded = $2, prev_hash = $3, row_hash = $4, chain_version = $5 WHERE seq = $1"


async def rewrite(conn: asyncpg.Connection, rows: list[dict]) -> None:
    columns = ("seq", "forwarded", "prev_hash", "row_hash", "chain_version")
    await behind_the_triggers(conn, *[(REWRITE, *(row[c] for c in columns)) for row in rows])


@pytest.mark.parametrize("relabel_as_legacy", [False, True])
async def test_an_edit_with_every_later_hash_recomputed_in_plain_sha256_is_named(
    running_stack, head, relabel_as_legacy
):
    edited = head - 1
    conn = await connect(running_stack)
    try:
        originals = [dict(r) for r in await conn.fetch("SELECT * FROM audit WHERE seq >= $1 ORDER BY seq", edited)]
        prev, forged = originals[0]["prev_hash"], []
        for original in originals:
            row = original | ({"forwarded": not original["forwarded"]} if original["seq"] == edited else {})
            row["prev_hash"], row["row_hash"] = prev, row_hash(prev, row)
            row["chain_version"] = LEGACY if relabel_as_legacy else original["chain_version"]
            prev = row["row_hash"]
            forged.append(row)
        await rewrite(conn, forged)
        try:
            result = verify(running_stack)
        finally:
            await rewrite(conn, originals)
    finally:
        await conn.close()

    assert result.returncode == 1, result.stdout
    assert f"seq {edited} (decision " in result.stdout.splitlines()[1]
    assert f"rewritten: seq {head} does not have the hash" in result.stdout
    assert verify(running_stack).returncode == 0


async def test_a_stored_minus_infinity_is_reported_not_a_crash(running_stack, head):
    decision = GateDecision(
        decision_id=str(uuid.uuid4()), event_id=f"tamper-{uuid.uuid4()}",
        event_type="se.samordna.region.visit.missed.v1", category="attendance", sender=REGION,
        recipient=ALINGSAS, person_pseudonym=f"p-{uuid.uuid4().hex}",
        forwarded=False, reason="no_consent", basis="none", consent_id=None,
        decided_at=datetime.now(UTC), event_time=datetime(1, 1, 1, tzinfo=UTC),  # asyncpg stores -infinity
    )  # fmt: skip
    producer = AIOKafkaProducer(**running_stack.kafka_options(GATE_USER))
    await producer.start()
    try:
        await producer.send_and_wait(GATE_DECISIONS, DecisionBatch(decisions=[decision]).model_dump_json().encode())
    finally:
        await producer.stop()
    conn = await connect(running_stack)
    try:

        async def stored():
            return await conn.fetchrow(
                "SELECT seq, event_time::text AS event_time FROM audit WHERE event_id = $1", decision.event_id
            )

        row = await eventually(stored, lambda r: r is not None)
    finally:
        await conn.close()
    assert row is not None and row["event_time"] == "-infinity"
    await eventually(lambda: newest_checkpoint(running_stack), lambda c: c.seq >= row["seq"])

    result = verify(running_stack)

    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 0, result.stdout
    assert f"note: seq {row['seq']} (decision {decision.decision_id}): event_time is -infinity" in result.stdout


async def test_a_table_chained_with_plain_sha256_keeps_its_rows_and_goes_on_keyed(infra):
    """The migration on a real database: the table as it was before the key, two rows in it."""
    schema = f"audit_migration_{uuid.uuid4().hex[:8]}"
    legacy = [_decision() for _ in range(2)]
    conn = await asyncpg.connect(infra.dsn)
    try:
        await conn.execute(f'CREATE SCHEMA "{schema}"; SET search_path TO "{schema}"')
        await conn.execute(AUDIT_BEFORE_THE_KEY)
        prev = GENESIS
        for seq, decision in enumerate(legacy, 1):
            row = repository._audit_row(seq, decision) | {"prev_hash": prev}
            row["row_hash"] = prev = row_hash(prev, row)
            await conn.copy_records_to_table("audit", records=[tuple(row.values())], columns=list(row))
    finally:
        await conn.close()
    pool = await create_pool(infra.dsn, schema, SCHEMA_SQL, role=APP_ROLE, min_size=1, max_size=2)
    try:
        async with pool.acquire() as conn:
            await repository.record_decisions(conn, [_decision(), _decision()], KEY)
            check = ChainCheck(KEY)
            await conn.execute("SET DateStyle = ISO; SET TimeZone = UTC")  # as verify_audit connects
            async for row in repository.audit_as_stored(conn):
                check.add(dict(row))
            versions = [r["chain_version"] for r in await conn.fetch("SELECT chain_version FROM audit ORDER BY seq")]
    finally:
        await pool.close()

    assert versions == [1, 1, 2, 2]
    assert (check.problems, check.keyed_from, check.head_seq) == ([], 3, 4)


KEY = chain_key(DEVELOPMENT_AUDIT_KEY.encode())


# The audit table as schema.sql made it before the chain was keyed (no chain_version).
AUDIT_BEFORE_THE_KEY = """CREATE TABLE audit (
    seq bigint PRIMARY KEY, decision_id uuid NOT NULL UNIQUE, event_id text NOT NULL, event_type text NOT NULL,
    category text NOT NULL, sender text NOT NULL, recipient text, person_pseudonym text NOT NULL,
    forwarded boolean NOT NULL, reason text NOT NULL, basis text NOT NULL, consent_id uuid, legal_reference text,
    event_time timestamptz NOT NULL, decided_at timestamptz NOT NULL, recorded_at timestamptz NOT NULL DEFAULT now(),
    prev_hash text NOT NULL, row_hash text NOT NULL
)"""


def _decision() -> GateDecision:
    return GateDecision(
        decision_id=str(uuid.uuid4()), event_id=f"migration-{uuid.uuid4()}",
        event_type="se.samordna.region.visit.missed.v1", category="attendance", sender=REGION,
        recipient=ALINGSAS, person_pseudonym=f"p-{uuid.uuid4().hex}", forwarded=True, reason="consent",
        basis="consent", consent_id=str(uuid.uuid4()),
        decided_at=datetime.now(UTC), event_time=datetime.now(UTC),
    )  # fmt: skip


async def test_a_chain_rewritten_and_put_back_while_the_publisher_reads_it_is_not_signed(infra, monkeypatch):
    """The publisher reads the head and the hash at its previous checkpoint in one snapshot: a
    rewrite undone between the two reads (a tamperer covering their tracks, or the test above
    restoring its rows) must not give the rewritten head with the true previous hash — which,
    read in two, it did, and the rewritten head was signed (found by CI on a slow machine)."""
    schema = f"audit_snapshot_{uuid.uuid4().hex[:8]}"
    pool = await create_pool(infra.dsn, schema, SCHEMA_SQL, role=APP_ROLE, min_size=1, max_size=2)
    admin = await asyncpg.connect(infra.dsn, server_settings={"search_path": schema})
    try:
        async with pool.acquire() as conn:
            await repository.record_decisions(conn, [_decision() for _ in range(3)], KEY)
        previous, _ = await audit.head_checkpoint(pool, "test", None)
        original = await admin.fetchval("SELECT row_hash FROM audit WHERE seq = $1", previous.seq)
        forged = "f" * len(original)
        await behind_the_triggers(admin, ("UPDATE audit SET row_hash = $2 WHERE seq = $1", previous.seq, forged))
        read_head = repository.audit_head

        async def head_then_put_back(conn):
            head = await read_head(conn)
            await behind_the_triggers(admin, ("UPDATE audit SET row_hash = $2 WHERE seq = $1", previous.seq, original))
            return head

        monkeypatch.setattr(repository, "audit_head", head_then_put_back)

        head, refused = await audit.head_checkpoint(pool, "test", previous)

        assert head.row_hash == forged  # read before it was put back
        assert refused is not None and "rewritten" in refused
    finally:
        await admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await admin.close()
        await pool.close()
