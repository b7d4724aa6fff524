"""A second, separate stack on a three-broker KRaft cluster (deploy/kafka.sh with KAFKA_NODES=3):
replication factor 3 and min.insync.replicas 2 for every topic. The services run against it
unchanged, configured only by the bootstrap address and their credentials.

Its ports lie below Linux's ephemeral range (32768-60999), like every test stack's: a port in
that range can be taken at any moment as the source port of some outgoing connection, and a
service then cannot bind it (seen once: a gateway's port held by a Kafka client's connection)."""

import os
import shutil
from pathlib import Path

import pytest

from deploy.stack import REPO, Stack
from tests.support.client import StackClient

CLUSTER_STATE = Path(os.environ.get("SAMORDNA_TEST_CLUSTER_STATE_DIR", REPO / ".local" / "test-cluster"))


@pytest.fixture(scope="session")
def cluster_stack() -> Stack:
    stack = Stack(
        state_dir=CLUSTER_STATE,
        kafka_port=int(os.environ.get("SAMORDNA_TEST_CLUSTER_KAFKA_PORT", 26092)),  # 26092, 26094, 26096
        kafka_nodes=3,
        pg_port=int(os.environ.get("SAMORDNA_TEST_CLUSTER_PG_PORT", 26432)),
        http_base_port=int(os.environ.get("SAMORDNA_TEST_CLUSTER_HTTP_BASE", 26000)),
        keycloak_port=int(os.environ.get("SAMORDNA_TEST_CLUSTER_KEYCLOAK_PORT", 26800)),
    )
    if stack.state_dir.exists():  # leftovers of a run killed mid-way
        stack.down()
    shutil.rmtree(stack.state_dir, ignore_errors=True)
    try:  # a start that fails part-way stops what it started, too
        stack.up()
        yield stack
    finally:
        stack.down()


@pytest.fixture(scope="session")
async def cluster_client(cluster_stack) -> StackClient:
    client = StackClient(cluster_stack.stack_info())
    yield client
    await client.close()
