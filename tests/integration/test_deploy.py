"""The deploy scripts themselves: Kafka and PostgreSQL started, used and stopped by
deploy/kafka.sh and deploy/postgres.sh, in a throwaway state directory on ports of their own,
so neither a developer's stack nor the session's test stack is touched."""

import asyncio
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import KafkaConnectionError

from contracts.topics import SHARED_EVENTS, topic_specs
from deploy.stack import DEPLOY, REPO, Stack

PRINCIPALS = ["region-14", "kommun-1489"]


def _free_ports(count: int) -> int:
    """The first of `count` consecutive free ports on 127.0.0.1 (Kafka wants PORT and PORT+1)."""
    for _ in range(100):
        first = random.randint(20000, 23999)
        try:
            for port in range(first, first + count):
                with socket.socket() as probe:
                    probe.bind(("127.0.0.1", port))
        except OSError:
            continue
        return first
    raise RuntimeError("no free ports found")


@pytest.fixture
def env():
    # Not pytest's tmp_path: that is 0700, and as root PostgreSQL runs as a user that must reach it.
    state = Path(tempfile.mkdtemp(prefix="samordna-deploy-"))
    state.chmod(0o755)
    env = {
        **os.environ,
        "SAMORDNA_STATE_DIR": str(state),
        "KAFKA_PORT": str(_free_ports(2)),
        "PG_PORT": str(_free_ports(1)),
    }
    yield env
    for script in ("kafka.sh", "postgres.sh"):
        subprocess.run([str(DEPLOY / script), "stop"], env=env, capture_output=True, check=False)
    shutil.rmtree(state, ignore_errors=True)


async def _run(env: dict, *command: str) -> subprocess.CompletedProcess:
    return await asyncio.to_thread(
        subprocess.run, list(command), env=env, cwd=REPO, capture_output=True, text=True, timeout=600
    )


async def _script(env: dict, script: str, action: str, expect: int = 0) -> tuple[str, float]:
    started = time.monotonic()
    result = await _run(env, str(DEPLOY / script), action)
    assert result.returncode == expect, f"{script} {action}: {result.stdout}{result.stderr}"
    return result.stdout, time.monotonic() - started


@pytest.mark.asyncio
async def test_kafka_script_runs_a_broker_with_topics_and_transactions(env, tmp_path):
    bootstrap = f"127.0.0.1:{env['KAFKA_PORT']}"
    stack = Stack(state_dir=Path(env["SAMORDNA_STATE_DIR"]), kafka_port=int(env["KAFKA_PORT"]))
    await _script(env, "kafka.sh", "start")
    out, seconds = await _script(env, "kafka.sh", "start")
    assert "already running" in out and seconds < 5
    await _script(env, "kafka.sh", "status")

    # A stop and a start again must come from the cached classpath: an mvn on PATH that fails proves it.
    await _script(env, "kafka.sh", "stop")
    await _script(env, "kafka.sh", "status", expect=1)
    (tmp_path / "mvn").write_text("#!/bin/sh\necho 'mvn called' >&2\nexit 99\n")
    (tmp_path / "mvn").chmod(0o755)
    await _script({**env, "PATH": f"{tmp_path}:{env['PATH']}"}, "kafka.sh", "start")

    principals = ",".join(PRINCIPALS)
    topics = [sys.executable, "-m", "deploy.topics", "--principals", principals]
    admin_env = {**env, **stack.kafka_env("samordna-admin")}
    created = await _run(admin_env, *topics)
    assert created.returncode == 0, created.stderr
    assert f"created {len(topic_specs(PRINCIPALS))} topics" in created.stdout
    again = await _run(admin_env, *topics)
    assert (again.returncode, again.stdout.strip()) == (0, "every topic exists")

    # authentication is on: a client without credentials does not get in at all
    anonymous = AIOKafkaProducer(bootstrap_servers=bootstrap, request_timeout_ms=5000)
    with pytest.raises(KafkaConnectionError):
        await anonymous.start()
    await anonymous.stop()

    producer = AIOKafkaProducer(**stack.kafka_options())
    await producer.start()
    try:
        for spec in topic_specs(PRINCIPALS):
            assert len(await producer.partitions_for(spec.name)) == spec.partitions, spec.name
        await producer.send_and_wait(SHARED_EVENTS, b"plain", key=b"person-1")
    finally:
        await producer.stop()

    transactional = AIOKafkaProducer(**stack.kafka_options(), transactional_id=f"test-{uuid.uuid4()}")
    await transactional.start()
    try:
        async with transactional.transaction():
            await transactional.send(SHARED_EVENTS, b"committed", key=b"person-1")
        await transactional.begin_transaction()
        await transactional.send(SHARED_EVENTS, b"aborted", key=b"person-1")
        await transactional.abort_transaction()
    finally:
        await transactional.stop()

    consumer = AIOKafkaConsumer(
        SHARED_EVENTS,
        **stack.kafka_options(),
        group_id=f"test-{uuid.uuid4()}",
        auto_offset_reset="earliest",
        isolation_level="read_committed",
    )
    await consumer.start()
    seen: list[bytes] = []
    try:
        deadline = time.monotonic() + 30
        while len(seen) < 2 and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            seen += [record.value for records in batch.values() for record in records]
        await consumer.commit()  # the group coordinator (__consumer_offsets, replication 1) works
    finally:
        await consumer.stop()
    assert seen == [b"plain", b"committed"]

    await _script(env, "kafka.sh", "stop")
    await _script(env, "kafka.sh", "stop")  # harmless when not running
    await _script(env, "kafka.sh", "status", expect=1)


@pytest.mark.asyncio
async def test_postgres_script_runs_a_cluster_with_the_samordna_database(env):
    await _script(env, "postgres.sh", "start")
    out, seconds = await _script(env, "postgres.sh", "start")
    assert "already running" in out and seconds < 5
    await _script(env, "postgres.sh", "status")

    connection = await asyncpg.connect(host="127.0.0.1", port=int(env["PG_PORT"]), user="postgres", database="samordna")
    try:
        assert await connection.fetchval("SELECT current_database()") == "samordna"
        assert await connection.fetchval("SHOW max_connections") == "200"
        assert await connection.fetchval("SHOW listen_addresses") == "127.0.0.1"
    finally:
        await connection.close()

    await _script(env, "postgres.sh", "stop")
    await _script(env, "postgres.sh", "stop")
    await _script(env, "postgres.sh", "status", expect=1)
