"""The audit trail on the real database: the service cannot change it, and the verify
command names the first row changed behind its back."""

import subprocess
import sys

import asyncpg
import pytest

from deploy.stack import REPO
from tests.support.client import StackClient, event, eventually
from tests.support.personnummer import random_person_id

REGION, ALINGSAS = "region-14", "kommun-1489"


def verify(stack) -> subprocess.CompletedProcess:
    env = stack.service_env(stack.service("consent"))
    return subprocess.run(
        [sys.executable, "-m", "services.consent.verify_audit"], cwd=REPO, env=env, capture_output=True, text=True
    )


@pytest.fixture
async def decided_person(running_stack) -> str:
    client = StackClient(running_stack.stack_info())
    person = random_person_id()
    await client.grant(REGION, person, [REGION, ALINGSAS])
    body = event("se.samordna.region.visit.missed.v1", person)
    await client.post_event(REGION, body)
    await eventually(lambda: client.audit(REGION, person), lambda entries: len(entries) == 1)
    await client.close()
    return body["id"]


async def test_the_services_role_cannot_update_or_delete_the_audit(running_stack, decided_person):
    conn = await asyncpg.connect(running_stack.dsn, server_settings={"search_path": "consent"})
    try:
        await conn.execute("SET ROLE samordna_consent_app")
        for statement in ("UPDATE audit SET reason = 'consent'", "DELETE FROM audit", "TRUNCATE audit"):
            with pytest.raises(asyncpg.PostgresError):
                await conn.execute(statement)
    finally:
        await conn.close()


async def test_verify_names_the_first_row_changed_by_hand(running_stack, decided_person):
    assert verify(running_stack).returncode == 0
    conn = await asyncpg.connect(running_stack.dsn, server_settings={"search_path": "consent"})
    try:
        seq, original = await conn.fetchrow("SELECT seq, forwarded FROM audit WHERE event_id = $1", decided_person)
        async with conn.transaction():
            # What only a superuser bypassing the triggers can do: the chain must still show it.
            await conn.execute("SET LOCAL session_replication_role = replica")
            await conn.execute("UPDATE audit SET forwarded = NOT forwarded WHERE seq = $1", seq)
        result = verify(running_stack)
        async with conn.transaction():
            await conn.execute("SET LOCAL session_replication_role = replica")
            await conn.execute("UPDATE audit SET forwarded = $2 WHERE seq = $1", seq, original)
    finally:
        await conn.close()

    assert result.returncode == 1
    assert f"seq {seq} " in result.stdout
    assert verify(running_stack).returncode == 0
