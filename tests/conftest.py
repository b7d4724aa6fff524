"""The test harness: one real Kafka broker and one real PostgreSQL for the whole session.

They run on their own ports and in their own state directory (.local/test), started fresh
by the project's deploy scripts, so a developer's running stack is never touched. Unit
tests do not ask for them and run without them.
"""

import os
import shutil
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

from deploy.stack import REPO, Stack
from tests.support.client import StackClient
from tests.support.personnummer import random_person_id

# Property-based tests (Hypothesis) on a shared two-core machine: no per-example time limit
# (a slow example is not a failure), and a failure prints what reproduces it.
hypothesis_settings.register_profile("samordna", deadline=None, print_blob=True)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "samordna"))

# Overridable so that two test sessions (say, two branches) can run side by side on other ports.
TEST_STATE = Path(os.environ.get("SAMORDNA_TEST_STATE_DIR", REPO / ".local" / "test"))


def _test_stack() -> Stack:
    return Stack(
        state_dir=TEST_STATE,
        kafka_port=int(os.environ.get("SAMORDNA_TEST_KAFKA_PORT", 29092)),
        pg_port=int(os.environ.get("SAMORDNA_TEST_PG_PORT", 25432)),
        http_base_port=int(os.environ.get("SAMORDNA_TEST_HTTP_BASE", 28000)),
        kafka_tls_port=int(os.environ.get("SAMORDNA_TEST_KAFKA_TLS_PORT", 29192)),
        # Keycloak keeps its database beside the test state, which each session wipes: its realms are
        # made idempotently, and a warm start is faster than a first one (tests/browser/conftest.py)
        keycloak_port=int(os.environ.get("SAMORDNA_TEST_KEYCLOAK_PORT", 28800)),
        keycloak_state_dir=TEST_STATE.with_name(f"{TEST_STATE.name}-keycloak"),
        env={
            "SAMORDNA_EXPIRY_SCAN_SECONDS": "1",
            # a revoked or expired consent's key is erased two seconds on (tests/integration/test_erasure.py)
            "SAMORDNA_ERASURE_DELAY_SECONDS": "2",
            # The clear topics lose what their readers took only when a test asks for a pass
            # (tests/integration/test_erasure.py): the other tests read the deliveries topics
            # from the beginning, and the suite revokes consents all the time
            "SAMORDNA_LOG_ERASURE_SECONDS": "0",
            # a broker outage in tests/faults lasts 30 s: six times this, so that queued batches expire
            "SAMORDNA_KAFKA_PRODUCER_REQUEST_TIMEOUT_MS": "5000",
            "SAMORDNA_AUDIT_CHECKPOINT_SECONDS": "1",  # a checkpoint soon after each decision
            # a SIP request must be acknowledged within 3 seconds here, so that overdue receipts show
            "SAMORDNA_RECEIPT_DEADLINES": '{"se.samordna.joint.sip.requested.v1": "PT3S"}',
            "SAMORDNA_RECEIPT_SCAN_SECONDS": "0.5",
            "SAMORDNA_OPS_SCAN_SECONDS": "1",
            # webhooks: five quick failures fit many times in the retry window (at most ~2 s of
            # backoff), and the window (10.8 s) is short enough for a test to see a delivery parked
            "SAMORDNA_WEBHOOK_FIRST_RETRY_SECONDS": "0.1",
            "SAMORDNA_WEBHOOK_MAX_RETRY_SECONDS": "0.5",
            "SAMORDNA_WEBHOOK_RETRY_HOURS": "0.003",
            "SAMORDNA_WEBHOOK_TIMEOUT_SECONDS": "20",
            "SAMORDNA_WEBHOOK_POLL_SECONDS": "0.25",
            # the tests' webhook receivers listen on 127.0.0.1 (refusals: tests/unit/test_webhook_targets.py)
            "SAMORDNA_WEBHOOK_ALLOW_LOOPBACK": "true",
        },
    )


def _stop_leftovers(stack: Stack) -> None:
    """A previous run killed mid-way may have left processes behind in the test state dir."""
    for pid_file in (stack.state_dir / "run").glob("*.pid"):
        stack.stop_service(pid_file.stem, signal.SIGKILL)
    if stack.state_dir.exists():
        stack.infrastructure("stop")


@pytest.fixture(scope="session")
def infra() -> Stack:
    """Kafka and PostgreSQL, fresh for this session, with every topic created."""
    stack = _test_stack()
    _stop_leftovers(stack)
    shutil.rmtree(stack.state_dir, ignore_errors=True)
    # the broker deletes segments past their retention every second, so that erasure fits in a test
    os.environ.setdefault("KAFKA_RETENTION_CHECK_MS", "1000")
    stack.infrastructure("start")
    stack.create_topics()
    stack.grant_access()
    yield stack
    for pid_file in (stack.state_dir / "run").glob("*.pid"):
        stack.stop_service(pid_file.stem)
    if not os.environ.get("SAMORDNA_KEEP_TEST_STACK"):
        stack.infrastructure("stop")


@pytest.fixture(scope="session")
def running_stack(infra: Stack) -> Stack:
    """Every service running as its own process against the test infrastructure."""
    for service in infra.services():
        infra.start_service(service.name)
    for service in infra.services():
        infra.wait_ready(infra.url(service.name))
    infra.write_stack_json()
    return infra


@pytest.fixture(scope="session")
async def client(running_stack: Stack) -> AsyncIterator[StackClient]:
    """The services' HTTP APIs with the stack's development tokens, as a partner's system calls them."""
    client = StackClient(running_stack.stack_info())
    yield client
    await client.close()


@pytest.fixture
def person() -> str:
    """A fresh, valid personnummer of a fictional person."""
    return random_person_id()


def log_of(stack: Stack, name: str) -> Path:
    return stack.state_dir / "logs" / f"{name}.log"
