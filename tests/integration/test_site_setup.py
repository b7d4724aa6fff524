"""`python -m deploy.setup` — the command the Kubernetes Job and the Compose `setup` service run —
against the real broker: it makes a new site's topics, users and ACLs from a principals file and a
directory of passwords (as a mounted Secret looks), connecting as the administrator whose password
it reads from SAMORDNA_KAFKA_PASSWORD_FILE, and a second run changes nothing.

The site here is Halland (region-13) with Halmstad (kommun-1380), so that the test stack's own
principals keep their users; the gate and board users are shared, so they get their own passwords."""

import asyncio
import json
import os
import secrets
import subprocess
import sys
import time

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError, TopicAuthorizationFailedError

from contracts.topics import deliveries_topic, events_topic
from deploy.stack import ADMIN_USER, REPO

SITE = {"region": {"lanskod": "13", "name": "Region Halland"}, "municipalities": [{"kommunkod": "1380"}]}
REGION, HALMSTAD = "region-13", "kommun-1380"


@pytest.fixture
def site(infra, tmp_path):
    principals = tmp_path / "principals.json"
    principals.write_text(json.dumps(SITE))
    users = tmp_path / "kafka-users"
    users.mkdir()
    passwords = {REGION: secrets.token_urlsafe(18), HALMSTAD: secrets.token_urlsafe(18)}
    passwords |= {user: infra.kafka_password(user) for user in ("samordna-gate", "samordna-board")}
    for user, password in passwords.items():
        (users / user).write_text(password + "\n")
    admin_password = tmp_path / "admin-password"
    admin_password.write_text(infra.kafka_password(ADMIN_USER))
    env = {**os.environ, **infra.kafka_env(ADMIN_USER), "SAMORDNA_KAFKA_PASSWORD_FILE": str(admin_password)}
    del env["SAMORDNA_KAFKA_PASSWORD"]
    return {"principals": principals, "users": users, "env": env, "passwords": passwords}


def _setup(site) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "deploy.setup", "--principals", str(site["principals"])]
    return subprocess.run(
        [*command, "--passwords", str(site["users"])], cwd=REPO, env=site["env"], capture_output=True, text=True
    )


async def _write_as(infra, user: str, password: str, topic: str) -> None:
    options = infra.kafka_options(ADMIN_USER) | {"sasl_plain_username": user, "sasl_plain_password": password}
    producer = AIOKafkaProducer(**options, request_timeout_ms=10_000)
    await producer.start()
    try:
        await producer.send_and_wait(topic, b'{"probe": true}', key=b"setup-test")
    finally:
        await producer.stop()


async def _write_once_authenticated(infra, user: str, password: str, topic: str, timeout: float = 30) -> None:
    """A new SCRAM user reaches the brokers a moment after the controller has it."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return await _write_as(infra, user, password, topic)
        except KafkaError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(1)


async def test_setup_makes_a_new_sites_topics_users_and_acls_and_is_idempotent(infra, site):
    first = _setup(site)
    assert first.returncode == 0, first.stderr
    admin = AIOKafkaAdminClient(**infra.kafka_options(ADMIN_USER))
    await admin.start()
    try:
        topics = set(await admin.list_topics())
    finally:
        await admin.close()
    for principal in (REGION, HALMSTAD):
        assert {events_topic(principal), deliveries_topic(principal)} <= topics

    password = site["passwords"][HALMSTAD]
    await _write_once_authenticated(infra, HALMSTAD, password, events_topic(HALMSTAD))  # its own: allowed
    with pytest.raises(TopicAuthorizationFailedError):
        await _write_as(infra, HALMSTAD, password, events_topic(REGION))

    again = _setup(site)
    assert again.returncode == 0, again.stderr
    assert "every topic exists" in again.stdout and "(0 added, 0 removed)" in again.stdout, again.stdout


async def test_setup_names_a_missing_password_and_makes_nothing(infra, site):
    skane = {"region": {"lanskod": "12"}, "municipalities": [{"kommunkod": "1280"}]}
    site["principals"].write_text(json.dumps(skane))
    (site["users"] / "region-12").write_text("a-password-for-skane")  # none for kommun-1280
    result = _setup(site)
    assert result.returncode != 0
    assert "no password for Kafka user(s): kommun-1280" in result.stderr
    admin = AIOKafkaAdminClient(**infra.kafka_options(ADMIN_USER))
    await admin.start()
    try:
        assert events_topic("kommun-1280") not in await admin.list_topics()
    finally:
        await admin.close()
