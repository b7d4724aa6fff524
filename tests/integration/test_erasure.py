"""Erasure that reaches the log (issue 19), on the real broker: after revocations, an expiry and
the configured delay, every topic read from the beginning with the administrator's credentials —
and every sealed record opened with every key that still exists — holds nothing readable about
the persons who left; a board rebuilt from the topics shows nothing of them; the audit still
answers what crossed, when and on which basis. A person who revokes one of two consents keeps,
on the board and in the log, what the other allows.

The topics that hold persons in the clear lose what their readers have taken, by the consent
service's own pass (services/consent/log_erasure.py), run here by hand as its CLI with the
service's settings and Kafka user (the test stack runs no pass of its own: other tests read the
deliveries from the beginning). A system of Alingsås's own that stopped reading holds its
deliveries back — the pass names its group — until the operator deletes the group.
"""

import asyncio
import contextlib
import json
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from contracts.sealing import SealedEvent, open_sealed
from contracts.topics import PER_PERSON_PARTITIONS, deliveries_topic
from deploy.access import GATE_USER, admin_client
from deploy.stack import ADMIN_USER, REPO
from services.consent.log_erasure import LogEraser
from services.consent.schema import APP_ROLE, SCHEMA_SQL
from services.runtime.db import create_pool
from tests.support.board import rebuild_the_board
from tests.support.client import StackClient, event, eventually
from tests.support.personnummer import random_person_id

REGION, ALINGSAS, LERUM = "region-14", "kommun-1489", "kommun-1441"
VISIT_MISSED = "se.samordna.region.visit.missed.v1"
SAMPLE_POSITIVE = "se.samordna.region.sample.positive.v1"
STALE_READER = f"{ALINGSAS}.erasure-test-stopped-reader"


def spellings(person: str) -> set[str]:
    """Every way a personnummer can be written down: 12 or 10 digits, with or without the hyphen."""
    digits = person.replace("-", "")
    return {digits, digits[2:], f"{digits[:8]}-{digits[8:]}", f"{digits[2:8]}-{digits[8:]}"}


def marker() -> str:
    return f"erasure-marker-{uuid.uuid4().hex[:12]}"


def visit(person: str, mark: str) -> dict:
    return event(VISIT_MISSED, person, data={"unit": "SE2321000131-E000000011111", "planned_at":
                 "2026-11-20T09:30:00+01:00", "visit_kind": mark})  # fmt: skip


def sample(person: str, mark: str) -> dict:
    return event(SAMPLE_POSITIVE, person, data={"sample_type": "urine", "substances": [mark],
                 "sampled_at": "2026-11-19T08:15:00+01:00"})  # fmt: skip


def patients(board: dict) -> set[str]:
    return {row["patient"].replace("-", "") for row in board["rows"]}


def on_board(board: dict, person: str) -> bool:
    return person.replace("-", "") in patients(board)


async def test_who_left_is_unreadable_in_every_topic_and_a_rebuild_restores_nothing_of_them(running_stack):
    client = StackClient(running_stack.stack_info())
    stays, leaves, expires = random_person_id(), random_person_id(), random_person_id()
    a = await client.grant(REGION, stays, [REGION, ALINGSAS])
    await client.grant(REGION, stays, [REGION, LERUM], excluded_categories=["test_results"])
    gone = await client.grant(REGION, leaves, [REGION, ALINGSAS])
    now = datetime.now(UTC)
    await client.grant(
        REGION, expires, [REGION, ALINGSAS], valid_from=(now - timedelta(minutes=1)).isoformat(),
        valid_until=(now + timedelta(seconds=10)).isoformat(),
    )  # fmt: skip
    await stopped_reader_at_the_end(running_stack)  # took everything before this test's deliveries
    on_both, only_a, of_leaves, of_expires = marker(), marker(), marker(), marker()
    for body in (visit(stays, on_both), sample(stays, only_a), visit(leaves, of_leaves), visit(expires, of_expires)):
        assert (await client.post_event(REGION, body)).status_code == 202
    for person in (stays, leaves, expires):
        await eventually(lambda: client.board(ALINGSAS), lambda b, p=person: on_board(b, p))
    await eventually(lambda: client.board(LERUM), lambda b: on_board(b, stays))
    shown = await readable(running_stack, {on_both, only_a, of_leaves, of_expires})
    assert shown[on_both] and shown[of_leaves], "before: readable (the test can tell)"

    assert (await client.revoke(REGION, a["id"])).status_code == 200
    assert (await client.revoke(REGION, gone["id"])).status_code == 200
    try:
        held = await eventually(
            lambda: log_erasure_pass(running_stack), lambda p: STALE_READER in p["waiting_on_groups"]
        )
        assert held["partitions_waiting"] >= 1
        assert deliveries_topic(ALINGSAS) in (await readable(running_stack, {of_leaves}))[of_leaves], (
            "what a reader has not taken waits for it"
        )
        delete_stopped_readers(running_stack)  # what the operator does for a system that no longer reads

        left = spellings(leaves) | spellings(expires) | {only_a, of_leaves, of_expires}

        async with the_services_log_erasure(running_stack):  # its loop now, every half second
            found = await eventually(
                lambda: readable(running_stack, left | {on_both} | spellings(stays)),
                lambda f: not any(f[n] for n in left) and f[on_both] == {"shared.events"},
                timeout=60,
            )
        assert {n: t for n, t in found.items() if n in left and t} == {}, "nothing readable of who left"
        assert found[on_both] == {"shared.events"}, "what consent B allows stays readable, sealed"
        assert found[f"{stays.replace('-', '')}"] >= {"shared.events", "consent.changes"}
        assert await board_rows_of(running_stack, leaves, expires) == 0

        await rebuild_the_board(running_stack)
        after = {p: await client.board(p) for p in (REGION, ALINGSAS, LERUM)}
        for board in after.values():
            assert not on_board(board, leaves) and not on_board(board, expires)
        assert not on_board(after[ALINGSAS], stays), "no consent in force names Alingsås"
        (row,) = [r for r in after[LERUM]["rows"] if r["patient"].replace("-", "") == stays.replace("-", "")]
        assert [a["kind"] for a in row["alerts"]] == ["missed_visit"], "the sample crossed on A alone: gone"

        decisions = await client.audit(REGION, leaves)
        crossed = [d for d in decisions if d["forwarded"]]
        assert [(d["recipient"], d["basis"], d["consent_id"]) for d in crossed] == [(ALINGSAS, "consent", gone["id"])]
        assert all(d["decided_at"] and d["event_type"] == VISIT_MISSED for d in crossed)
        assert of_leaves not in json.dumps(decisions), "never the payload"
        assert [d["forwarded"] for d in await client.audit(REGION, expires)] == [True]
    finally:
        delete_stopped_readers(running_stack)
        await client.close()


async def log_erasure_pass(stack) -> dict:
    """One pass of the consent service's log erasure, as its CLI with the service's settings."""
    done = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "services.consent.log_erasure"], cwd=REPO,
        env=stack.service_env(stack.service("consent")), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@contextlib.asynccontextmanager
async def the_services_log_erasure(stack):
    """The consent service's own loop (LogEraser.run), with its Kafka user and database role."""
    pool = await create_pool(stack.dsn, "consent", SCHEMA_SQL, role=APP_ROLE, min_size=1, max_size=2)
    eraser = LogEraser(pool, stack.kafka_options(GATE_USER))
    await eraser.start()
    loop = asyncio.create_task(eraser.run(0.5))
    try:
        yield
    finally:
        loop.cancel()
        await eraser.stop()
        await pool.close()


async def stopped_reader_at_the_end(stack) -> None:
    """A group of Alingsås's own systems that read its deliveries up to now and then stopped."""
    consumer = AIOKafkaConsumer(**stack.kafka_options(ALINGSAS), group_id=STALE_READER, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(deliveries_topic(ALINGSAS), p) for p in range(PER_PERSON_PARTITIONS)]
        consumer.assign(partitions)
        await consumer.commit({tp: end for tp, end in (await consumer.end_offsets(partitions)).items()})
    finally:
        await consumer.stop()


def delete_stopped_readers(stack) -> None:
    """Delete, as the administrator, the groups of the principals' own systems that have no member
    (this test's stopped reader, and those other tests left behind)."""
    admin = admin_client(stack.kafka_settings(ADMIN_USER))
    listed = admin.list_consumer_groups(request_timeout=30).result()
    own = [g.group_id for g in listed.valid if any(g.group_id.startswith(f"{p}.") for p in stack.principals)]
    if not own:
        return
    described = admin.describe_consumer_groups(own, request_timeout=30)
    empty = [g for g, future in described.items() if not future.result().members]
    for future in (admin.delete_consumer_groups(empty, request_timeout=30) if empty else {}).values():
        future.result()


async def readable(stack, needles: set[str]) -> dict[str, set[str]]:
    """needle -> the topics where it can be read: in a record's key, headers or value as stored, or
    in a sealed record opened with any key that still exists."""
    keys = await existing_keys(stack)
    found: dict[str, set[str]] = {n: set() for n in needles}
    async for topic, texts in every_record(stack.kafka_options()):
        for text in texts:
            for needle in needles:
                if needle in text:
                    found[needle].add(topic)
        if (opened := _opened(texts[0], keys)) is not None:
            for needle in needles:
                if needle in opened:
                    found[needle].add(topic)
    return found


def _opened(value: str, keys: dict[str, bytes]) -> str | None:
    try:
        record = SealedEvent.model_validate_json(value)
    except ValueError:
        return None
    secret = open_sealed(record, keys)
    return json.dumps(secret, ensure_ascii=False) if secret else None


async def every_record(kafka: dict):
    """(topic, [value, key, headers] as text) of every record of every topic, internal ones too,
    from the beginning, aborted transactions included."""
    admin = AIOKafkaAdminClient(**kafka)
    await admin.start()
    try:
        described = await admin.describe_topics(await admin.list_topics())
    finally:
        await admin.close()
    partitions = [TopicPartition(t["topic"], p["partition"]) for t in described for p in t["partitions"]]
    consumer = AIOKafkaConsumer(**kafka, enable_auto_commit=False, isolation_level="read_uncommitted")
    await consumer.start()
    try:
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        while [tp for tp, end in ends.items() if await consumer.position(tp) < end]:
            for tp, records in (await consumer.getmany(timeout_ms=1000, max_records=2000)).items():
                for r in records:
                    headers = " ".join(f"{k}={v.decode('utf-8', 'replace')}" for k, v in r.headers)
                    yield tp.topic, [_text(r.value), _text(r.key), headers]
    finally:
        await consumer.stop()


def _text(raw: bytes | None) -> str:
    return (raw or b"").decode("utf-8", "replace")


async def existing_keys(stack) -> dict[str, bytes]:
    conn = await asyncpg.connect(stack.dsn)
    try:
        return {r["kid"]: bytes(r["key"]) for r in await conn.fetch("SELECT kid, key FROM consent.erasure_keys")}
    finally:
        await conn.close()


async def board_rows_of(stack, *persons: str) -> int:
    conn = await asyncpg.connect(stack.dsn)
    try:
        ids = [p.replace("-", "") for p in persons]
        events = await conn.fetchval("SELECT count(*) FROM board.events WHERE person_id = ANY($1::text[])", ids)
        consents = await conn.fetchval("SELECT count(*) FROM board.consents WHERE person_id = ANY($1::text[])", ids)
        return events + consents
    finally:
        await conn.close()
